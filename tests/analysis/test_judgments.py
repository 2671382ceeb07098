"""Malformed judgments are rejected with file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.data import load_study, prepare_study
from analysis.errors import JudgmentsError

HEADER = "rater,image,a_codec,a_level,b_codec,b_level,winner\n"


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "judgments.csv"
    path.write_text(header + body)
    return path


def messages(exc: pytest.ExceptionInfo[JudgmentsError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


def test_a_condition_absent_from_the_manifest_is_named_with_line_and_column(tmp_path: Path, small_files) -> None:
    path = write(tmp_path, "r1,img00,avif,0,avif,1,a\nr1,img00,avif,0,webp,2,b\n")
    with pytest.raises(JudgmentsError) as exc:
        load_study(path, small_files[1])
    assert messages(exc) == [
        f"{path}:3: column 'b_codec': condition (webp, level 2) on image 'img00' is not in the manifest; "
        "pass the manifest this study was built from"
    ]


def test_a_level_beyond_the_ladder_is_an_unknown_condition(tmp_path: Path, small_files) -> None:
    path = write(tmp_path, "r1,img00,avif,9,avif,1,a\n")
    with pytest.raises(JudgmentsError) as exc:
        load_study(path, small_files[1])
    assert messages(exc)[0].startswith(f"{path}:2: column 'a_codec': condition (avif, level 9)")


def test_a_missing_column_is_reported_on_the_header_line(tmp_path: Path, small_files) -> None:
    path = write(tmp_path, "r1,img00,avif,0,avif,1\n", header="rater,image,a_codec,a_level,b_codec,b_level\n")
    with pytest.raises(JudgmentsError) as exc:
        load_study(path, small_files[1])
    assert len(exc.value.problems) == 1
    assert messages(exc)[0].startswith(f"{path}:1: column 'winner': required column missing")


def test_a_winner_other_than_a_or_b_is_rejected(tmp_path: Path, small_files) -> None:
    path = write(tmp_path, "r1,img00,avif,0,avif,1,a\nr1,img00,avif,0,avif,1,left\n")
    with pytest.raises(JudgmentsError) as exc:
        load_study(path, small_files[1])
    assert messages(exc) == [f"{path}:3: column 'winner': expected one of a, b, tie, got 'left'"]


def test_comparing_a_condition_with_itself_is_rejected(tmp_path: Path, small_files) -> None:
    path = write(tmp_path, "r1,img00,avif,1,avif,1,a\n")
    with pytest.raises(JudgmentsError) as exc:
        load_study(path, small_files[1])
    assert "A and B are the same condition (avif, level 1)" in messages(exc)[0]


def test_every_bad_row_is_listed_at_once(tmp_path: Path, small_files) -> None:
    path = write(tmp_path, "r1,img00,avif,1,avif,1,a\nr1,img00,avif,0,avif,1,a\nr1,img99,avif,0,avif,1,a\n")
    with pytest.raises(JudgmentsError) as exc:
        load_study(path, small_files[1])
    lines = sorted({p.line for p in exc.value.problems})
    assert lines == [2, 4]


def test_frames_from_the_site_get_the_same_checks(study) -> None:
    frame = study.judgments.head(5).copy()
    frame.loc[3, "winner"] = "c"
    frame.loc[4, "a_codec"] = "nosuch"
    with pytest.raises(JudgmentsError) as exc:
        prepare_study(frame, study.manifest, source="export")
    assert [(p.line, p.column) for p in exc.value.problems] == [(5, "winner"), (6, "a_codec")]
