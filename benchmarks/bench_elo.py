"""Benchmark the Elo fit at the PICO paper's scale; prints times, diagnostics and recovery.

Scale: 75,000 judgments, 600 raters (8% spammers), 4 codecs × 5 levels, 30 images with image
× condition deviations (sd 40 Elo); pairs from the site's adaptive design (``--design``) unless
told otherwise. Parts (``--parts``): ``map`` (MAP previews; with rater classes also the
fragility of every BD-rate, timed next to the preview), ``seeds`` (BD-rate recovery over
many simulated studies with random and with adaptive pairs, MAP fits), ``pooled`` (nutpie, no
rater/image terms; then again from the judgments with the compiled model reused, as the site
refits), ``full`` (nutpie, rater lapses + image deviations; then again with the compiled model
reused, checking that the draws are identical) and ``pymc`` (PyMC's NUTS on the same full model
with the same chains, tuning and draws). The run ends with issue #17's goals, each figure next
to an anchor measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_elo.py`` (about 7 minutes on 2 quiet cores: the 40
simulated studies of ``seeds`` and PyMC's own sampler take most of it) or pick parts, e.g.
``--parts map,pooled``; ``--lineup paper`` for codecs like the paper's.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from tqdm import tqdm  # noqa: E402

from analysis.data import prepare_study  # noqa: E402
from analysis.elo import ELO_PER_NAT, EloFit, SamplerOptions  # noqa: E402
from analysis.fitting import fit_study  # noqa: E402
from analysis.fragility import fragility_table  # noqa: E402
from analysis.raters import rater_table  # noqa: E402
from analysis.simulate import DESIGNS, SimulatedStudy, expected_curves, simulate_study  # noqa: E402
from analysis.summaries import bdrate_table  # noqa: E402

IMAGE_SD_ELO = 40.0
LINEUPS = {"default": None, "paper": {"avif": 1.0, "vvc": 0.8, "jpeg-ai": 0.7, "pico": 0.4}}
"""Rate factors: the default jpeg/avif/vvc/pico (jpeg +150% vs avif), or a line-up like the paper's
(every other codec within 30% of the anchor, pico about 2.5x better)."""


def recovery(fit: EloFit, study: SimulatedStudy) -> str:
    """BD-rate errors vs truth (percentage points) and whether each 95% interval holds the truth."""
    parts = []
    for row in bdrate_table(fit).itertuples():
        truth = study.true_bdrate[row.codec]
        if row.reason is not None:
            parts.append(f"{row.codec}: {row.reason} (truth {truth:+.1f}%)")
            continue
        inside = "in" if row.bdrate_lo <= truth <= row.bdrate_hi else "OUT"
        parts.append(
            f"{row.codec}: {row.bdrate:+.1f}% [{row.bdrate_lo:+.1f}, {row.bdrate_hi:+.1f}] truth {truth:+.1f}% "
            f"err {row.bdrate - truth:+.1f} pp, truth {inside}"
        )
    return "\n    ".join(parts)


def paper_study(curves: pd.DataFrame | None, design: str, seed: int) -> SimulatedStudy:
    """A study at the paper's scale: 75,000 judgments by 600 raters (8% spammers) on 30 images."""
    return simulate_study(
        curves, n_judgments=75000, n_raters=600, n_images=30, image_sd_elo=IMAGE_SD_ELO, design=design, seed=seed
    )


def recovery_over_seeds(curves: pd.DataFrame | None, design: str, seeds: int) -> None:
    """One study is one draw of the data: show the spread of BD-rate errors over many (MAP fits)."""
    rows = []
    for seed in tqdm(range(seeds), desc=f"{design} studies", leave=False):
        study = paper_study(curves, design, 100 + seed)
        data = prepare_study(study.judgments, study.manifest, validated=True)
        fit = fit_study(data, anchor=study.anchor, method="map", sampling=SamplerOptions(draws=1000, seed=seed))
        for row in bdrate_table(fit).itertuples():
            if row.reason is None:
                truth = study.true_bdrate[row.codec]
                rows.append(
                    {
                        "codec": row.codec,
                        "error": row.bdrate - truth,
                        "half_width": (row.bdrate_hi - row.bdrate_lo) / 2,
                        "covered": row.bdrate_lo <= truth <= row.bdrate_hi,
                    }
                )
    table = pd.DataFrame(rows).groupby("codec")
    print(f"\nBD-rate recovery over {seeds} simulated paper-scale studies, {design} pairs (MAP with rater classes):")
    for codec, group in table:
        error = group["error"]
        print(
            f"    {codec}: mean error {error.mean():+.1f} pp, RMS {np.sqrt((error**2).mean()):.1f} pp, "
            f"max |error| {error.abs().max():.1f} pp, within ±3 pp {(error.abs() <= 3).mean():.0%}, "
            f"95% interval half-width {group['half_width'].mean():.1f} pp, covers truth {group['covered'].mean():.0%} "
            f"({len(group)} fits)"
        )


