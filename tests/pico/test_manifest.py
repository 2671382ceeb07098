"""manifest.csv: valid files read back; every bad cell or row is named with file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from pico.errors import ManifestError
from pico.manifest import COLUMNS, read_manifest, read_manifest_records, write_manifest

HEADER = "image,codec,level,bpp,path\n"


def rows(**changes):
    base = [
        {"image": "kodim01", "codec": "jpeg", "level": 0, "bpp": 0.2, "path": "kodim01/jpeg-0.png"},
        {"image": "kodim01", "codec": "jpeg", "level": 1, "bpp": 0.5, "path": "kodim01/jpeg-1.png"},
    ]
    base[1].update(changes)
    return base


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "manifest.csv"
    path.write_text(text)
    return path


def test_it_reads_back_what_it_writes_with_every_contract_column(tmp_path):
    path = write_manifest(tmp_path / "manifest.csv", rows(psnr=31.5, sha256="ab" * 32))
    frame = read_manifest(path)
    assert list(frame.columns) == COLUMNS
    assert frame["level"].tolist() == [0, 1]
    assert frame["bpp"].tolist() == [0.2, 0.5]
    assert frame.loc[1, "psnr"] == 31.5


def test_records_hold_empty_cells_as_none_and_integers_as_int(tmp_path):
    path = write_manifest(tmp_path / "manifest.csv", rows(bytes=1250, psnr=31.5))
    records = read_manifest_records(path)
    assert [r["level"] for r in records] == [0, 1]
    assert records[0]["bytes"] is None and records[0]["psnr"] is None and records[0]["sha256"] is None
    # A partly empty integer column stays int (a DataFrame would make it float with NaN).
    assert records[1]["bytes"] == 1250 and type(records[1]["bytes"]) is int
    assert records[1]["psnr"] == 31.5


def test_records_write_back_unchanged(tmp_path):
    path = write_manifest(tmp_path / "manifest.csv", rows(bytes=1250, width=64, height=48))
    before = path.read_bytes()
    write_manifest(path, read_manifest_records(path))
    assert path.read_bytes() == before


def test_records_keep_unknown_columns_with_blanks_as_none(tmp_path):
    path = write(tmp_path, "image,codec,level,bpp,path,note\na,jpeg,0,0.2,a0.png,\na,jpeg,1,0.4,a1.png,retake\n")
    assert [r["note"] for r in read_manifest_records(path)] == [None, "retake"]


def test_records_are_checked_like_the_frame(tmp_path):
    path = write(tmp_path, HEADER + "a,jpeg,0,0.2,a.png\na,jpeg,0,0.3,b.png\n")
    with pytest.raises(ManifestError, match="duplicate of line 2"):
        read_manifest_records(path)
    path = write_manifest(tmp_path / "manifest.csv", rows())
    with pytest.raises(ManifestError, match="does not exist"):
        read_manifest_records(path, check_files=True)


@pytest.mark.parametrize(
    ("line", "column", "expected"),
    [
        ("kodim01,jpeg,one,0.2,a.png", "level", "expected an integer >= 0"),
        ("kodim01,jpeg,0,-1,a.png", "bpp", "expected a positive finite number"),
        ("kodim01,jpeg,0,abc,a.png", "bpp", "expected a positive number"),
        ("kodim01,,0,0.2,a.png", "codec", "expected a name"),
        ("kodim01,jpeg,0,0.2,/etc/passwd", "path", "relative to the manifest"),
        ("kodim01,jpeg,0,0.2,../a.png", "path", "without '..'"),
    ],
)
def test_a_bad_cell_is_reported_with_file_line_and_column(tmp_path, line, column, expected):
    path = write(tmp_path, HEADER + line + "\n")
    with pytest.raises(ManifestError) as info:
        read_manifest(path)
    (problem,) = info.value.problems
    assert (problem.file, problem.line, problem.column) == (str(path), 2, column)
    assert expected in problem.message
    assert f"{path}:2: column '{column}'" in str(info.value)


def test_every_bad_row_is_reported_not_just_the_first(tmp_path):
    path = write(tmp_path, HEADER + "a,jpeg,x,0.2,a.png\nb,jpeg,0,0.2,b.png\nc,jpeg,0,zero,c.png\n")
    with pytest.raises(ManifestError) as info:
        read_manifest(path)
    assert [(p.line, p.column) for p in info.value.problems] == [(2, "level"), (4, "bpp")]


def test_a_missing_required_column_names_the_column(tmp_path):
    path = write(tmp_path, "image,codec,level,path\nkodim01,jpeg,0,a.png\n")
    with pytest.raises(ManifestError, match="column 'bpp': required column missing"):
        read_manifest(path)


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(ManifestError, match="file not found"):
        read_manifest(tmp_path / "nope.csv")


def test_duplicate_conditions_are_refused(tmp_path):
    path = write(tmp_path, HEADER + "a,jpeg,0,0.2,a.png\na,jpeg,0,0.3,b.png\n")
    with pytest.raises(ManifestError, match="duplicate of line 2"):
        read_manifest(path)


def test_levels_must_count_up_from_zero_over_the_manifest(tmp_path):
    path = write(tmp_path, HEADER + "a,jpeg,0,0.2,a.png\na,jpeg,2,0.3,b.png\n")
    with pytest.raises(ManifestError, match=r"no image has level\(s\) \[1\]"):
        read_manifest(path)


def test_an_image_may_lack_a_level_another_image_has(tmp_path):
    path = write(tmp_path, HEADER + "a,jpeg,0,0.2,a0.png\na,jpeg,1,0.4,a1.png\nb,jpeg,1,0.5,b1.png\n")
    assert read_manifest(path)["level"].tolist() == [0, 1, 1]


def test_levels_must_ascend_in_bitrate(tmp_path):
    with pytest.raises(ManifestError, match="lower bpp"):
        write_manifest(tmp_path / "manifest.csv", rows(bpp=0.1))


def test_a_refused_write_leaves_the_existing_manifest_untouched(tmp_path):
    path = write_manifest(tmp_path / "manifest.csv", rows())
    before = path.read_bytes()
    with pytest.raises(ManifestError):
        write_manifest(path, rows(bpp="nan"))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.csv"]


def test_unknown_columns_are_refused_on_write(tmp_path):
    with pytest.raises(ManifestError, match="not a manifest column"):
        write_manifest(tmp_path / "manifest.csv", rows(quality=3))


def test_check_files_reports_missing_reconstructions(tmp_path):
    path = write_manifest(tmp_path / "manifest.csv", rows())
    (tmp_path / "kodim01").mkdir()
    (tmp_path / "kodim01" / "jpeg-0.png").write_bytes(b"")
    with pytest.raises(ManifestError) as info:
        read_manifest(path, check_files=True)
    assert [(p.line, p.column) for p in info.value.problems] == [(3, "path")]
