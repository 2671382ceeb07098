"""Equal-quality bitrates: at each level of the anchor, the bpp every other codec needs for the same Elo.

The published way to say "at the median web bitrate the new encoder needs 28% fewer bits". Per
posterior draw, each codec's rate–Elo curve must rise (as for BD-rates,
:func:`analysis.bdrate.order_draws`: the posterior restricted to draws where it does, or every
draw projected when too few do) and is read between its levels by **linear interpolation of ln
bpp in Elo** (straight segments on
the log-bpp axis of the curves figure, where rate–quality curves are close to straight lines),
never extrapolated; ``space="linear"`` interpolates bpp itself instead. The percentage difference
(bpp_codec / bpp_anchor − 1)·100 is computed in every draw, and the table reports posterior means
and central intervals.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.bdrate import MAX_UNDEFINED_FRACTION, order_draws
from analysis.elo import EloFit

SPACES = ("log", "linear")
INTERPOLATIONS = {"log-linear": "log", "linear": "linear"}
"""The command line's ``--interpolation`` names for ``space``: ln bpp or bpp linear in Elo."""
SPACE_WORDS = {"log": "ln bpp interpolated linearly in Elo", "linear": "bpp interpolated linearly in Elo"}
OUT_OF_RANGE = "out_of_range"
EQUAL_QUALITY_COLUMNS = [
    "anchor",
    "level",
    "anchor_bpp",
    "elo",
    "elo_lo",
    "elo_hi",
    "codec",
    "bpp",
    "bpp_lo",
    "bpp_hi",
    "difference",
    "difference_lo",
    "difference_hi",
    "reason",
]


