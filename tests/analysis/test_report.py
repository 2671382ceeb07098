"""Report and CLI outputs of issue 17: BD-rates on near-equal levels, equal-quality table, trust, polish."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import cli
from analysis.bdrate import NOT_MONOTONE, bd_rate_posterior
from analysis.data import load_study
from analysis.equality import EQUAL_QUALITY_COLUMNS
from analysis.fitting import fit_study


def fit_map(judgments: Path, manifest: Path, out: Path, *extra: str) -> int:
    argv = ["fit", "--judgments", str(judgments), "--manifest", str(manifest), "--anchor", "avif", "--out", str(out)]
    return cli.main([*argv, "--method", "map", *extra])


def test_a_study_whose_codecs_have_near_equal_lowest_levels_gets_every_bd_rate(tmp_path: Path) -> None:
    j, m = tmp_path / "j.csv", tmp_path / "m.csv"
    argv = ["simulate", "--judgments-out", str(j), "--manifest-out", str(m), "--judgments", "3000"]
    assert cli.main([*argv, "--raters", "24", "--near-equal", "avif=5,vvc=5", "--seed", "1"]) == 0
    # The premise: many posterior draws swap the near-equal levels, so the old rule gave no number.
    data = load_study(j, m)
    fit = fit_study(data, anchor="avif", method="map")
    c, draws = data.conditions, fit.elo_draws()
    avif, vvc = c.index[c["codec"] == "avif"], c.index[c["codec"] == "vvc"]
    old = bd_rate_posterior(c.loc[avif, "bpp"], draws[:, avif], c.loc[vvc, "bpp"], draws[:, vvc], order="none")
    assert old.reason is not None and old.reason.startswith(NOT_MONOTONE)

    assert fit_map(j, m, tmp_path / "out") == 0
    bdrate = pd.read_csv(tmp_path / "out" / "bdrate.csv")
    assert set(bdrate["codec"]) == {"jpeg", "pico", "vvc"}
    assert bdrate[["bdrate", "bdrate_lo", "bdrate_hi"]].notna().all().all()
    assert bdrate["reason"].isna().all()
    assert (bdrate["bdrate_lo"] < bdrate["bdrate"]).all() and (bdrate["bdrate"] < bdrate["bdrate_hi"]).all()


def test_fit_writes_the_equal_quality_table_and_answers_at_bpp(small_files, tmp_path: Path, capsys) -> None:
    assert fit_map(*small_files, tmp_path, "--at-bpp", "0.2") == 0
    out = capsys.readouterr().out
    assert "At 0.2 bpp of avif (Elo " in out and "pico needs " in out and "% fewer (95% interval " in out
    table = pd.read_csv(tmp_path / "equal_quality.csv")
    assert list(table.columns) == EQUAL_QUALITY_COLUMNS
    levels = pd.read_csv(tmp_path / "elo.csv").query("codec == 'avif'")["level"]
    assert set(table["level"].dropna().astype(int)) == set(levels)
    asked = table[table["level"].isna()]
    assert list(asked["anchor_bpp"]) == [0.2, 0.2, 0.2] and asked["bpp"].notna().all()
    page = (tmp_path / "report.html").read_text()
    assert "<h2>Equal-quality bitrates</h2>" in page and "At 0.2 bpp of avif" in page


def test_bd_rates_carry_their_fragility_and_the_report_says_how_far_to_trust_them(small_files, tmp_path) -> None:
    assert fit_map(*small_files, tmp_path) == 0
    bdrate = pd.read_csv(tmp_path / "bdrate.csv")
    assert list(bdrate.columns[:5]) == ["codec", "anchor", "bdrate", "bdrate_lo", "bdrate_hi"]
    assert (bdrate["fragility"] > 0).all()
    np.testing.assert_allclose(bdrate["fragility_share"], bdrate["fragility"] / 3000)
    page = (tmp_path / "report.html").read_text()
    assert "<h2>How far to trust the results</h2>" in page
    assert "judgments whose removal flips its sign" in page
    assert "Split-half reliability</b> of the Elo scale (20 random splits of the 24 raters" in page


def test_a_manifest_without_metrics_gets_no_objective_table(small_files, tmp_path: Path) -> None:
    judgments, manifest = small_files
    bare = tmp_path / "m.csv"
    pd.read_csv(manifest).drop(columns=["psnr", "ms_ssim", "ssimulacra2"]).to_csv(bare, index=False)
    assert fit_map(judgments, bare, tmp_path / "out") == 0
    page = (tmp_path / "out" / "report.html").read_text()
    assert "objective metrics" not in page and "missing_metric" not in page
    assert pd.read_csv(tmp_path / "out" / "objective_bdrate.csv").empty


def test_a_study_with_one_rater_id_shows_no_spammer_share(small_files, tmp_path: Path) -> None:
    judgments, manifest = small_files
    one = tmp_path / "j.csv"
    pd.read_csv(judgments).assign(rater="everyone").to_csv(one, index=False)
    assert fit_map(one, manifest, tmp_path / "out") == 0
    page = (tmp_path / "out" / "report.html").read_text()
    assert "spammer share" not in page and "flagged as likely spammers" not in page
    assert "Split-half reliability</b>: needs at least 4 raters" in page


@pytest.mark.parametrize("ladder", [(0.05, 0.12, 0.3, 0.75), (0.3, 0.35, 0.4, 0.45)])
def test_the_bpp_axis_has_plain_tick_labels(ladder) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from analysis.plots import curves_figure
    from analysis.simulate import expected_curves

    table = expected_curves(ladder=ladder).assign(elo_lo=lambda t: t["elo"] - 20, elo_hi=lambda t: t["elo"] + 20)
    fig = curves_figure(table, anchor="avif")
    FigureCanvasAgg(fig).draw()
    ax = fig.axes[0]
    low, high = ax.get_xlim()
    labels = [t.get_text() for t in ax.get_xticklabels() if low <= t.get_position()[0] <= high and t.get_text()]
    assert len(labels) >= 2, labels
    assert all(float(label) > 0 and "10^" not in label and "×" not in label for label in labels), labels
