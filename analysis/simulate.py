"""Simulated studies with known truth: rate–Elo curves, BD-rates, rater lapses, image effects.

Every codec follows one quality curve shifted along log-rate: a codec with rate factor ``f``
reaches at ``f·r`` the quality the reference reaches at ``r``, so its true BD-rate against an
anchor with factor ``f_a`` is ``(f/f_a − 1)·100`` over any quality range. The curve is
``Elo(u) = 320·u − 30·u²`` with ``u = ln(bpp / f / 0.02)`` (concave, rising on the ladders used
here), and the synthetic PSNR (dB), MS-SSIM and SSIMULACRA2 curves are shifted the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from analysis.bdrate import bd_rate
from analysis.design import base_allocation, optimal_allocation, refresh_due
from analysis.elo import ELO_PER_NAT, SamplerOptions, elo_table
from analysis.errors import AnalysisError

DEFAULT_RATE_FACTORS = {"jpeg": 2.5, "avif": 1.0, "vvc": 0.8, "pico": 0.4}
DEFAULT_LADDER = (0.1, 0.18, 0.3, 0.5, 0.8)
DEFAULT_ANCHOR = "avif"
DESIGNS = ("random", "adaptive")


def _u(bpp: float | np.ndarray, factor: float) -> np.ndarray:
    return np.log(np.asarray(bpp, float) / factor / 0.02)


def _elo(u: np.ndarray) -> np.ndarray:
    return 320.0 * u - 30.0 * u**2


def expected_curves(
    rate_factors: Mapping[str, float] = DEFAULT_RATE_FACTORS,
    ladder: Sequence[float] = DEFAULT_LADDER,
    anchor: str = DEFAULT_ANCHOR,
) -> pd.DataFrame:
    """Condition table ``codec, level, bpp, elo, rate_factor`` with Elo relative to the anchor's level 0."""
    rows = [
        {"codec": codec, "level": level, "bpp": float(bpp), "elo": float(_elo(_u(bpp, f))), "rate_factor": f}
        for codec, f in rate_factors.items()
        for level, bpp in enumerate(ladder)
    ]
    table = pd.DataFrame(rows).sort_values(["codec", "level"]).reset_index(drop=True)
    zero = table.loc[(table["codec"] == anchor) & (table["level"] == 0), "elo"].iloc[0]
    table["elo"] -= zero
    return table


def curve_bd_rates(curves: pd.DataFrame, anchor: str) -> dict[str, float]:
    """BD-rate (percent) of each codec's curve in ``curves`` against ``anchor`` (PCHIP on its points)."""
    ref = curves[curves["codec"] == anchor].sort_values("level")
    out = {}
    for codec, group in curves.groupby("codec"):
        if codec != anchor:
            group = group.sort_values("level")
            out[codec] = bd_rate(ref["bpp"], ref["elo"], group["bpp"], group["elo"])
    return out


@dataclass(frozen=True)
class SimulatedStudy:
    """Judgments and manifest frames (contract columns) plus the truth they were drawn from."""

    judgments: pd.DataFrame
    manifest: pd.DataFrame
    curves: pd.DataFrame
    """True population Elo per condition: ``codec, level, bpp, elo[, rate_factor]``."""
    raters: pd.DataFrame
    """True ``rater, lapse, spammer``."""
    anchor: str
    image_elo: pd.DataFrame | None = None
    """True image × condition deviations (Elo; rows images, columns condition labels), if any."""
    tie_even: float = 0.0
    """True τ₀: an attentive rater's probability of a tie on an evenly matched pair (Davidson)."""
    side_bias_elo: float = 0.0
    """True side bias: Elo points added to the condition shown on the left."""

    @property
    def true_bdrate(self) -> dict[str, float]:
        """BD-rate of the true curves at the study's points (what the estimator targets), percent."""
        return curve_bd_rates(self.curves, self.anchor)