def interpolate_draws(x: np.ndarray, y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Piecewise-linear interpolation of y in x, row by row, NaN outside each row's x range.

    Parameters
    ----------
    x
        Shaped (draws, points), each row strictly rising (e.g. Elo points of a codec's levels).
    y
        Shaped (points,) or (draws, points): the values at the points (e.g. ln bpp).
    at
        Shaped (draws,): where to read each row, in the unit of x.

    Returns
    -------
    numpy.ndarray
        Shaped (draws,), in the unit of y; no extrapolation.
    """
    x = np.atleast_2d(x)
    y = np.broadcast_to(y, x.shape)
    at = np.asarray(at, float)
    rows = np.arange(len(x))
    k = np.clip((x <= at[:, None]).sum(axis=1) - 1, 0, x.shape[1] - 2)
    x0, x1, y0, y1 = x[rows, k], x[rows, k + 1], y[rows, k], y[rows, k + 1]
    value = y0 + (at - x0) / (x1 - x0) * (y1 - y0)
    inside = (at >= x[:, 0]) & (at <= x[:, -1])
    return np.where(inside, value, np.nan)


def _summary(values: np.ndarray, tail: float) -> tuple[float, float, float] | None:
    valid = values[~np.isnan(values)]
    if len(valid) == 0 or len(valid) < (1.0 - MAX_UNDEFINED_FRACTION) * len(values):
        return None
    lo, hi = np.quantile(valid, [tail, 1.0 - tail])
    return float(valid.mean()), float(lo), float(hi)


def equal_quality_table(
    fit: EloFit,
    *,
    anchor: str | None = None,
    at_bpp: Sequence[float] = (),
    levels: bool = True,
    space: str = "log",
    prob: float = 0.95,
) -> pd.DataFrame:
    """The bpp each codec needs to match the anchor's Elo at its levels (and at ``at_bpp``).

    Parameters
    ----------
    fit
        A fitted study.
    anchor
        Reference codec (default: the fit's anchor).
    at_bpp
        Extra anchor rates (bpp): the anchor's Elo there is read from its curve by the same
        interpolation, then matched as a level's Elo is.
    levels
        Include one block of rows per anchor level (False: only ``at_bpp`` rows).
    space
        ``"log"``: ln bpp linear in Elo between levels; ``"linear"``: bpp linear in Elo.
    prob
        Central credible interval.

    Returns
    -------
    pandas.DataFrame
        One row per (anchor level or ``at_bpp`` value, other codec): ``anchor, level`` (empty
        for ``at_bpp`` rows), ``anchor_bpp`` (the level's geometric-mean bpp or the asked
        value), ``elo, elo_lo, elo_hi`` (the anchor's Elo there, points), ``codec, bpp, bpp_lo,
        bpp_hi`` (bpp the codec needs for that Elo), ``difference, difference_lo,
        difference_hi`` (percent, (bpp / anchor_bpp − 1)·100, negative = fewer bits), and
        ``reason`` where the numbers are empty: ``out_of_range in X% of draws`` when the
        codec's (or, for ``at_bpp``, the anchor's) judged levels do not reach that Elo in more
        than 5% of the draws (no extrapolation).
    """
    if space not in SPACES:
        raise ValueError(f"unknown space {space!r}; use one of {', '.join(SPACES)}")
    anchor = anchor or fit.anchor
    conditions = fit.data.conditions
    draws = fit.elo_draws()
    tail = (1.0 - prob) / 2.0

    def curve(codec: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows = conditions[conditions["codec"] == codec].sort_values("bpp")
        elo = draws[:, rows.index.to_numpy()]
        return rows["level"].to_numpy(), rows["bpp"].to_numpy(float), elo

    def rate_of(bpp: np.ndarray | float) -> np.ndarray:
        return np.log(np.asarray(bpp, float)) if space == "log" else np.asarray(bpp, float)

    def bpp_of(rate: np.ndarray) -> np.ndarray:
        return np.exp(rate) if space == "log" else rate

    anchor_levels, anchor_bpp, anchor_elo = curve(anchor)
    targets: list[tuple[int | None, float, np.ndarray]] = []
    if levels:
        targets += [
            (int(lv), float(b), anchor_elo[:, k])
            for k, (lv, b) in enumerate(zip(anchor_levels, anchor_bpp, strict=True))
        ]
    anchor_rate = np.broadcast_to(rate_of(anchor_bpp), anchor_elo.shape)

    def elo_at(anchor_curve: np.ndarray, bpp: float) -> np.ndarray:
        """The anchor's Elo at ``bpp`` in each draw (its curve read the same way)."""
        return interpolate_draws(
            anchor_rate[: len(anchor_curve)], anchor_curve, np.full(len(anchor_curve), rate_of(bpp))
        )

    if at_bpp:
        (ordered_anchor,), kept, _ = order_draws([anchor_elo])
        targets += [(None, float(bpp), elo_at(ordered_anchor[kept], bpp)) for bpp in at_bpp]
    others = [(c, *curve(c)) for c in fit.data.codecs if c != anchor]
    rows = []
    for level, bpp, target in targets:
        elo = _summary(target, tail)
        for codec, _, codec_bpp, codec_elo in others:
            if level is None:  # both curves are read: order them together
                (ordered_anchor, ordered), kept, _ = order_draws([anchor_elo, codec_elo])
                at = elo_at(ordered_anchor[kept], bpp)
            else:
                (ordered,), kept, _ = order_draws([codec_elo])
                at = anchor_elo[kept, anchor_levels.tolist().index(level)]
            needed = bpp_of(interpolate_draws(ordered[kept], rate_of(codec_bpp), at))
            found = _summary(needed, tail)
            difference = _summary((needed / bpp - 1.0) * 100.0, tail)
            reason = None
            if elo is None or found is None or difference is None:
                missing = np.isnan(needed).mean()
                reason = f"{OUT_OF_RANGE} in {missing:.0%} of draws"
            rows.append(
                [anchor, level, bpp, *(elo or (None,) * 3), codec, *(found or (None,) * 3)]
                + [*(difference or (None,) * 3), reason]
            )
    table = pd.DataFrame(rows, columns=EQUAL_QUALITY_COLUMNS)
    table["level"] = table["level"].astype("Int64")
    return table


def at_bpp_sentences(table: pd.DataFrame) -> list[str]:
    """One plain sentence per ``at_bpp`` row of :func:`equal_quality_table` (rows with no level)."""
    lines = []
    for row in table[table["level"].isna()].itertuples():
        head = f"At {row.anchor_bpp:g} bpp of {row.anchor}"
        if row.reason is not None and pd.isna(row.bpp):
            lines.append(f"{head}, {row.codec}: no number ({row.reason}).")
            continue
        more = "fewer" if row.difference < 0 else "more"
        lines.append(
            f"{head} (Elo {row.elo:.0f} [{row.elo_lo:.0f}, {row.elo_hi:.0f}]), {row.codec} needs "
            f"{row.bpp:.3g} bpp [{row.bpp_lo:.3g}, {row.bpp_hi:.3g}]: {abs(row.difference):.1f}% {more} "
            f"(95% interval {row.difference_lo:+.1f}% to {row.difference_hi:+.1f}%)."
        )
    return lines


def equal_quality_display(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`equal_quality_table` as one row per anchor level (or ``at_bpp``), one column per codec, for reading.

    Each codec's cell reads ``bpp [lo, hi], ±x% [lo, hi]``; a dash and the reason where there is no number.
    """
    if table.empty:
        return pd.DataFrame()
    anchor = table["anchor"].iloc[0]
    rows = []
    for (level, bpp), group in table.groupby(["level", "anchor_bpp"], dropna=False, sort=False):
        first = group.iloc[0]
        row = {
            f"{anchor} level": "—" if pd.isna(level) else str(level),
            f"{anchor} bpp": f"{bpp:.4g}",
            "Elo [95%]": "—"
            if pd.isna(first["elo"])
            else f"{first['elo']:.0f} [{first['elo_lo']:.0f}, {first['elo_hi']:.0f}]",
        }
        for r in group.itertuples():
            row[f"{r.codec}: bpp, difference"] = (
                f"— ({r.reason})"
                if pd.isna(r.bpp)
                else f"{r.bpp:.3g} [{r.bpp_lo:.3g}, {r.bpp_hi:.3g}], {r.difference:+.0f}% "
                f"[{r.difference_lo:+.0f}, {r.difference_hi:+.0f}]"
            )
        rows.append(row)
    return pd.DataFrame(rows)
