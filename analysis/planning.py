"""Study planning by simulation: how many judgments give a target BD-rate interval width.

For each candidate study size, studies are drawn from the expected curves (or a pilot's fitted
curves), fitted with the fast MAP + Laplace approximation, and the width of each codec's 95%
BD-rate interval is recorded. Laplace widths track the full posterior's closely for the pooled
and rater-lapse models (see docs/analysis.md); treat the answer as a planning estimate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.data import prepare_study
from analysis.elo import SamplerOptions
from analysis.fitting import fit_study
from analysis.simulate import simulate_study
from analysis.summaries import bdrate_table

DEFAULT_GRID = (5000, 10000, 20000, 40000, 80000)


def plan_study(
    curves: pd.DataFrame,
    *,
    anchor: str,
    target_width: float,
    judgments: Sequence[int] = DEFAULT_GRID,
    judgments_per_rater: int = 125,
    n_images: int = 30,
    spammer_fraction: float = 0.08,
    lapse_mean: float = 0.03,
    reps: int = 4,
    rater_terms: bool = True,
    design: str = "random",
    seed: int = 0,
) -> pd.DataFrame:
    """Simulated 95% BD-rate interval widths (percentage points) per study size and codec.

    Parameters
    ----------
    curves
        Expected condition table ``codec, level, bpp, elo`` (e.g. :func:`analysis.simulate.expected_curves`
        or ``elo_table`` of a pilot fit).
    anchor
        Codec the BD-rates are taken against.
    target_width
        Wanted width of every codec's 95% interval, in percentage points.
    judgments
        Candidate numbers of judgments; raters = judgments / ``judgments_per_rater``.
    reps
        Simulated studies per size; the median width is reported.
    design
        Pairs judged: ``"random"`` or ``"adaptive"`` (:mod:`analysis.design`, as the site runs it).

    Returns
    -------
    pandas.DataFrame
        ``judgments, raters, codec, width_median, width_max, meets_target`` and ``recommended``
        (True on the rows of the smallest size whose median widths all meet the target).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for n in judgments:
        raters = max(2, int(round(n / judgments_per_rater)))
        widths: dict[str, list[float]] = {}
        for _ in range(reps):
            study = simulate_study(
                curves,
                anchor=anchor,
                n_judgments=n,
                n_raters=raters,
                n_images=n_images,
                spammer_fraction=spammer_fraction,
                lapse_mean=lapse_mean,
                design=design,
                seed=int(rng.integers(2**31)),
            )
            data = prepare_study(study.judgments, study.manifest, validated=True)
            fit = fit_study(
                data, anchor=anchor, method="map", rater_terms=rater_terms, sampling=SamplerOptions(draws=400)
            )
            for row in bdrate_table(fit).itertuples():
                width = row.bdrate_hi - row.bdrate_lo if row.reason is None else np.inf
                widths.setdefault(row.codec, []).append(width)
        for codec, values in sorted(widths.items()):
            median = float(np.median(values))
            rows.append([n, raters, codec, median, float(np.max(values)), median <= target_width])
    plan = pd.DataFrame(rows, columns=["judgments", "raters", "codec", "width_median", "width_max", "meets_target"])
    meets = plan.groupby("judgments")["meets_target"].all()
    enough = meets[meets].index
    plan["recommended"] = plan["judgments"] == (enough.min() if len(enough) else -1)
    return plan