def simulate_study(
    curves: pd.DataFrame | None = None,
    *,
    anchor: str = DEFAULT_ANCHOR,
    n_judgments: int = 3000,
    n_raters: int = 24,
    n_images: int = 6,
    spammer_fraction: float = 0.08,
    lapse_mean: float = 0.03,
    image_sd_elo: float = 0.0,
    tie_even: float = 0.0,
    side_bias_elo: float = 0.0,
    shown_left: bool = False,
    bpp_sd: float = 0.1,
    design: str = "random",
    seed: int = 0,
) -> SimulatedStudy:
    """Draw a study from known curves: pairs of conditions on random images, random or adaptive.

    Parameters
    ----------
    curves
        True condition table (``codec, level, bpp, elo``), default :func:`expected_curves`.
    n_judgments, n_raters, n_images
        Study size; judgments are spread evenly over raters.
    spammer_fraction
        Share of raters who answer at random with lapse ~ Uniform(0.85, 1).
    lapse_mean
        Mean lapse of the other raters (Beta(1, 1/mean − 1)).
    image_sd_elo
        Sd (Elo points) of image × condition deviations, centred over images per condition.
    tie_even
        τ₀ in [0, 1): probability that a rater answers "can't decide" (``winner = tie``) on an
        evenly matched pair, by Davidson's model with ν = 2τ₀/(1 − τ₀); a random answer (lapse,
        spammer) is a tie with probability τ₀ too. 0: forced choice, as before.
    side_bias_elo
        Elo points added to the condition shown on the left (sides at random); implies ``shown_left``.
    shown_left
        Write the ``shown_left`` column (sides drawn from their own random stream, so the rest of
        the study is the same draw with or without it).
    bpp_sd
        Sd of ln bpp across images per (codec); centred, so each level's geometric mean is the curve's bpp.
    design
        ``"random"``: every pair of conditions equally often; ``"adaptive"``: as the site's
        adaptive design (:mod:`analysis.design`), refitting a MAP preview as judgments come in.

    Returns
    -------
    SimulatedStudy
    """
    rng = np.random.default_rng(seed)
    curves = (expected_curves() if curves is None else curves).sort_values(["codec", "level"]).reset_index(drop=True)
    n_cond = len(curves)
    images = [f"img{m:02d}" for m in range(n_images)]
    raters = [f"r{r:04d}" for r in range(n_raters)]

    spam = np.zeros(n_raters, dtype=bool)
    spam[rng.choice(n_raters, int(round(spammer_fraction * n_raters)), replace=False)] = True
    lapse = np.where(spam, rng.uniform(0.85, 1.0, n_raters), rng.beta(1.0, 1.0 / lapse_mean - 1.0, n_raters))

    deviation = rng.normal(0.0, image_sd_elo, (n_images, n_cond)) if image_sd_elo > 0 else np.zeros((n_images, n_cond))
    deviation -= deviation.mean(axis=0, keepdims=True)
    rater = np.repeat(np.arange(n_raters), -(-n_judgments // n_raters))[:n_judgments]
    image = rng.integers(n_images, size=n_judgments)
    rater_labels, image_labels = np.array(raters)[rater], np.array(images)[image]
    elo = curves["elo"].to_numpy()

    if not 0.0 <= tie_even < 1.0:
        raise ValueError(f"tie_even must be in [0, 1), got {tie_even}")
    nu = 2.0 * tie_even / (1.0 - tie_even)
    sides = shown_left or side_bias_elo != 0.0
    a_left = np.random.default_rng([seed, 1]).random(n_judgments) < 0.5 if sides else None

    def judge(a: np.ndarray, b: np.ndarray, rows: slice) -> np.ndarray:
        """Outcome of each judgment: 1 A wins, 0 B wins, 2 tie."""
        gap = (elo[a] + deviation[image[rows], a] - elo[b] - deviation[image[rows], b]) / ELO_PER_NAT
        if a_left is not None:
            gap = gap + np.where(a_left[rows], 1.0, -1.0) * side_bias_elo / ELO_PER_NAT
        lam = lapse[rater[rows]]
        if nu == 0.0:
            p_a = lam / 2.0 + (1.0 - lam) * expit(gap)
            return (rng.random(len(a)) < p_a).astype(np.int8)
        p_a, p_b = _davidson(gap, nu)
        p_a, p_b = lam / (2.0 + nu) + (1.0 - lam) * p_a, lam / (2.0 + nu) + (1.0 - lam) * p_b
        u = rng.random(len(a))
        return np.where(u < p_a, 1, np.where(u < p_a + p_b, 0, 2)).astype(np.int8)

    if design == "random":
        a = rng.integers(n_cond, size=n_judgments)
        b = rng.integers(n_cond - 1, size=n_judgments)
        b += b >= a
        a_wins = judge(a, b, slice(None))
        manifest = None
    elif design == "adaptive":
        manifest = _manifest(curves, images, bpp_sd, rng)
        a, b, a_wins = _adaptive_pairs(curves, anchor, manifest, rater_labels, image_labels, judge, rng)
    else:
        raise ValueError(f"unknown design {design!r}; use one of {', '.join(DESIGNS)}")
    codec, level = curves["codec"].to_numpy(), curves["level"].to_numpy()
    judgments = _judgment_frame(curves, rater_labels, image_labels, a, b, a_wins)
    judgments["response_ms"] = rng.integers(900, 6000, n_judgments)
    if a_left is not None:
        judgments["shown_left"] = np.where(a_left, "a", "b")
    return SimulatedStudy(
        judgments=judgments,
        manifest=_manifest(curves, images, bpp_sd, rng) if manifest is None else manifest,
        curves=curves,
        raters=pd.DataFrame({"rater": raters, "lapse": lapse, "spammer": spam}),
        anchor=anchor,
        image_elo=pd.DataFrame(
            deviation, index=images, columns=[f"{c}@{lv}" for c, lv in zip(codec, level, strict=True)]
        )
        if image_sd_elo > 0
        else None,
        tie_even=tie_even,
        side_bias_elo=side_bias_elo,
    )


def _davidson(gap: np.ndarray, nu: float) -> tuple[np.ndarray, np.ndarray]:
    """Davidson's P(A wins), P(B wins) at gap (nats) A − B and tie parameter ν; P(tie) is the rest."""
    e = np.exp(-0.5 * np.abs(gap))
    big, small = 1.0 / (1.0 + e * e + nu * e), e * e / (1.0 + e * e + nu * e)
    return np.where(gap >= 0, big, small), np.where(gap >= 0, small, big)


def _judgment_frame(
    curves: pd.DataFrame, rater: np.ndarray, image: np.ndarray, a: np.ndarray, b: np.ndarray, a_wins: np.ndarray
) -> pd.DataFrame:
    codec, level = curves["codec"].to_numpy(), curves["level"].to_numpy()
    return pd.DataFrame(
        {
            "rater": rater,
            "image": image,
            "a_codec": codec[a],
            "a_level": level[a],
            "b_codec": codec[b],
            "b_level": level[b],
            "winner": np.array(["b", "a", "tie"])[np.asarray(a_wins, dtype=np.int8)],
            "kind": "trial",
        }
    )


def _adaptive_pairs(
    curves: pd.DataFrame,
    anchor: str,
    manifest: pd.DataFrame,
    rater: np.ndarray,
    image: np.ndarray,
    judge: Callable[[np.ndarray, np.ndarray, slice], np.ndarray],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs as a live study with the adaptive design draws them: :func:`analysis.design.base_allocation`
    for the pilot, then :func:`analysis.design.optimal_allocation` from a MAP preview of the
    judgments so far, recomputed on the site's schedule (:func:`analysis.design.refresh_due`);
    raters arrive one after another."""
    from analysis.data import prepare_study
    from analysis.fitting import fit_study

    n, n_cond = len(rater), len(curves)
    a, b, a_wins = np.zeros(n, int), np.zeros(n, int), np.zeros(n, np.int8)
    index = {key: k for k, key in enumerate(zip(curves["codec"], curves["level"], strict=True))}

    def pairs_of(allocation: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Rows of ``curves`` on each side of the allocation's pairs, and their shares."""
        sides = [
            [index[key] for key in zip(allocation[f"codec_{s}"], allocation[f"level_{s}"], strict=True)] for s in "ab"
        ]
        return np.column_stack(sides), allocation["share"].to_numpy()

    (pairs, shares), last, start = pairs_of(base_allocation(curves)), None, 0
    while start < n:
        stop = start + 1
        while stop < n and not refresh_due(stop, last, n_cond):
            stop += 1
        chosen = pairs[rng.choice(len(pairs), size=stop - start, p=shares)]
        flip = rng.random(stop - start) < 0.5
        a[start:stop] = np.where(flip, chosen[:, 1], chosen[:, 0])
        b[start:stop] = np.where(flip, chosen[:, 0], chosen[:, 1])
        a_wins[start:stop] = judge(a[start:stop], b[start:stop], slice(start, stop))
        start = last = stop
        if stop < n:
            seen = _judgment_frame(curves, rater[:stop], image[:stop], a[:stop], b[:stop], a_wins[:stop])
            fit = fit_study(
                prepare_study(seen, manifest, validated=True),
                anchor=anchor,
                method="map",
                sampling=SamplerOptions(draws=200),
            )
            table = elo_table(fit)
            if len(table) == n_cond:  # every condition placed; else the current design goes on
                pairs, shares = pairs_of(optimal_allocation(table, anchor))
    return a, b, a_wins


def _manifest(curves: pd.DataFrame, images: list[str], bpp_sd: float, rng: np.random.Generator) -> pd.DataFrame:
    """Manifest rows; one ln-bpp offset per (image, codec) keeps levels ascending on every image."""
    factors = curves["rate_factor"] if "rate_factor" in curves else pd.Series(1.0, index=curves.index)
    rows = []
    for codec, group in curves.groupby("codec"):
        offset = rng.normal(0.0, bpp_sd, len(images))
        offset -= offset.mean()
        factor = float(factors[group.index[0]])
        for m, image in enumerate(images):
            for level, bpp in zip(group["level"], group["bpp"], strict=True):
                actual = float(bpp * np.exp(offset[m]))
                u = float(_u(actual, factor))
                rows.append(
                    {
                        "image": image,
                        "codec": codec,
                        "level": int(level),
                        "bpp": actual,
                        "path": f"{image}/{codec}-{level}.png",
                        "psnr": 22.0 + 3.5 * u,
                        "ms_ssim": 1.0 - 0.25 * np.exp(-0.5 * u),
                        "ssimulacra2": 10.0 + 15.0 * u,
                    }
                )
    return pd.DataFrame(rows)


def near_equal_levels(curves: pd.DataFrame, gaps: Mapping[str, float], anchor: str = DEFAULT_ANCHOR) -> pd.DataFrame:
    """Move each named codec's lowest level up its true curve to ``gap`` Elo below its next level.

    Parameters
    ----------
    curves
        :func:`expected_curves` output (needs ``rate_factor``).
    gaps
        Codec → Elo points between its two lowest levels (e.g. ``{"jpeg": 10}``); the lowest
        level's bpp rises to where the codec's curve is that far below level 1, so the truth
        stays on the codec's curve (its BD-rate changes little) but a study can hardly order
        the two levels: many posterior draws swap them.
    anchor
        Codec whose level 0 is 0 Elo (the table is shifted again if it is moved).

    Returns
    -------
    pandas.DataFrame
        A new condition table, same columns.
    """
    table = curves.copy()
    for codec, gap in gaps.items():
        rows = table.index[table["codec"] == codec]
        if len(rows) < 2 or "rate_factor" not in table:
            raise AnalysisError(f"near-equal levels need a codec of the study with ≥ 2 levels: {codec!r}")
        levels = table.loc[rows].sort_values("level")
        lowest, second = levels.index[0], levels.index[1]
        factor = float(table.loc[second, "rate_factor"])
        target = float(_elo(_u(table.loc[second, "bpp"], factor))) - gap
        u = (320.0 - np.sqrt(320.0**2 - 120.0 * target)) / 60.0  # the rising root of 320u − 30u² = target
        table.loc[lowest, "bpp"] = float(factor * 0.02 * np.exp(u))
        table.loc[lowest, "elo"] = table.loc[second, "elo"] - gap
    zero = table.loc[
        (table["codec"] == anchor) & (table["level"] == table.loc[table["codec"] == anchor, "level"].min())
    ]
    return table.assign(elo=table["elo"] - float(zero["elo"].iloc[0]))
