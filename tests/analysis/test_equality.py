"""Equal-quality bitrates: exact on curves that are straight in (ln bpp, Elo), intervals per draw, no extrapolation."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest

from analysis.data import StudyData
from analysis.elo import EloFit, ModelSpec
from analysis.equality import at_bpp_sentences, equal_quality_display, equal_quality_table, interpolate_draws

FACTORS = {"avif": 1.0, "jpeg": 1.5, "pico": 0.5}
LADDERS = {"avif": [0.1, 0.2, 0.4, 0.8], "jpeg": [0.2, 0.3, 0.6, 1.3], "pico": [0.07, 0.12, 0.3, 0.5]}


def straight_fit(noise: float = 0.0, draws: int = 400) -> EloFit:
    """Every codec on Elo = 200·ln(bpp / factor), so the truth at any Elo is factor × the anchor's bpp."""
    rows = [(c, lv, b) for c in FACTORS for lv, b in enumerate(LADDERS[c])]
    conditions = pd.DataFrame(rows, columns=["codec", "level", "bpp"])
    elo = 200.0 * np.log(conditions["bpp"] / conditions["codec"].map(FACTORS)).to_numpy()
    samples = elo + np.random.default_rng(0).normal(0.0, noise, (draws, len(elo)))
    data = StudyData(
        conditions=conditions,
        judgments=pd.DataFrame(columns=["rater", "image", "winner", "loser", "rater_code", "image_code"]),
        raters=[],
        images=[],
        n_rows=0,
    )
    labels = [f"{c}@{lv}" for c, lv, _ in rows]
    idata = az.from_dict(posterior={"elo": samples[None]}, coords={"condition": labels}, dims={"elo": ["condition"]})
    return EloFit(data, idata, ModelSpec(anchor="avif"), "map", None, None)


def test_interpolation_is_numpys_inside_and_empty_outside() -> None:
    x = np.array([[0.0, 1.0, 3.0], [10.0, 20.0, 30.0]])
    at = np.array([2.0, 35.0])
    got = interpolate_draws(x, np.array([1.0, 2.0, 6.0]), at)
    assert got[0] == pytest.approx(np.interp(2.0, x[0], [1.0, 2.0, 6.0]))
    assert np.isnan(got[1])


def test_codecs_on_straight_log_rate_curves_need_exactly_their_rate_factor() -> None:
    table = equal_quality_table(straight_fit()).set_index(["level", "codec"])
    # avif's level 0 (0.1 bpp) needs jpeg at 0.15 and pico at 0.05 bpp: below both codecs' lowest levels.
    for level in (1, 2, 3):
        for codec in ("jpeg", "pico"):
            row = table.loc[(level, codec)]
            assert row["bpp"] == pytest.approx(LADDERS["avif"][level] * FACTORS[codec])
            assert row["difference"] == pytest.approx((FACTORS[codec] - 1.0) * 100.0)
            assert pd.isna(row["reason"])
    for codec in ("jpeg", "pico"):
        assert table.loc[(0, codec), "reason"] == "out_of_range in 100% of draws"
        assert np.isnan(table.loc[(0, codec), "bpp"])


def test_linear_bpp_interpolation_is_the_alternative_and_errs_between_levels_on_such_curves() -> None:
    fit = straight_fit()
    log = equal_quality_table(fit, at_bpp=[0.3]).set_index(["anchor_bpp", "codec"])
    linear = equal_quality_table(fit, at_bpp=[0.3], space="linear").set_index(["anchor_bpp", "codec"])
    assert log.loc[(0.3, "pico"), "difference"] == pytest.approx(-50.0)
    assert abs(linear.loc[(0.3, "pico"), "difference"] + 50.0) > 0.5
    # At the anchor's own levels only the codec's interpolation matters; it still errs between pico's levels.
    at_level = equal_quality_table(fit, space="linear").set_index(["level", "codec"])
    assert abs(at_level.loc[(1, "pico"), "difference"] + 50.0) > 0.5


def test_intervals_come_from_every_draw_and_bracket_the_mean() -> None:
    table = equal_quality_table(straight_fit(noise=15.0)).dropna(subset=["bpp"])
    assert (table["bpp_lo"] < table["bpp"]).all() and (table["bpp"] < table["bpp_hi"]).all()
    assert (table["difference_lo"] < table["difference"]).all()
    pico = table[(table["codec"] == "pico") & (table["level"] == 2)].iloc[0]
    assert pico["difference_lo"] < -50.0 < pico["difference_hi"]


def test_at_bpp_reads_the_anchors_elo_there_and_says_it_in_a_sentence() -> None:
    table = equal_quality_table(straight_fit(), at_bpp=[0.3], levels=False)
    assert table["level"].isna().all()
    assert table["elo"].iloc[0] == pytest.approx(200.0 * np.log(0.3))
    lines = at_bpp_sentences(table)
    assert lines[1] == (
        f"At 0.3 bpp of avif (Elo {200 * np.log(0.3):.0f} [{200 * np.log(0.3):.0f}, {200 * np.log(0.3):.0f}]), "
        "pico needs 0.15 bpp [0.15, 0.15]: 50.0% fewer (95% interval -50.0% to -50.0%)."
    )
    display = equal_quality_display(table)
    assert list(display.columns[:3]) == ["avif level", "avif bpp", "Elo [95%]"]
