"""Rater reliability: posterior lapse rates, agreement with the consensus, spammer flags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from analysis.elo import EloFit

SPAMMER_PROB = 0.5
"""A rater is flagged as a likely spammer when the posterior probability of that class exceeds this."""


def rater_table(fit: EloFit, *, prob: float = 0.95) -> pd.DataFrame:
    """One row per rater: judgments, agreement, posterior lapse and interval, spammer flag.

    Returns
    -------
    pandas.DataFrame
        ``rater, judgments, agreement`` (share of decided judgments — ties left out — won by the
        condition with the higher posterior-mean Elo), ``lapse, lapse_lo, lapse_hi`` (probability of answering at random),
        ``reliability`` (1 − lapse), ``p_spammer`` (posterior probability that the rater is in
        the spammer class) and ``spammer``. Without rater terms the lapse columns are empty and
        nobody is flagged.
    """
    judgments = fit.data.judgments
    elo = fit.elo_draws().mean(axis=0)
    agrees = elo[judgments["winner"].to_numpy()] > elo[judgments["loser"].to_numpy()]
    if "tie" in judgments:  # a tie neither agrees nor disagrees: agreement is over decided judgments
        agrees = np.where(judgments["tie"].to_numpy(bool), np.nan, agrees)
    per = pd.DataFrame({"rater": judgments["rater"], "agree": agrees}).groupby("rater")["agree"]
    table = pd.DataFrame({"rater": fit.data.raters})
    table["judgments"] = per.size().reindex(fit.data.raters).to_numpy()
    table["agreement"] = per.mean().reindex(fit.data.raters).to_numpy()
    if "lapse" not in fit.idata["posterior"]:
        for column in ("lapse", "lapse_lo", "lapse_hi", "reliability", "p_spammer"):
            table[column] = np.nan
        table["spammer"] = False
        return table
    post = fit.idata["posterior"]
    p_spam = _by_rater(post["p_spammer"])
    # λ_r is λ₀ or 1 (spammer): draw the class from its per-draw probability for the interval.
    spam = np.random.default_rng(0).random(p_spam.shape) < p_spam
    lapse = np.where(spam, 1.0, post["lapse0"].stack(sample=("chain", "draw")).to_numpy()[None, :])
    tail = (1.0 - prob) / 2.0
    table["lapse"] = _by_rater(post["lapse"]).mean(axis=1)
    table["lapse_lo"] = np.quantile(lapse, tail, axis=1)
    table["lapse_hi"] = np.quantile(lapse, 1.0 - tail, axis=1)
    table["reliability"] = 1.0 - table["lapse"]
    table["p_spammer"] = p_spam.mean(axis=1)
    table["spammer"] = table["p_spammer"] > SPAMMER_PROB
    return table


def _by_rater(values: xr.DataArray) -> np.ndarray:
    """Posterior draws of a per-rater quantity as an array (rater, sample)."""
    return values.stack(sample=("chain", "draw")).transpose("rater", "sample").to_numpy()
