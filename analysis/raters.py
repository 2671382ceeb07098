"""Rater reliability: posterior lapse rates, agreement with the consensus, spammer flags."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.elo import EloFit

SPAMMER_LAPSE = 0.5
"""A rater is a likely spammer when P(lapse > SPAMMER_LAPSE) exceeds ``SPAMMER_PROB``."""
SPAMMER_PROB = 0.5


def rater_table(fit: EloFit, *, prob: float = 0.95) -> pd.DataFrame:
    """One row per rater: judgments, agreement, posterior lapse and interval, spammer flag.

    Returns
    -------
    pandas.DataFrame
        ``rater, judgments, agreement`` (share of judgments won by the condition with the higher
        posterior-mean Elo), ``lapse, lapse_lo, lapse_hi`` (probability of answering at random),
        ``reliability`` (1 − lapse), ``p_spammer`` (posterior P(lapse > 0.5)) and ``spammer``.
        Without rater terms the lapse columns are empty and nobody is flagged.
    """
    judgments = fit.data.judgments
    elo = fit.elo_draws().mean(axis=0)
    agrees = elo[judgments["winner"].to_numpy()] > elo[judgments["loser"].to_numpy()]
    per = pd.DataFrame({"rater": judgments["rater"], "agree": agrees}).groupby("rater")["agree"]
    table = pd.DataFrame({"rater": fit.data.raters})
    table["judgments"] = per.size().reindex(fit.data.raters).to_numpy()
    table["agreement"] = per.mean().reindex(fit.data.raters).to_numpy()
    if "lapse" not in fit.idata.posterior:
        for column in ("lapse", "lapse_lo", "lapse_hi", "reliability", "p_spammer"):
            table[column] = np.nan
        table["spammer"] = False
        return table
    lapse = fit.idata.posterior["lapse"].stack(sample=("chain", "draw")).transpose("rater", "sample").to_numpy()
    tail = (1.0 - prob) / 2.0
    table["lapse"] = lapse.mean(axis=1)
    table["lapse_lo"] = np.quantile(lapse, tail, axis=1)
    table["lapse_hi"] = np.quantile(lapse, 1.0 - tail, axis=1)
    table["reliability"] = 1.0 - table["lapse"]
    table["p_spammer"] = (lapse > SPAMMER_LAPSE).mean(axis=1)
    table["spammer"] = table["p_spammer"] > SPAMMER_PROB
    return table
