"""``python -m analysis``: outputs per contract, input errors and non-convergence as exit codes."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pandas as pd
import pytest

import analysis.fitting
from analysis import cli
from analysis.elo import Diagnostics, EloFit


def run_map(small_files, out: Path, *extra: str) -> int:
    judgments, manifest = small_files
    argv = ["fit", "--judgments", str(judgments), "--manifest", str(manifest), "--anchor", "avif", "--out", str(out)]
    return cli.main([*argv, "--method", "map", *extra])


def test_fit_writes_every_output_of_the_contract(small_files, tmp_path: Path) -> None:
    assert run_map(small_files, tmp_path) == 0
    elo = pd.read_csv(tmp_path / "elo.csv")
    assert list(elo.columns) == ["codec", "level", "bpp", "elo", "elo_lo", "elo_hi"]
    assert len(elo) == 16
    bdrate = pd.read_csv(tmp_path / "bdrate.csv")
    assert list(bdrate.columns)[:5] == ["codec", "anchor", "bdrate", "bdrate_lo", "bdrate_hi"]
    assert set(bdrate["codec"]) == {"jpeg", "pico", "vvc"}
    assert bdrate["bdrate"].notna().all()
    raters = pd.read_csv(tmp_path / "raters.csv")
    assert {"rater", "judgments", "lapse", "p_spammer", "spammer"} <= set(raters.columns)
    assert raters["spammer"].sum() == 2  # the fixture's two coin-flipping raters
    assert (raters["lapse_lo"] <= raters["lapse_hi"]).all()
    assert raters.loc[raters["spammer"], "lapse_hi"].eq(1.0).all()
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "winrates.png").read_bytes()[:4] == b"\x89PNG"


def test_the_report_is_self_contained(small_files, tmp_path: Path) -> None:
    run_map(small_files, tmp_path)
    page = (tmp_path / "report.html").read_text()
    sources = re.findall(r'src="([^"]+)"', page)
    assert len(sources) == 2
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert base64.b64decode(sources[0].split(",", 1)[1]) == (tmp_path / "curves.png").read_bytes()
    assert "href=" not in page
    assert "judgments fitted</th><td>3000" in page
    assert re.search(r"spammer share</th><td>\d+\.\d% \[\d+\.\d%, \d+\.\d%\]", page)
    assert "lapse λ₀ of attentive raters" in page


def test_malformed_judgments_exit_1_with_file_and_line(small_files, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("rater,image,a_codec,a_level,b_codec,b_level,winner\nr1,img00,avif,0,avif,1,maybe\n")
    code = cli.main(
        ["fit", "--judgments", str(bad), "--manifest", str(small_files[1]), "--anchor", "avif", "--out", str(tmp_path)]
    )
    assert code == cli.EXIT_INPUT
    assert f"{bad}:2: column 'winner'" in capsys.readouterr().err


def unconverged_fit(real_fit_study):
    """fit_study whose result fails the R-hat check, without spending minutes sampling."""

    def fake(data, **kwargs) -> EloFit:
        fit = real_fit_study(data, **{**kwargs, "method": "map"})
        fit.diagnostics = Diagnostics(
            rhat_max=1.2, ess_bulk_min=50, divergences=3, draws=10, chains=2, checked=("elo",)
        )
        return fit

    return fake


def test_an_unconverged_fit_exits_3_loudly_and_marks_the_report(
    small_files, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setattr(analysis.fitting, "fit_study", unconverged_fit(analysis.fitting.fit_study))
    code = run_map(small_files, tmp_path)
    assert code == cli.EXIT_UNCONVERGED
    err = capsys.readouterr().err
    assert "NOT CONVERGED: R-hat max 1.200 > 1.01; bulk ESS min 50 < 400; 3 divergent transitions" in err
    assert "NOT CONVERGED" in (tmp_path / "report.html").read_text()


def test_allow_unconverged_exits_0(small_files, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(analysis.fitting, "fit_study", unconverged_fit(analysis.fitting.fit_study))
    assert run_map(small_files, tmp_path, "--allow-unconverged") == 0


@pytest.mark.parametrize("design", ["random", "adaptive"])
def test_plan_recommends_a_size_that_meets_the_target(tmp_path: Path, capsys, design: str) -> None:
    out = tmp_path / "plan.csv"
    argv = ["plan", "--rate-factors", "jpeg=2,avif=1", "--anchor", "avif", "--target-width", "60", "--design", design]
    code = cli.main([*argv, "--judgments", "1000,6000", "--images", "4", "--reps", "2", "--out", str(out)])
    assert code == 0
    plan = pd.read_csv(out)
    assert plan.groupby("judgments")["width_median"].first().is_monotonic_decreasing
    assert "Recommended:" in capsys.readouterr().out


def test_simulate_writes_files_that_fit_reads(tmp_path: Path) -> None:
    j, m = tmp_path / "j.csv", tmp_path / "m.csv"
    assert cli.main(["simulate", "--judgments-out", str(j), "--manifest-out", str(m), "--judgments", "300"]) == 0
    assert (
        cli.main(
            [
                "fit",
                "--judgments",
                str(j),
                "--manifest",
                str(m),
                "--anchor",
                "avif",
                "--out",
                str(tmp_path),
                "--method",
                "map",
            ]
        )
        == 0
    )


@pytest.mark.slow
def test_a_too_short_nuts_run_exits_non_zero(small_files, tmp_path: Path) -> None:
    judgments, manifest = small_files
    argv = [
        "fit",
        "--judgments",
        str(judgments),
        "--manifest",
        str(manifest),
        "--anchor",
        "avif",
        "--out",
        str(tmp_path),
    ]
    assert (
        cli.main([*argv, "--draws", "20", "--tune", "20", "--chains", "2", "--no-rater-terms"]) == cli.EXIT_UNCONVERGED
    )


def test_interpolation_flag_chooses_how_the_equal_quality_table_reads_curves(small_files, tmp_path: Path) -> None:
    """Default log-linear (ln bpp linear in Elo); ``--interpolation linear`` reads bpp itself, and says so."""
    assert run_map(small_files, tmp_path / "log", "--at-bpp", "0.2") == 0
    assert run_map(small_files, tmp_path / "linear", "--at-bpp", "0.2", "--interpolation", "linear") == 0
    log, linear = (pd.read_csv(tmp_path / name / "equal_quality.csv") for name in ("log", "linear"))
    assert log[["codec", "level", "anchor_bpp"]].equals(linear[["codec", "level", "anchor_bpp"]])
    between = log["level"].isna() & log["bpp"].notna()  # read between the levels of both curves
    assert between.any() and (log.loc[between, "bpp"] != linear.loc[between, "bpp"]).all()
    assert "ln bpp interpolated linearly in Elo" in (tmp_path / "log" / "report.html").read_text()
    assert "(bpp interpolated linearly in Elo" in (tmp_path / "linear" / "report.html").read_text()
    with pytest.raises(SystemExit):
        run_map(small_files, tmp_path / "bad", "--interpolation", "cubic")
