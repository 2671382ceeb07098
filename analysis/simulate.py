"""Simulated studies with known truth: rate–Elo curves, BD-rates, rater lapses, image effects.

Every codec follows one quality curve shifted along log-rate: a codec with rate factor ``f``
reaches at ``f·r`` the quality the reference reaches at ``r``, so its true BD-rate against an
anchor with factor ``f_a`` is ``(f/f_a − 1)·100`` over any quality range. The curve is
``Elo(u) = 320·u − 30·u²`` with ``u = ln(bpp / f / 0.02)`` (concave, rising on the ladders used
here), and the synthetic PSNR (dB), MS-SSIM and SSIMULACRA2 curves are shifted the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from analysis.bdrate import bd_rate
from analysis.elo import ELO_PER_NAT

DEFAULT_RATE_FACTORS = {"jpeg": 2.5, "avif": 1.0, "vvc": 0.8, "pico": 0.4}
DEFAULT_LADDER = (0.1, 0.18, 0.3, 0.5, 0.8)
DEFAULT_ANCHOR = "avif"


def _u(bpp: np.ndarray, factor: float) -> np.ndarray:
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
    bpp_sd: float = 0.1,
    seed: int = 0,
) -> SimulatedStudy:
    """Draw a study from known curves: random pairs of conditions on random images.

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
    bpp_sd
        Sd of ln bpp across images per (codec); centred, so each level's geometric mean is the curve's bpp.

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
    a = rng.integers(n_cond, size=n_judgments)
    b = rng.integers(n_cond - 1, size=n_judgments)
    b += b >= a
    elo = curves["elo"].to_numpy()
    gap = (elo[a] + deviation[image, a] - elo[b] - deviation[image, b]) / ELO_PER_NAT
    p_a = lapse[rater] / 2.0 + (1.0 - lapse[rater]) * expit(gap)
    a_wins = rng.random(n_judgments) < p_a
    codec, level = curves["codec"].to_numpy(), curves["level"].to_numpy()
    judgments = pd.DataFrame(
        {
            "rater": np.array(raters)[rater],
            "image": np.array(images)[image],
            "a_codec": codec[a],
            "a_level": level[a],
            "b_codec": codec[b],
            "b_level": level[b],
            "winner": np.where(a_wins, "a", "b"),
            "kind": "trial",
            "response_ms": rng.integers(900, 6000, n_judgments),
        }
    )
    return SimulatedStudy(
        judgments=judgments,
        manifest=_manifest(curves, images, bpp_sd, rng),
        curves=curves,
        raters=pd.DataFrame({"rater": raters, "lapse": lapse, "spammer": spam}),
        anchor=anchor,
        image_elo=pd.DataFrame(
            deviation, index=images, columns=[f"{c}@{lv}" for c, lv in zip(codec, level, strict=True)]
        )
        if image_sd_elo > 0
        else None,
    )


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