def spammers(fit: EloFit, study: SimulatedStudy) -> str:
    table = rater_table(fit).merge(study.raters, on="rater", suffixes=("", "_true"))
    found = int((table["spammer"] & table["spammer_true"]).sum())
    false = int((table["spammer"] & ~table["spammer_true"]).sum())
    return f"spammers flagged {found}/{int(table['spammer_true'].sum())}, false flags {false}/{len(table)}"


def terms_recovery(fit: EloFit, study: SimulatedStudy, image_sd_elo: float) -> str:
    """Attentive lapse λ₀ vs the attentive raters' true mean lapse; image terms vs the true deviations."""
    post = fit.idata["posterior"]
    lo, mid, hi = np.quantile(post["lapse0"].to_numpy(), [0.025, 0.5, 0.975])
    attentive = study.raters.loc[~study.raters["spammer"], "lapse"].mean()
    parts = [f"lapse0 {mid:.3f} [{lo:.3f}, {hi:.3f}] vs attentive raters' true mean {attentive:.3f}"]
    if "image_elo" in post and study.image_elo is not None:
        lo, mid, hi = np.quantile(post["image_sd"].to_numpy() * ELO_PER_NAT, [0.025, 0.5, 0.975])
        estimate = post["image_elo"].mean(("chain", "draw")).to_pandas()
        truth = study.image_elo.loc[estimate.index, estimate.columns]
        truth = truth.sub(truth.mean(axis=1), axis=0)
        corr = np.corrcoef(estimate.to_numpy().ravel(), truth.to_numpy().ravel())[0, 1]
        parts.append(
            f"image_sd {mid:.1f} [{lo:.1f}, {hi:.1f}] Elo vs true {image_sd_elo:.0f}; "
            f"image × condition deviations: correlation {corr:.3f} with the truth"
        )
    return "; ".join(parts)


