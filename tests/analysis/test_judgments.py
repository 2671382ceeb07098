"""judgments.csv: valid files read back; malformed rows are named with file, line and column."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.errors import JudgmentsError
from analysis.judgments import read_judgments

HEADER = "rater,image,a_codec,a_level,b_codec,b_level,winner\n"


def write(tmp_path, text):
    path = tmp_path / "judgments.csv"
    path.write_text(text)
    return path


def manifest():
    return pd.DataFrame({"image": ["k1", "k1"], "codec": ["jpeg", "avif"], "level": [0, 0]})


def test_it_reads_valid_judgments_with_optional_telemetry(tmp_path):
    path = write(tmp_path, HEADER.strip() + ",response_ms,kind\nr1,k1,jpeg,0,avif,0,B,2100,trial\n")
    frame = read_judgments(path, manifest())
    assert frame.loc[0, "winner"] == "b"
    assert frame.loc[0, "response_ms"] == 2100


@pytest.mark.parametrize(
    ("row", "column", "expected"),
    [
        ("r1,k1,jpeg,0,avif,0,c", "winner", "expected one of a, b"),
        ("r1,k1,jpeg,-1,avif,0,a", "a_level", "expected an integer >= 0"),
        ("r1,k1,jpeg,0,jpeg,0,a", "b_level", "same condition"),
        ("r1,k1,jpeg,0,webp,0,a", "b_codec", "not in the manifest"),
    ],
)
def test_a_malformed_row_is_named_with_file_line_and_column(tmp_path, row, column, expected):
    path = write(tmp_path, HEADER + "r1,k1,jpeg,0,avif,0,a\n" + row + "\n")
    with pytest.raises(JudgmentsError) as info:
        read_judgments(path, manifest())
    (problem,) = info.value.problems
    assert (problem.line, problem.column) == (3, column)
    assert expected in problem.message


def test_a_missing_column_is_named(tmp_path):
    path = write(tmp_path, "rater,image,a_codec,a_level,b_codec,b_level\nr1,k1,jpeg,0,avif,0\n")
    with pytest.raises(JudgmentsError, match="column 'winner': required column missing"):
        read_judgments(path)


def test_a_row_with_too_many_cells_is_refused(tmp_path):
    path = write(tmp_path, HEADER + "r1,k1,jpeg,0,avif,0,a,extra\n")
    with pytest.raises(JudgmentsError, match="more cells than the 7 header columns"):
        read_judgments(path)
