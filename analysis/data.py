"""Judgments + manifest -> a validated, tidy study with integer codes.

Encoding (documented once, as in choix): conditions are the (codec, level) pairs that occur
in the judgments, numbered ``0..C-1`` in (codec, level) order; raters and images are numbered
``0..R-1`` and ``0..I-1`` in sorted order. Each judgment is stored once as ``winner`` and
``loser`` condition codes, so "A beat B" and "B lost to A" cannot disagree. A tie
(``winner = tie``) is stored with A as ``winner``, B as ``loser`` and ``tie`` true; ``side`` is
+1 where the stored winner was shown on the left, −1 on the right, 0 where ``shown_left`` is
absent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from analysis.errors import AnalysisError
from analysis.judgments import read_judgments, validate_judgments
from pico.manifest import read_manifest

METRICS = ("psnr", "ms_ssim", "ssimulacra2")


@dataclass(frozen=True)
class Exclusions:
    """Which judgments stay out of the fit, and why (the CLIC rules use telemetry).

    Attention checks and practice trials never enter the fit: they screen raters.
    """

    kinds: tuple[str, ...] = ("attention", "practice")
    min_response_ms: int | None = None
    min_switches: int | None = None
    raters: tuple[str, ...] = ()


@dataclass(frozen=True)
class StudyData:
    """A validated study ready for the model; see the module docstring for the encoding."""

    conditions: pd.DataFrame
    """One row per condition code: codec, level, bpp (geometric mean over images), metric means."""
    judgments: pd.DataFrame
    """One row per kept judgment: rater, image, winner, loser, rater_code, image_code."""
    raters: list[str]
    images: list[str]
    n_rows: int
    excluded: dict[str, int] = field(default_factory=dict)
    source: str = "judgments"

    @property
    def labels(self) -> list[str]:
        """Condition labels ``codec@level`` used as model coordinates."""
        return [f"{c}@{lv}" for c, lv in zip(self.conditions["codec"], self.conditions["level"], strict=True)]

    def index_of(self, codec: str, level: int) -> int:
        """Condition code of (codec, level); raise :class:`AnalysisError` naming what exists."""
        hit = self.conditions.index[(self.conditions["codec"] == codec) & (self.conditions["level"] == level)]
        if len(hit) == 0:
            raise AnalysisError(f"condition ({codec}, level {level}) was never judged; judged codecs: {self.codecs}")
        return int(hit[0])

    @property
    def codecs(self) -> list[str]:
        return sorted(self.conditions["codec"].unique())

    @property
    def n_ties(self) -> int:
        """Judgments answered "can't decide" (``winner = tie``)."""
        return int(self.judgments["tie"].sum()) if "tie" in self.judgments else 0

    @property
    def has_sides(self) -> bool:
        """Whether any judgment says which condition was shown on the left (``shown_left``)."""
        return "side" in self.judgments and bool(self.judgments["side"].any())


def load_study(
    judgments_path: str | os.PathLike, manifest_path: str | os.PathLike, exclusions: Exclusions | None = None
) -> StudyData:
    """Read both contract files (every problem reported with file/line/column) and prepare them."""
    manifest = read_manifest(manifest_path)
    judgments = read_judgments(judgments_path, manifest)
    return prepare_study(judgments, manifest, exclusions, source=str(judgments_path), validated=True)


def prepare_study(
    judgments: pd.DataFrame,
    manifest: pd.DataFrame,
    exclusions: Exclusions | None = None,
    *,
    source: str = "judgments",
    validated: bool = False,
) -> StudyData:
    """Validate a judgments frame against a manifest frame and encode it with integer codes.

    Parameters
    ----------
    judgments, manifest
        Frames following the judgments.csv and manifest.csv contracts (``read_judgments`` /
        ``read_manifest`` output, or the site's export).
    exclusions
        Rules that drop judgments before the fit; counts per rule land in ``excluded``.
    validated
        Skip the row checks when ``judgments`` came from :func:`read_judgments` with this manifest.
    """
    if not validated:
        validate_judgments(judgments, manifest, source=source)
    rules = exclusions or Exclusions()
    keep = np.ones(len(judgments), dtype=bool)
    excluded: dict[str, int] = {}

    def drop(reason: str, mask: np.ndarray) -> None:
        newly = mask & keep
        if newly.any():
            excluded[reason] = int(newly.sum())
        keep[newly] = False

    if "kind" in judgments.columns:
        drop("kind", judgments["kind"].isin(rules.kinds).to_numpy())
    if rules.min_response_ms is not None and "response_ms" in judgments.columns:
        ms = pd.to_numeric(judgments["response_ms"], errors="coerce")
        drop(f"response_ms < {rules.min_response_ms}", (ms < rules.min_response_ms).to_numpy())
    if rules.min_switches is not None and "switches" in judgments.columns:
        sw = pd.to_numeric(judgments["switches"], errors="coerce")
        drop(f"switches < {rules.min_switches}", (sw < rules.min_switches).to_numpy())
    if rules.raters:
        drop("excluded rater", judgments["rater"].astype(str).isin(rules.raters).to_numpy())
    kept = judgments.loc[keep]
    if kept.empty:
        raise AnalysisError(f"{source}: no judgments left to fit after exclusions {excluded or '(none)'}")

    a = list(zip(kept["a_codec"], kept["a_level"].astype(int), strict=True))
    b = list(zip(kept["b_codec"], kept["b_level"].astype(int), strict=True))
    keys = sorted(set(a) | set(b))
    code = {key: i for i, key in enumerate(keys)}
    a_code = np.array([code[k] for k in a])
    b_code = np.array([code[k] for k in b])
    tie = (kept["winner"] == "tie").to_numpy()
    a_won = (kept["winner"] == "a").to_numpy() | tie  # a tie is stored A first, flagged ``tie``
    raters = sorted(kept["rater"].astype(str).unique())
    images = sorted(kept["image"].astype(str).unique())
    tidy = pd.DataFrame(
        {
            "rater": kept["rater"].astype(str).to_numpy(),
            "image": kept["image"].astype(str).to_numpy(),
            "winner": np.where(a_won, a_code, b_code),
            "loser": np.where(a_won, b_code, a_code),
            "tie": tie,
            "side": _winner_side(kept, a_won),
        }
    )
    tidy["rater_code"] = pd.Categorical(tidy["rater"], categories=raters).codes.astype(np.int64)
    tidy["image_code"] = pd.Categorical(tidy["image"], categories=images).codes.astype(np.int64)
    _require_connected(tidy, keys, source)
    return StudyData(
        conditions=_condition_table(keys, manifest),
        judgments=tidy,
        raters=raters,
        images=images,
        n_rows=len(judgments),
        excluded=excluded,
        source=source,
    )


def _winner_side(kept: pd.DataFrame, a_won: np.ndarray) -> np.ndarray:
    """+1 where the stored winner (for a tie: A) was shown on the left, −1 on the right, 0 unknown."""
    if "shown_left" not in kept.columns:
        return np.zeros(len(kept), dtype=np.int8)
    left = kept["shown_left"].to_numpy()
    winner_left = np.where(a_won, left == "a", left == "b")
    known = (left == "a") | (left == "b")
    return np.where(known, np.where(winner_left, 1, -1), 0).astype(np.int8)


def _condition_table(keys: list[tuple[str, int]], manifest: pd.DataFrame) -> pd.DataFrame:
    """Geometric-mean bpp and mean objective metrics per condition, over all manifest images."""
    frame = manifest.copy()
    frame["level"] = frame["level"].astype(int)
    frame["log_bpp"] = np.log(frame["bpp"].astype(float))
    present = [m for m in METRICS if m in frame.columns]
    for m in present:
        frame[m] = pd.to_numeric(frame[m], errors="coerce")
    grouped = frame.groupby(["codec", "level"]).agg(log_bpp=("log_bpp", "mean"), **{m: (m, "mean") for m in present})
    rows = []
    for codec, level in keys:
        stats = grouped.loc[(codec, level)]
        row = {"codec": codec, "level": level, "bpp": float(np.exp(stats["log_bpp"]))}
        row.update({m: float(stats[m]) if m in present else float("nan") for m in METRICS})
        rows.append(row)
    return pd.DataFrame(rows)


def _require_connected(tidy: pd.DataFrame, keys: list[tuple[str, int]], source: str) -> None:
    """Elo differences are only defined within a connected comparison graph."""
    n = len(keys)
    graph = coo_matrix((np.ones(len(tidy)), (tidy["winner"], tidy["loser"])), shape=(n, n))
    count, label = connected_components(graph, directed=False)
    if count > 1:
        groups = [[f"{keys[i][0]}@{keys[i][1]}" for i in range(n) if label[i] == g] for g in range(count)]
        raise AnalysisError(
            f"{source}: conditions form {count} groups never compared with each other ({groups}); "
            "Elo differences between groups are undefined; add comparisons that link them"
        )


def win_counts(data: StudyData, *, by_rater: bool = False, by_image: bool = False) -> pd.DataFrame:
    """Aggregate judgments oriented by outcome: columns ``winner, loser``, ``count`` [, codes].

    Used where the likelihood of each judgment depends only on who won (one log per row, no
    binomial split), e.g. with rater lapses, where counts cannot be pooled across raters. When
    the study has ties or sides, rows are also keyed by ``tie`` and ``side`` (see ``prepare_study``).
    """
    t = data.judgments
    outcome = (["tie"] if data.n_ties else []) + (["side"] if data.has_sides else [])
    keys = ["winner", "loser"] + outcome + (["rater_code"] if by_rater else []) + (["image_code"] if by_image else [])
    return t.groupby(keys, sort=True).size().rename("count").reset_index()


def pair_counts(data: StudyData, *, by_rater: bool = False, by_image: bool = False) -> pd.DataFrame:
    """Aggregate judgments into binomial counts: columns ``i < j``, ``n`` trials, ``k`` wins of ``i``.

    Grouping also by rater and/or image keeps exactly the detail the chosen model terms need,
    so the likelihood has one term per unique (pair[, rater][, image]) instead of per judgment.
    """
    t = data.judgments
    i = np.minimum(t["winner"], t["loser"]).to_numpy()
    j = np.maximum(t["winner"], t["loser"]).to_numpy()
    frame = pd.DataFrame({"i": i, "j": j, "k": (t["winner"].to_numpy() == i).astype(np.int64)})
    keys = ["i", "j"]
    if by_rater:
        frame["rater_code"] = t["rater_code"].to_numpy()
        keys.append("rater_code")
    if by_image:
        frame["image_code"] = t["image_code"].to_numpy()
        keys.append("image_code")
    return frame.groupby(keys, sort=True).agg(n=("k", "size"), k=("k", "sum")).reset_index()
