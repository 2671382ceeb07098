"""Imported reconstructions: a valid listing gives a manifest; any bad row gives a clear error and no output."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PIL import Image

from pico.cli import main
from pico.errors import ManifestError
from pico.importer import import_reconstructions
from pico.manifest import read_manifest


@pytest.fixture
def listing(images_dir: Path, tmp_path: Path, make_photo) -> Path:
    """Two levels of a 'hific' codec for each reference, as JPEG files made elsewhere."""
    recon = tmp_path / "elsewhere"
    recon.mkdir()
    rows = []
    for reference in sorted(images_dir.glob("*.png")):
        with Image.open(reference) as image:
            for level, quality in enumerate((30, 80)):
                path = recon / f"{reference.stem}_{level}.jpg"
                image.save(path, quality=quality)
                bpp = 8 * path.stat().st_size / (image.width * image.height)
                rows.append(
                    {
                        "image": reference.stem,
                        "codec": "hific",
                        "level": level,
                        "bpp": bpp,
                        "path": f"elsewhere/{path.name}",
                    }
                )
    return _write(tmp_path / "listing.csv", rows)


def _write(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["image", "codec", "level", "bpp", "path"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_valid_listing_becomes_a_manifest_with_metrics(listing, images_dir, tmp_path):
    manifest = import_reconstructions(listing, images_dir, tmp_path / "out")
    frame = read_manifest(manifest, check_files=True)
    assert len(frame) == 4
    assert set(frame["codec"]) == {"hific"}
    assert frame["psnr"].notna().all() and frame["ssimulacra2"].notna().all()
    assert (frame.sort_values(["image", "level"]).groupby("image")["psnr"].diff().dropna() > 0).all()


def test_a_wrong_size_is_refused_and_nothing_is_written(listing, images_dir, tmp_path):
    rows = _rows(listing)
    Image.new("RGB", (50, 40)).save(tmp_path / "elsewhere" / "small.png")
    rows[1]["path"] = "elsewhere/small.png"
    out = tmp_path / "out"
    with pytest.raises(ManifestError, match=r"listing.csv:3: column 'path': .*small.png is 50x40, the reference"):
        import_reconstructions(_write(listing, rows), images_dir, out)
    assert not out.exists()


def test_an_unreadable_reconstruction_is_refused(listing, images_dir, tmp_path):
    rows = _rows(listing)
    (tmp_path / "elsewhere" / "broken.png").write_bytes(b"not an image")
    rows[0]["path"] = "elsewhere/broken.png"
    with pytest.raises(ManifestError, match="reconstruction unreadable"):
        import_reconstructions(_write(listing, rows), images_dir, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_missing_reference_is_refused(listing, images_dir, tmp_path, capsys):
    rows = _rows(listing)
    rows[2]["image"] = "nowhere"
    code = main(["import", str(_write(listing, rows)), "--references", str(images_dir), "--out", str(tmp_path / "out")])
    assert code == 1
    assert "no reference named 'nowhere'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_implausible_bpp_is_refused(listing, images_dir, tmp_path):
    rows = _rows(listing)
    rows[0]["bpp"] = "48"
    with pytest.raises(ManifestError, match="implausible"):
        import_reconstructions(_write(listing, rows), images_dir, tmp_path / "out")


def test_a_non_empty_output_folder_is_refused(listing, images_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.png").write_bytes(b"")
    with pytest.raises(Exception, match="not empty"):
        import_reconstructions(listing, images_dir, out)


def test_the_metrics_command_recomputes_a_manifest_in_place(listing, images_dir, tmp_path, capsys):
    manifest = import_reconstructions(listing, images_dir, tmp_path / "out")
    before = read_manifest(manifest)
    assert main(["metrics", "--manifest", str(manifest), "--references", str(images_dir)]) == 0
    after = read_manifest(manifest)
    assert after["psnr"].round(6).equals(before["psnr"].round(6))