def diagnostics(fit: EloFit) -> str:
    d = fit.diagnostics
    if d is None:
        return f"no convergence checks ({fit.method} fit)"
    verdict = "converged" if d.converged else "NOT converged: " + "; ".join(d.problems)
    return f"R-hat max {d.rhat_max:.4f}, bulk ESS min {d.ess_bulk_min:.0f}, divergences {d.divergences} ({verdict})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="map,seeds,pooled,full,pymc")
    parser.add_argument("--seeds", type=int, default=20, help="simulated studies for the recovery spread")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--pooled-draws", type=int, default=1000, help="the pooled model is cheap: sample it fully")
    parser.add_argument("--pooled-tune", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--design", choices=DESIGNS, default="adaptive", help="pair design of the benchmark study")
    parser.add_argument(
        "--lineup",
        choices=sorted(LINEUPS),
        default="default",
        help="codecs' rate factors: jpeg/avif/vvc/pico or the paper's",
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    cores = min(os.cpu_count() or 1, args.chains)
    print(f"bench_elo: {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores visible")
    print(f"load average at start: {os.getloadavg()}")

    start = time.perf_counter()
    rate_factors = LINEUPS[args.lineup]
    curves = expected_curves(rate_factors) if rate_factors else None
    study = paper_study(curves, args.design, args.seed)
    simulated = time.perf_counter() - start
    start = time.perf_counter()
    data = prepare_study(study.judgments, study.manifest)
    encode_s = time.perf_counter() - start
    print(f"study: {args.lineup} line-up, {args.design} pair design (seed {args.seed})")
    print(f"simulate {simulated:.1f} s; validate + encode 75,000 judgments {encode_s:.1f} s")
    print(f"true BD-rates vs {study.anchor}: " + ", ".join(f"{c} {v:+.1f}%" for c, v in study.true_bdrate.items()))

    summary: list[str] = []  # the preview's figures, listed after the fits' at the end
    if "map" in parts:
        # Untimed warm-up: the first preview in a process pays its lazy imports (and, after an edit of the
        # kernel, numba's compile of it); the site's preview runs in a warm worker.
        fit_study(data, anchor=study.anchor, method="map", rater_terms=False, sampling=SamplerOptions(draws=10))
        for rater_terms, label in ((False, "pooled"), (True, "rater classes")):
            start = time.perf_counter()
            fit = fit_study(
                data, anchor=study.anchor, method="map", rater_terms=rater_terms, sampling=SamplerOptions(draws=1000)
            )
            map_s = time.perf_counter() - start
            print(f"\nMAP preview ({label}): {map_s:.2f} s (goal < 1 s)")
            print("    " + recovery(fit, study))
            if rater_terms:
                print("    " + spammers(fit, study))
                start = time.perf_counter()
                table = fragility_table(fit)
                fragility_s = time.perf_counter() - start
                counts = ", ".join(f"{r.codec} {r.fragility}" for r in table.itertuples())
                print(
                    f"    fragility of every BD-rate (judgments that flip its sign: {counts}): {fragility_s:.2f} s "
                    f"= {fragility_s / map_s:.1f}× this MAP preview (goal ≤ 10 s)"
                )
                summary.append(
                    f"fragility of every BD-rate {fragility_s:.1f} s (goal ≤ 10 s) = {fragility_s / map_s:.0f}× the MAP preview"
                )
            summary.append(
                f"MAP preview ({label}) {map_s:.2f} s (goal ≤ 1 s) = {map_s / encode_s:.2f}× validating + encoding the judgments"
            )

    if "seeds" in parts:
        for design in DESIGNS:
            recovery_over_seeds(curves, design, args.seeds)

    full_sampling = SamplerOptions(draws=args.draws, tune=args.tune, chains=args.chains, cores=cores)
    pooled_sampling = replace(full_sampling, draws=args.pooled_draws, tune=args.pooled_tune)

    goals: list[str] = []
    if "pooled" in parts:
        fit = fit_study(data, anchor=study.anchor, rater_terms=False, sampling=pooled_sampling)
        t = fit.timings
        cold = t["compile_s"] + t["sample_s"]
        print(
            f"\npooled NUTS (nutpie), {args.chains} chains × ({args.pooled_tune} tune + {args.pooled_draws} draws): "
            f"compile {t['compile_s']:.1f} s + sample {t['sample_s']:.1f} s = {cold:.1f} s (goal < 10 s)"
        )
        print(f"    {diagnostics(fit)}")
        print("    " + recovery(fit, study))
        # The site refits a study again and again: from the judgments to the posterior, the compiled model reused.
        start = time.perf_counter()
        warm_fit = fit_study(
            prepare_study(study.judgments, study.manifest),
            anchor=study.anchor,
            rater_terms=False,
            sampling=pooled_sampling,
        )
        warm = time.perf_counter() - start
        print(
            f"    again, compiled model reused: validate + encode + fit {warm:.1f} s "
            f"(compile {warm_fit.timings['compile_s']:.1f} s, sample {warm_fit.timings['sample_s']:.1f} s) "
            f"= {warm / cold:.2f}× the first fit (goal ≤ 5 s)"
        )
        goals.append(f"warm pooled fit {warm:.1f} s (goal ≤ 5 s) = {warm / cold:.2f}× the first fit's {cold:.1f} s")

    full_total = full_warm = None
    if "full" in parts:
        fit = fit_study(data, anchor=study.anchor, image_terms=True, sampling=full_sampling)
        t = fit.timings
        full_total = t["compile_s"] + t["sample_s"]
        print(
            f"\nfull model NUTS (nutpie, rater lapses + image terms), {args.chains} chains × ({args.tune} tune + {args.draws} draws): "
            f"compile {t['compile_s']:.1f} s + sample {t['sample_s']:.1f} s = {full_total:.1f} s (goal < 60 s)"
        )
        print(f"    {diagnostics(fit)}")
        print("    " + recovery(fit, study))
        print("    " + spammers(fit, study))
        print("    " + terms_recovery(fit, study, IMAGE_SD_ELO))
        start = time.perf_counter()
        warm_fit = fit_study(data, anchor=study.anchor, image_terms=True, sampling=full_sampling)
        full_warm = time.perf_counter() - start
        same = np.array_equal(fit.elo_draws(), warm_fit.elo_draws())
        print(
            f"    again, compiled model reused: {full_warm:.1f} s (compile {warm_fit.timings['compile_s']:.1f} s); "
            f"draws identical to the first fit's: {'yes' if same else 'NO'}"
        )

    if "pymc" in parts:
        fit = fit_study(data, anchor=study.anchor, image_terms=True, sampling=replace(full_sampling, sampler="pymc"))
        total = fit.timings["sample_s"]
        print(
            f"\nsame full model, PyMC's NUTS (its default sampler and adaptation; starts as nutpie's), "
            f"{args.chains} chains × ({args.tune} tune + {args.draws} draws): {total:.1f} s including PyMC's compile"
            + (f" = {total / full_total:.1f}× nutpie's first fit" if full_total else "")
            + (f", {total / full_warm:.1f}× nutpie's fit with the compiled model reused" if full_warm else "")
        )
        print(f"    {diagnostics(fit)}")
        print("    " + recovery(fit, study))
        if full_total and full_warm:
            goals.insert(
                0,
                f"full model: nutpie {full_warm:.1f} s with the compiled model reused = {total / full_warm:.1f}× faster "
                f"than PyMC's {total:.1f} s (goal ≥ 4×); first fit incl. compile {full_total:.1f} s = "
                f"{total / full_total:.1f}×",
            )
    goals += summary
    if goals:
        print("\nissue #17's goals, measured in this run:")
        for line in goals:
            print("    " + line)
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
