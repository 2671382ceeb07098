"""Where the rater-class model stops being identifiable: rater classes vs one shared lapse vs pooled.

For each number of raters and judgments per rater, simulates 10 studies (4 codecs × 4 levels on
the fixture's wide ladder, careful raters lapsing 3% on average, each rater a coin-flipping
spammer with probability 0.15 and at least one spammer per study with two raters or more), fits
each with the MAP preview under the three rater models and prints, per cell, the spammers
missed and falsely flagged by the classes, the mean absolute BD-rate error (percentage points)
and the share of BD-rate intervals covering the truth. The table in docs/analysis.md ("Studies
with few or no rater ids") is one run of this script; ``analysis.ratermodel``'s limits come
from it.

Run: ``.venv/bin/python benchmarks/bench_raters.py`` (about 3 minutes on one core).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis import bdrate_table, fit_study, prepare_study, rater_table, simulate_study  # noqa: E402
from analysis.errors import AnalysisError  # noqa: E402
from analysis.simulate import expected_curves  # noqa: E402

RATERS = (1, 2, 3, 5, 8, 12, 24)
PER_RATER = (25, 50, 100, 400)
STUDIES = 10
MODELS = ("classes", "shared", "pooled")


def one_study(n_raters: int, per_rater: int, seed: int) -> dict[str, float] | None:
    """Simulate one study, fit it under each rater model; None if its comparison graph is split."""
    curves = expected_curves({"jpeg": 2.0, "avif": 1.0, "vvc": 0.8, "pico": 0.6}, (0.05, 0.12, 0.3, 0.75), "avif")
    rng = np.random.default_rng(seed * 1000 + n_raters * 10 + per_rater)
    study = simulate_study(
        curves,
        anchor="avif",
        n_judgments=n_raters * per_rater,
        n_raters=n_raters,
        n_images=4,
        spammer_fraction=0.0,
        seed=seed * 7919 + n_raters * 31 + per_rater,
    )
    judgments = study.judgments.copy()
    spam = rng.random(n_raters) < 0.15
    if n_raters >= 2 and not spam.any():
        spam[rng.integers(n_raters)] = True
    for rater, is_spammer in zip(sorted(judgments["rater"].unique()), spam, strict=True):
        if is_spammer:
            rows = judgments["rater"] == rater
            judgments.loc[rows, "winner"] = np.where(rng.random(rows.sum()) < 0.5, "a", "b")
    try:
        data = prepare_study(judgments, study.manifest)
    except AnalysisError:
        return None
    out: dict[str, float] = {"raters": n_raters, "per_rater": per_rater, "spammers": int(spam.sum())}
    for model in MODELS:
        fit = fit_study(data, anchor="avif", method="map", rater_model=model)
        table = bdrate_table(fit).set_index("codec")
        truth = table.index.map(study.true_bdrate)
        defined = table["bdrate"].notna()
        out[f"{model}_error"] = float(np.abs(table["bdrate"] - truth)[defined].mean())
        covered = (table["bdrate_lo"] <= truth) & (truth <= table["bdrate_hi"])
        out[f"{model}_covered"] = float(covered[defined].mean())
        if model == "classes":
            flagged = rater_table(fit)["spammer"].to_numpy()
            out["missed"] = int((spam & ~flagged).sum())
            out["false"] = int((~spam & flagged).sum())
    return out


def main() -> None:
    rows = [
        row
        for n_raters in RATERS
        for per_rater in PER_RATER
        for seed in range(STUDIES)
        if (row := one_study(n_raters, per_rater, seed)) is not None
    ]
    frame = pd.DataFrame(rows)
    table = frame.groupby(["raters", "per_rater"]).agg(
        studies=("spammers", "size"),
        spammers=("spammers", "sum"),
        missed=("missed", "sum"),
        false_flags=("false", "sum"),
        **{f"error_{m}": (f"{m}_error", "mean") for m in MODELS},
        **{f"covered_{m}": (f"{m}_covered", "mean") for m in MODELS},
    )
    pd.set_option("display.width", 250)
    print(table.round(2).to_string())


if __name__ == "__main__":
    main()
