"""BD-rate tables of a fit: rate–Elo per posterior draw, and classic objective-metric BD-rates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.bdrate import BDRateUndefined, bd_rate, bd_rate_posterior
from analysis.data import METRICS
from analysis.elo import EloFit

BDRATE_COLUMNS = ["codec", "anchor", "bdrate", "bdrate_lo", "bdrate_hi", "reason"]


def bdrate_table(fit: EloFit, *, anchor: str | None = None, prob: float = 0.95) -> pd.DataFrame:
    """BD-rate on rate–Elo curves of every codec against ``anchor`` (default: the fit's anchor).

    Returns
    -------
    pandas.DataFrame
        ``codec, anchor, bdrate, bdrate_lo, bdrate_hi, reason``: percent, negative = fewer bits
        than the anchor at equal Elo; ``prob`` credible interval over the posterior draws whose
        two curves rise with rate (:func:`analysis.bdrate.order_draws`); where the BD-rate is
        undefined (curves that do not overlap, too few levels) the numbers are empty and
        ``reason`` says why.
    """
    anchor = anchor or fit.anchor
    conditions = fit.data.conditions
    draws = fit.elo_draws()
    rows = []
    anchor_rows = conditions.index[conditions["codec"] == anchor].to_numpy()
    for codec in fit.data.codecs:
        if codec == anchor:
            continue
        test_rows = conditions.index[conditions["codec"] == codec].to_numpy()
        summary = bd_rate_posterior(
            conditions.loc[anchor_rows, "bpp"].to_numpy(),
            draws[:, anchor_rows],
            conditions.loc[test_rows, "bpp"].to_numpy(),
            draws[:, test_rows],
            prob=prob,
        )
        rows.append([codec, anchor, summary.bdrate, summary.lo, summary.hi, summary.reason])
    return pd.DataFrame(rows, columns=BDRATE_COLUMNS)


def objective_bdrate_table(conditions: pd.DataFrame, anchor: str, metrics: tuple[str, ...] = METRICS) -> pd.DataFrame:
    """Classic BD-rate (PCHIP) on mean objective metrics per level against ``anchor``, in percent.

    ``conditions`` is ``StudyData.conditions`` (geometric-mean bpp and mean metric per level).
    Metrics the manifest has for no condition are left out (a manifest without metrics gives an
    empty table); a metric missing for some conditions gives the reason ``missing_metric``.
    """
    metrics = tuple(m for m in metrics if m in conditions and conditions[m].notna().any())
    rows = []
    anchor_curve = conditions[conditions["codec"] == anchor].sort_values("level")
    for codec in sorted(set(conditions["codec"]) - {anchor}):
        test_curve = conditions[conditions["codec"] == codec].sort_values("level")
        for metric in metrics:
            value, reason = None, None
            qa, qt = anchor_curve[metric].to_numpy(float), test_curve[metric].to_numpy(float)
            if np.isnan(qa).any() or np.isnan(qt).any():
                reason = "missing_metric"
            else:
                try:
                    value = bd_rate(anchor_curve["bpp"].to_numpy(), qa, test_curve["bpp"].to_numpy(), qt)
                except BDRateUndefined as exc:
                    reason = f"{exc.reason}: {exc}"
            rows.append([codec, anchor, metric, value, reason])
    return pd.DataFrame(rows, columns=["codec", "anchor", "metric", "bdrate", "reason"])
