"""``import-answers``: CLIC-style answer files become judgments + manifest that reproduce the truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import cli
from analysis.answers import AnswerColumns, import_answers, read_methods, to_answers
from analysis.errors import AnswersError
from analysis.simulate import SimulatedStudy, expected_curves, simulate_study
from pico.errors import ManifestError
from pico.manifest import NO_IMAGE, read_manifest

REGEX = r"(?P<codec>[a-z]+)_q(?P<quality>\d+)"
FIXTURE_ANSWERS = Path(__file__).resolve().parents[2] / "fixtures" / "answers"


@pytest.fixture(scope="module")
def clic_study() -> SimulatedStudy:
    """3,000 judgments by 12 raters on a wide ladder, so every BD-rate is defined."""
    curves = expected_curves({"jpeg": 2.0, "avif": 1.0, "vvc": 0.8, "pico": 0.6}, (0.05, 0.12, 0.3, 0.75), "avif")
    return simulate_study(curves, anchor="avif", n_judgments=3000, n_raters=12, n_images=4, seed=21)


def write_clic(
    study: SimulatedStudy, folder: Path, *, answer_names: str, keep_rater: bool = False
) -> tuple[Path, Path]:
    answers, methods = to_answers(study.judgments, study.manifest, answer_names=answer_names, keep_rater=keep_rater)
    answers.to_csv(folder / "answers.csv", index=False)
    methods[["method", "bpp"]].to_csv(folder / "methods.csv", index=False)
    return folder / "answers.csv", folder / "methods.csv"


def test_an_imported_clic_file_reproduces_the_simulated_truth(clic_study: SimulatedStudy, tmp_path: Path) -> None:
    answers, methods = write_clic(clic_study, tmp_path, answer_names="distorted")
    judgments, manifest = tmp_path / "judgments.csv", tmp_path / "manifest.csv"
    argv = ["import-answers", "--answers", str(answers), "--methods", str(methods), "--method-regex", REGEX]
    argv += ["--answer-names", "distorted", "--judgments-out", str(judgments), "--manifest-out", str(manifest)]
    assert cli.main(argv) == 0
    out = tmp_path / "out"
    argv = ["fit", "--judgments", str(judgments), "--manifest", str(manifest), "--anchor", "avif"]
    assert cli.main([*argv, "--out", str(out), "--method", "map"]) == 0

    elo = pd.read_csv(out / "elo.csv").merge(clic_study.curves, on=["codec", "level"], suffixes=("", "_true"))
    sd = (elo["elo_hi"] - elo["elo_lo"]) / 3.92
    moving = sd > 0  # the anchor's lowest level is fixed at 0
    assert (np.abs(elo["elo"] - elo["elo_true"])[moving] < 4 * sd[moving]).all()
    assert np.corrcoef(elo["elo"], elo["elo_true"])[0, 1] > 0.99
    bdrate = pd.read_csv(out / "bdrate.csv").set_index("codec")
    for codec, truth in clic_study.true_bdrate.items():
        assert bdrate.loc[codec, "bdrate_lo"] <= truth <= bdrate.loc[codec, "bdrate_hi"], codec
    page = (out / "report.html").read_text()
    assert "one shared lapse" in page and "spammer share</th>" not in page


def test_preferred_and_distorted_files_give_the_same_judgments(clic_study: SimulatedStudy, tmp_path: Path) -> None:
    frames = []
    for meaning in ("preferred", "distorted"):
        folder = tmp_path / meaning
        folder.mkdir()
        answers, methods = write_clic(clic_study, folder, answer_names=meaning)
        imported = import_answers(answers, read_methods(methods, method_regex=REGEX), answer_names=meaning)
        frames.append(imported.judgments)
    pd.testing.assert_frame_equal(frames[0], frames[1])
    original = clic_study.judgments.reset_index(drop=True)
    assert (frames[0]["winner"].to_numpy() == original["winner"].to_numpy()).all()
    assert (frames[0]["rater"] == "all").all()


def test_a_rater_column_is_kept_and_the_levels_come_from_bpp(clic_study: SimulatedStudy, tmp_path: Path) -> None:
    answers, methods = write_clic(clic_study, tmp_path, answer_names="preferred", keep_rater=True)
    imported = import_answers(answers, read_methods(methods, method_regex=REGEX), answer_names="preferred")
    original = clic_study.judgments.reset_index(drop=True)
    assert imported.judgments["rater"].nunique() == 12
    for column in ("a_codec", "a_level", "b_codec", "b_level", "rater"):
        assert (imported.judgments[column].astype(str) == original[column].astype(str)).all(), column
    assert set(imported.manifest["path"]) == {NO_IMAGE}


def test_an_imported_manifest_is_valid_for_analysis_but_not_where_images_are_needed(
    clic_study: SimulatedStudy, tmp_path: Path
) -> None:
    answers, methods = write_clic(clic_study, tmp_path, answer_names="preferred")
    judgments, manifest = tmp_path / "judgments.csv", tmp_path / "manifest.csv"
    argv = ["import-answers", "--answers", str(answers), "--methods", str(methods), "--method-regex", REGEX]
    assert (
        cli.main(
            [*argv, "--answer-names", "preferred", "--judgments-out", str(judgments), "--manifest-out", str(manifest)]
        )
        == 0
    )
    assert len(read_manifest(manifest)) == 4 * 16
    with pytest.raises(ManifestError, match=r"manifest.csv:2: column 'path': no decoded image"):
        read_manifest(manifest, check_files=True)


def test_the_answer_meaning_is_required(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(
            [
                "import-answers",
                "--answers",
                "a.csv",
                "--methods",
                "m.csv",
                "--judgments-out",
                "j",
                "--manifest-out",
                "m",
            ]
        )
    assert exit_.value.code == 2
    assert "--answer-names" in capsys.readouterr().err


def test_bad_answers_are_reported_with_file_line_and_column(tmp_path: Path) -> None:
    methods = tmp_path / "methods.csv"
    methods.write_text("method,codec,level,bpp\njpeg_q10,jpeg,0,0.2\njpeg_q50,jpeg,1,0.5\navif_q20,avif,0,0.3\n")
    answers = tmp_path / "answers.csv"
    answers.write_text(
        "methodA,methodB,originalName,answerValue\n"
        "jpeg_q10,avif_q20,kodim01,avif_q20\n"
        "jpeg_q10,webp_q5,kodim01,jpeg_q10\n"
        "jpeg_q10,jpeg_q50,kodim01,left\n"
        "jpeg_q50,jpeg_q50,kodim01,jpeg_q50\n"
    )
    with pytest.raises(AnswersError) as error:
        import_answers(answers, read_methods(methods), answer_names="preferred")
    text = str(error.value)
    assert f"{answers}:3: column 'methodB': method 'webp_q5' is not in {methods}" in text
    assert f"{answers}:4: column 'answerValue': expected the name of one of the two methods" in text
    assert f"{answers}:5: column 'methodB': both sides show method 'jpeg_q50'" in text
    assert len(error.value.problems) == 3


def test_a_missing_answer_column_names_the_header(tmp_path: Path) -> None:
    methods = tmp_path / "methods.csv"
    methods.write_text("method,codec,level,bpp\njpeg_q10,jpeg,0,0.2\navif_q20,avif,0,0.3\n")
    answers = tmp_path / "answers.csv"
    answers.write_text("left,right,originalName,answerValue\njpeg_q10,avif_q20,kodim01,avif_q20\n")
    with pytest.raises(AnswersError, match=r"answers.csv:1: column 'methodA': required column missing"):
        import_answers(answers, read_methods(methods), answer_names="preferred")
    renamed = AnswerColumns(method_a="left", method_b="right")
    imported = import_answers(answers, read_methods(methods), answer_names="distorted", columns=renamed)
    assert imported.judgments.loc[0, "winner"] == "a"


def test_bad_method_tables_are_reported_with_file_line_and_column(tmp_path: Path) -> None:
    methods = tmp_path / "methods.csv"
    methods.write_text("method,codec,level,bpp\njpeg_q10,jpeg,0,0.5\njpeg_q50,jpeg,1,0.2\njpeg_q10,jpeg,2,0.9\n")
    with pytest.raises(
        AnswersError, match=r"methods.csv:4: column 'method': method 'jpeg_q10' already defined on line 2"
    ):
        read_methods(methods)
    methods.write_text("method,codec,level,bpp\njpeg_q10,jpeg,0,0.5\njpeg_q50,jpeg,1,0.2\n")
    with pytest.raises(AnswersError, match=r"methods.csv:3: column 'bpp': level 1 of codec 'jpeg' has a lower bpp"):
        read_methods(methods)
    methods.write_text("method,bpp\njpeg_q10,0.2\nreference,0\n")
    with pytest.raises(AnswersError) as error:
        read_methods(methods, method_regex=REGEX)
    assert f"{methods}:3: column 'bpp'" in str(error.value)


def test_the_regex_levels_follow_bpp_and_keep_the_quality(tmp_path: Path) -> None:
    methods = tmp_path / "methods.csv"
    methods.write_text("method,bpp\njpeg_q90,1.1\njpeg_q30,0.3\njpeg_q60,0.6\navif_q20,0.4\nbad name,0.1\n")
    with pytest.raises(AnswersError, match=r"methods.csv:6: column 'method': 'bad name' does not match"):
        read_methods(methods, method_regex=REGEX)
    methods.write_text("method,bpp\njpeg_q90,1.1\njpeg_q30,0.3\njpeg_q60,0.6\navif_q20,0.4\n")
    table = read_methods(methods, method_regex=REGEX).set_index("method")
    assert table.loc[["jpeg_q30", "jpeg_q60", "jpeg_q90", "avif_q20"], "level"].tolist() == [0, 1, 2, 0]
    assert table.loc["jpeg_q60", "param"] == "60"


def test_tie_values_become_ties(tmp_path: Path) -> None:
    methods = tmp_path / "methods.csv"
    methods.write_text("method,codec,level,bpp\njpeg_q10,jpeg,0,0.2\navif_q20,avif,0,0.3\n")
    answers = tmp_path / "answers.csv"
    answers.write_text("methodA,methodB,originalName,answerValue\njpeg_q10,avif_q20,kodim01,same\n")
    imported = import_answers(answers, read_methods(methods), answer_names="preferred", tie_values=("same",))
    assert imported.judgments.loc[0, "winner"] == "tie"


def test_the_documented_example_imports(tmp_path: Path) -> None:
    code = cli.main(
        [
            "import-answers",
            "--answers",
            str(FIXTURE_ANSWERS / "clic_small.csv"),
            "--methods",
            str(FIXTURE_ANSWERS / "clic_methods.csv"),
            "--method-regex",
            REGEX,
            "--answer-names",
            "distorted",
            "--judgments-out",
            str(tmp_path / "judgments.csv"),
            "--manifest-out",
            str(tmp_path / "manifest.csv"),
        ]
    )
    assert code == 0
    assert len(pd.read_csv(tmp_path / "judgments.csv")) == 2000
