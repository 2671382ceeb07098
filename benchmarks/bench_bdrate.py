"""Benchmark BD-rates from every posterior draw, their fragility, and the equal-quality table.

Parts (``--parts``):

- ``flat``: coverage of 95% BD-rate intervals over many small simulated studies whose codecs have
  two near-equal lowest levels (``near_equal_levels``), MAP preview without rater terms and
  without lapses (so the model is true), for three ways of handling draws whose curves do not
  rise: keep only the rising draws (the posterior under a prior restricted to rising curves,
  the default), project each draw onto rising curves, and the old rule (no number when > 5% of
  draws fall);
- ``fragility``: fragility of every BD-rate and the split-half reliability at the paper's scale
  (75,000 judgments, 600 raters), timed next to the MAP preview of the same study (the anchor);
- ``interp``: error of the equal-quality bpp when interpolating ln bpp or bpp linearly in Elo
  between levels, on the simulation's true curves.

Run: ``.venv/bin/python benchmarks/bench_bdrate.py`` (about 2 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.bdrate import bd_rate_posterior, rising  # noqa: E402
from analysis.data import prepare_study  # noqa: E402
from analysis.elo import SamplerOptions  # noqa: E402
from analysis.equality import interpolate_draws  # noqa: E402
from analysis.fitting import fit_study  # noqa: E402
from analysis.fragility import fragility_table, split_half_reliability  # noqa: E402
from analysis.simulate import _elo, _u, expected_curves, near_equal_levels, simulate_study  # noqa: E402

FLAT_FACTORS = {"jpeg": 2.0, "avif": 1.0, "webp": 1.4}
FLAT_LADDER = (0.06, 0.12, 0.24, 0.48, 0.96)
FLAT_GAPS = {"avif": 5.0, "webp": 5.0}
"""Elo between the two lowest levels of avif and webp: a study of this size cannot order them."""


def flat_coverage(studies: int, judgments: int, gap: float) -> None:
    gaps = {codec: gap for codec in FLAT_GAPS}
    curves = near_equal_levels(expected_curves(FLAT_FACTORS, FLAT_LADDER), gaps)
    rows = []
    for seed in range(studies):
        study = simulate_study(
            curves,
            n_judgments=judgments,
            n_raters=judgments // 125,
            n_images=4,
            spammer_fraction=0.0,
            lapse_mean=0.001,
            seed=seed,
        )
        data = prepare_study(study.judgments, study.manifest, validated=True)
        fit = fit_study(
            data, anchor="avif", method="map", rater_terms=False, sampling=SamplerOptions(draws=1000, seed=seed)
        )
        draws, conditions = fit.elo_draws(), data.conditions
        anchor = conditions.index[conditions["codec"] == "avif"].to_numpy()
        for codec, truth in study.true_bdrate.items():
            test = conditions.index[conditions["codec"] == codec].to_numpy()
            args = (conditions.loc[anchor, "bpp"], draws[:, anchor], conditions.loc[test, "bpp"], draws[:, test])
            falling = np.mean(
                np.any(np.diff(draws[:, anchor], axis=1) <= 0, axis=1)
                | np.any(np.diff(draws[:, test], axis=1) <= 0, axis=1)
            )
            for method, order in (
                ("restrict to rising (default)", "restrict"),
                ("project each draw", "project"),
                ("old rule (≤ 5% falling)", "none"),
            ):
                s = bd_rate_posterior(*args, order=order)
                row = {"codec": codec, "method": method, "falling": falling, "defined": s.bdrate is not None}
                if s.bdrate is not None and s.lo is not None and s.hi is not None:
                    row.update(
                        error=s.bdrate - truth, covered=float(s.lo <= truth <= s.hi), half_width=(s.hi - s.lo) / 2
                    )
                rows.append(row)
    table = pd.DataFrame(rows)
    print(
        f"\nnear-flat studies: {studies} studies × {judgments} judgments, avif and webp with two lowest levels "
        f"{gap:g} Elo apart; true BD-rates vs avif: "
        + ", ".join(f"{c} {v:+.1f}%" for c, v in study.true_bdrate.items())
    )
    print(f"    share of draws with a falling curve: mean {table['falling'].mean():.0%} per study and codec")
    for (codec, method), group in table.groupby(["codec", "method"], sort=False):
        e = group["error"].dropna()
        print(
            f"    {codec:5s} {method:28s}: number in {group['defined'].mean():4.0%} of studies; "
            f"mean error {e.mean():+5.1f} pp, RMS {np.sqrt((e**2).mean()):4.1f} pp, "
            f"95% interval half-width {group['half_width'].mean():4.1f} pp, covers truth {group['covered'].mean():.0%}"
            if len(e)
            else f"    {codec:5s} {method:28s}: number in 0% of studies"
        )


def fragility_timing(seed: int) -> None:
    warm = simulate_study(n_judgments=2000, n_raters=16, seed=seed)  # numba cache and lazy imports, not timed
    fragility_table(fit_study(prepare_study(warm.judgments, warm.manifest), anchor=warm.anchor, method="map"))
    study = simulate_study(n_judgments=75000, n_raters=600, n_images=30, seed=seed)
    data = prepare_study(study.judgments, study.manifest, validated=True)
    start = time.perf_counter()
    fit = fit_study(data, anchor=study.anchor, method="map", sampling=SamplerOptions(draws=1000))
    anchor_s = time.perf_counter() - start
    start = time.perf_counter()
    table = fragility_table(fit)
    fragility_s = time.perf_counter() - start
    start = time.perf_counter()
    split = split_half_reliability(fit)
    split_s = time.perf_counter() - start
    print(f"\npaper scale (75,000 judgments, 600 raters, random pairs, seed {seed}):")
    print(f"    anchor: MAP preview with rater classes {anchor_s:.2f} s")
    print(
        f"    fragility of all {len(table)} BD-rates: {fragility_s:.2f} s = {fragility_s / anchor_s:.1f}× the MAP "
        f"preview (goal ≤ 10 s); refits {int(table['refits'].sum())}"
    )
    for row in table.itertuples():
        print(
            f"        {row.codec}: MAP BD-rate {row.map_bdrate:+.1f}%, sign flips after removing "
            f"{row.fragility} of {len(data.judgments):,} judgments ({row.fragility_share:.2%})"
        )
    draws, conditions = fit.elo_draws(), data.conditions
    anchor_up = rising(draws[:, conditions.index[conditions["codec"] == study.anchor]])
    falling = {
        codec: 1.0 - float(np.mean(anchor_up & rising(draws[:, conditions.index[conditions["codec"] == codec]])))
        for codec in study.true_bdrate
    }
    print(
        "    draws left out by the ordering (a curve falls): " + ", ".join(f"{c} {v:.1%}" for c, v in falling.items())
    )
    assert split is not None
    print(
        f"    split-half reliability ({split.repeats} splits): {split_s:.2f} s = {split_s / anchor_s:.1f}× the MAP "
        f"preview; r = {split.pearson:.4f} [{split.pearson_min:.4f}, {split.pearson_max:.4f}], Spearman–Brown "
        f"{split.spearman_brown:.4f}, RMS difference {split.rms_difference:.1f} Elo"
    )


def interpolation_error() -> None:
    """Equal-quality bpp from the true levels, by both interpolations, against the true curve."""
    curves = expected_curves()
    anchor = curves[curves["codec"] == "avif"]
    print("\nequal-quality bpp from the true levels (default ladder) vs the true curve, relative error:")
    for space in ("log", "linear"):
        errors = []
        for codec, group in curves.groupby("codec"):
            if codec == "avif":
                continue
            factor = float(group["rate_factor"].iloc[0])
            q = (_elo(_u(group["bpp"].to_numpy(), factor)))[None, :]
            rate = np.log(group["bpp"].to_numpy()) if space == "log" else group["bpp"].to_numpy()
            for bpp in anchor["bpp"]:
                target = _elo(_u(bpp, 1.0))
                got = interpolate_draws(q, rate, np.array([target]))[0]
                got = np.exp(got) if space == "log" else got
                exact = bpp * factor  # the codec reaches the anchor's quality at factor × the anchor's bpp
                if not np.isnan(got):
                    errors.append(got / exact - 1.0)
        e = np.abs(errors) * 100
        print(f"    {space:6s} bpp: mean |error| {e.mean():.2f}%, max {e.max():.2f}% ({len(e)} points)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="flat,fragility,interp")
    parser.add_argument("--studies", type=int, default=200)
    parser.add_argument("--judgments", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--gap", type=float, default=FLAT_GAPS["avif"], help="Elo between the near-equal levels")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    print(f"bench_bdrate: {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"load average at start: {os.getloadavg()}")
    if "flat" in parts:
        start = time.perf_counter()
        flat_coverage(args.studies, args.judgments, args.gap)
        print(f"    ({time.perf_counter() - start:.0f} s)")
    if "fragility" in parts:
        fragility_timing(args.seed)
    if "interp" in parts:
        interpolation_error()
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
