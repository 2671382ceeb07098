"""Figures of a fit: rate–Elo curves with credible bands, and the pairwise win-rate matrix.

Each function takes tables and returns a matplotlib ``Figure`` (no pyplot state), so tests can
check the artists and the report can embed the PNG.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from analysis.data import StudyData


def curves_figure(elo: pd.DataFrame, *, anchor: str | None = None) -> Figure:
    """Elo (points) against bpp on a log axis, one line per codec with its 95% band.

    ``elo`` is :func:`analysis.elo.elo_table` output; the anchor's line is drawn thicker.
    """
    fig = Figure(figsize=(7.0, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for codec, group in elo.groupby("codec", sort=True):
        group = group.sort_values("bpp")
        width = 2.5 if codec == anchor else 1.5
        (line,) = ax.plot(group["bpp"], group["elo"], marker="o", linewidth=width, label=codec)
        ax.fill_between(group["bpp"], group["elo_lo"], group["elo_hi"], color=line.get_color(), alpha=0.2)
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis, span=float(elo["bpp"].max() / elo["bpp"].min()))
    ax.set_xlabel("bits per pixel (geometric mean over images)")
    ax.set_ylabel("Elo (points above the anchor's lowest level)")
    ax.set_title("Rate–Elo curves, 95% credible bands")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(title="codec")
    return fig


def plain_log_ticks(axis: Axis, *, span: float = 10.0) -> None:
    """Label a log axis with plain numbers (0.1, 0.2, 0.5, 1, 2), not 2×10⁻¹.

    Ticks at 1, 2 and 5 per decade; at every integer multiple when the data ``span`` (max / min,
    a ratio) is under 4, so a narrow range still gets several labels.
    """
    subs = (1.0, 2.0, 5.0) if span >= 4.0 else tuple(float(k) for k in range(1, 10))
    axis.set_major_locator(LogLocator(base=10.0, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.10g}"))
    axis.set_minor_formatter(NullFormatter())


def win_matrix(data: StudyData) -> pd.DataFrame:
    """Observed share of wins of the row condition against the column condition (NaN: never compared).

    A tie (``winner = tie``) counts as half a win to each side.
    """
    n = len(data.conditions)
    wins = np.zeros((n, n))
    winner, loser = data.judgments["winner"].to_numpy(), data.judgments["loser"].to_numpy()
    tie = data.judgments["tie"].to_numpy(bool) if "tie" in data.judgments else np.zeros(len(winner), bool)
    np.add.at(wins, (winner, loser), np.where(tie, 0.5, 1.0))
    np.add.at(wins, (loser[tie], winner[tie]), 0.5)
    total = wins + wins.T
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, wins / total, np.nan)
    return pd.DataFrame(share, index=data.labels, columns=data.labels)


def win_matrix_figure(data: StudyData) -> Figure:
    """Heat map of :func:`win_matrix`: conditions in (codec, level) order, blank where never compared."""
    share = win_matrix(data)
    size = max(5.0, 0.32 * len(share) + 2.0)
    fig = Figure(figsize=(size + 1.0, size), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(share.to_numpy()), cmap="RdBu_r", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(share)), share.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(len(share)), share.index, fontsize=7)
    ax.set_xlabel("loser condition")
    ax.set_ylabel("winner condition")
    ax.set_title("Observed win rate of row over column")
    fig.colorbar(image, ax=ax, label="share of wins")
    return fig
