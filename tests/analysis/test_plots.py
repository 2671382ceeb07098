"""Figures are checked through their artists and data, not pixels."""

from __future__ import annotations

import numpy as np
from matplotlib.collections import PolyCollection

from analysis.elo import elo_table
from analysis.fitting import fit_study
from analysis.plots import curves_figure, win_matrix, win_matrix_figure


def test_curves_have_one_line_and_one_band_per_codec_on_a_log_rate_axis(study_data) -> None:
    table = elo_table(fit_study(study_data, anchor="avif", method="map", rater_terms=False))
    fig = curves_figure(table, anchor="avif")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert sorted(line.get_label() for line in ax.get_lines()) == ["avif", "jpeg", "pico", "vvc"]
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 4
    pico = next(line for line in ax.get_lines() if line.get_label() == "pico")
    np.testing.assert_allclose(pico.get_ydata(), table[table["codec"] == "pico"].sort_values("bpp")["elo"])


def test_the_win_matrix_holds_observed_shares(study_data) -> None:
    share = win_matrix(study_data)
    both = share.to_numpy() + share.to_numpy().T
    off_diagonal = ~np.eye(len(share), dtype=bool) & ~np.isnan(both)
    np.testing.assert_allclose(both[off_diagonal], 1.0)
    assert np.isnan(share.loc["avif@0", "avif@0"])
    image = win_matrix_figure(study_data).axes[0].get_images()[0]
    np.testing.assert_allclose(image.get_array().filled(np.nan), share.to_numpy())
