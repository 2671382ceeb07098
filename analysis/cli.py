"""Command line: ``python -m analysis fit|plan|simulate|import-answers``; the only place errors become exit codes.

Exit codes: 0 success, 1 bad input (message names file/line/column), 2 usage, 3 the fit did
not converge (outputs are still written, marked as not converged; ``--allow-unconverged``
exits 0).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

import pandas as pd

from analysis.data import Exclusions, load_study
from analysis.elo import DEFAULT_SAMPLING, SAMPLERS, SamplerOptions
from analysis.equality import INTERPOLATIONS
from analysis.errors import AnalysisError
from analysis.planning import DEFAULT_GRID, plan_study
from analysis.simulate import (
    DEFAULT_LADDER,
    DEFAULT_RATE_FACTORS,
    DESIGNS,
    expected_curves,
    near_equal_levels,
    simulate_study,
)
from pico.errors import PicoError

EXIT_INPUT = 1
EXIT_UNCONVERGED = 3


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _factors(text: str) -> dict[str, float]:
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if any(len(p) != 2 for p in pairs):
        raise argparse.ArgumentTypeError("expected codec=factor pairs such as jpeg=2.5,avif=1,pico=0.4")
    return {name.strip(): float(value) for name, value in pairs}


def _factors_text(text: str) -> dict[str, str]:
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if any(len(p) != 2 for p in pairs):
        raise argparse.ArgumentTypeError("expected name=column pairs such as methodA=left,answerValue=choice")
    return {key.strip(): value.strip() for key, value in pairs}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    fit = sub.add_parser("fit", help="fit Elo scores and BD-rates; write elo.csv, bdrate.csv, raters.csv, report.html")
    fit.add_argument("--judgments", required=True, help="judgments.csv")
    fit.add_argument("--manifest", required=True, help="manifest.csv the study was built from")
    fit.add_argument("--anchor", required=True, help="codec fixed at 0 Elo (its lowest level) and BD-rate reference")
    fit.add_argument("--out", required=True, help="output folder")
    fit.add_argument("--method", choices=("nuts", "map"), default="nuts", help="full posterior, or MAP+Laplace preview")
    fit.add_argument("--sampler", choices=SAMPLERS, default=DEFAULT_SAMPLING.sampler)
    fit.add_argument("--no-rater-terms", action="store_true", help="drop rater lapse rates (pooled raters)")
    fit.add_argument("--image-terms", action="store_true", help="add partially pooled image × condition deviations")
    fit.add_argument(
        "--rater-model",
        choices=("auto", "classes", "shared"),
        default="auto",
        help="rater classes (attentive/spammer), one shared lapse, or auto: classes where raters identify them",
    )
    fit.add_argument("--draws", type=int, default=DEFAULT_SAMPLING.draws)
    fit.add_argument("--tune", type=int, default=DEFAULT_SAMPLING.tune)
    fit.add_argument("--chains", type=int, default=DEFAULT_SAMPLING.chains)
    fit.add_argument("--cores", type=int, default=DEFAULT_SAMPLING.cores)
    fit.add_argument("--seed", type=int, default=DEFAULT_SAMPLING.seed)
    fit.add_argument("--min-response-ms", type=int, default=None, help="exclude faster judgments")
    fit.add_argument("--min-switches", type=int, default=None, help="exclude judgments with fewer view switches")
    fit.add_argument("--exclude-raters", default="", help="comma-separated rater ids to leave out")
    fit.add_argument("--allow-unconverged", action="store_true", help="exit 0 even if R-hat/ESS/divergence checks fail")
    fit.add_argument(
        "--ties",
        choices=("davidson", "half"),
        default="davidson",
        help="winner = tie answers: Davidson's tie parameter, or half a win to each side (CLIC)",
    )
    fit.add_argument(
        "--no-side-bias", action="store_true", help="do not estimate a left/right bias from the shown_left column"
    )
    fit.add_argument(
        "--at-bpp",
        type=_floats,
        default=[],
        help="bpp of the anchor (comma-separated): the bpp every other codec needs for the same Elo",
    )
    fit.add_argument(
        "--interpolation",
        choices=sorted(INTERPOLATIONS),
        default="log-linear",
        help="equal-quality table: read a codec's curve between levels with ln bpp (log-linear) or bpp linear in Elo",
    )

    sim = sub.add_parser("simulate", help="write a simulated study (judgments.csv + manifest.csv) with known truth")
    sim.add_argument("--judgments-out", required=True)
    sim.add_argument("--manifest-out", required=True)
    sim.add_argument("--judgments", type=int, default=1200)
    sim.add_argument("--raters", type=int, default=12)
    sim.add_argument("--images", type=int, default=4)
    sim.add_argument("--spammers", type=float, default=0.08)
    sim.add_argument("--image-sd", type=float, default=0.0, help="sd of image × condition deviations, Elo points")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument(
        "--rate-factors", type=_factors, default=None, help="codec=factor,... (default jpeg/avif/vvc/pico)"
    )
    sim.add_argument("--ladder", type=_floats, default=list(DEFAULT_LADDER), help="bpp per level")
    sim.add_argument("--anchor", default="avif")
    sim.add_argument("--tie-even", type=float, default=0.0, help="P(tie) on an evenly matched pair (0: forced choice)")
    sim.add_argument("--side-bias", type=float, default=0.0, help="Elo points given to the image shown left")
    sim.add_argument("--shown-left", action="store_true", help="write the shown_left column (random sides)")
    sim.add_argument(
        "--near-equal",
        type=_factors,
        default={},
        help="codec=gap,...: move the codec's lowest level to GAP Elo below its level 1 (levels hard to order)",
    )

    plan = sub.add_parser("plan", help="simulate how many judgments reach a target BD-rate interval width")
    source = plan.add_mutually_exclusive_group()
    source.add_argument("--curves", help="CSV with codec, level, bpp, elo (expected curves)")
    source.add_argument("--rate-factors", type=_factors, help="codec=factor,... (rate needed at equal quality)")
    source.add_argument("--pilot-judgments", help="pilot judgments.csv (needs --pilot-manifest)")
    plan.add_argument("--pilot-manifest")
    plan.add_argument("--ladder", type=_floats, default=list(DEFAULT_LADDER), help="bpp per level with --rate-factors")
    plan.add_argument("--anchor", required=True)
    plan.add_argument("--target-width", type=float, required=True, help="95%% BD-rate interval width, points")
    plan.add_argument("--judgments", type=_ints, default=list(DEFAULT_GRID), help="candidate sizes, comma-separated")
    plan.add_argument("--judgments-per-rater", type=int, default=125)
    plan.add_argument("--images", type=int, default=30)
    plan.add_argument("--spammers", type=float, default=0.08, help="expected share of spammers")
    plan.add_argument("--reps", type=int, default=4)
    plan.add_argument(
        "--design", choices=DESIGNS, default="random", help="pairs judged: random, or the site's adaptive design"
    )
    plan.add_argument("--seed", type=int, default=0)
    plan.add_argument("--out", help="write the plan as CSV here too")

    imp = sub.add_parser(
        "import-answers", help="turn another platform's answers CSV (CLIC-style) into judgments.csv + manifest.csv"
    )
    imp.add_argument(
        "--answers", required=True, help="answers CSV: methodA, methodB, originalName, answerValue[, rater]"
    )
    imp.add_argument(
        "--methods", required=True, help="CSV: method, codec, level, bpp (or method, bpp with --method-regex)"
    )
    imp.add_argument(
        "--answer-names",
        required=True,
        choices=("preferred", "distorted"),
        help="what answerValue names: the image the rater preferred, or the more distorted one",
    )
    imp.add_argument("--method-regex", help="regex with groups (?P<codec>...) and (?P<quality>...) over method names")
    imp.add_argument("--rater-column", default="rater", help="rater id column; absent = one rater for every answer")
    imp.add_argument(
        "--columns",
        type=_factors_text,
        default={},
        help="rename the answer columns, e.g. methodA=left,methodB=right,originalName=image,answerValue=choice",
    )
    imp.add_argument("--tie-values", default="", help="comma-separated answer values meaning 'can't decide'")
    imp.add_argument("--judgments-out", required=True)
    imp.add_argument("--manifest-out", required=True)
    return parser


def _fit(args: argparse.Namespace) -> int:
    from analysis.fitting import fit_study
    from analysis.report import write_report

    exclusions = Exclusions(
        min_response_ms=args.min_response_ms,
        min_switches=args.min_switches,
        raters=tuple(r.strip() for r in args.exclude_raters.split(",") if r.strip()),
    )
    data = load_study(args.judgments, args.manifest, exclusions)
    fit = fit_study(
        data,
        anchor=args.anchor,
        method=args.method,
        rater_terms=not args.no_rater_terms,
        image_terms=args.image_terms,
        rater_model=args.rater_model,
        ties=args.ties,
        side_terms=not args.no_side_bias,
        sampling=SamplerOptions(
            sampler=args.sampler,
            draws=args.draws,
            tune=args.tune,
            chains=args.chains,
            cores=args.cores,
            seed=args.seed,
        ),
    )
    space = INTERPOLATIONS[args.interpolation]
    paths = write_report(fit, args.out, at_bpp=args.at_bpp, space=space)
    print(fit.model_note)
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    if args.at_bpp:
        from analysis.equality import at_bpp_sentences, equal_quality_table

        for line in at_bpp_sentences(equal_quality_table(fit, at_bpp=args.at_bpp, levels=False, space=space)):
            print(line)
    if fit.converged or fit.diagnostics is None:
        return 0
    message = "; ".join(fit.diagnostics.problems)
    print(f"\n*** NOT CONVERGED: {message}. The outputs are marked as such; do not report them. ***", file=sys.stderr)
    print("*** Sample longer (--tune/--draws), or pass --allow-unconverged to accept. ***\n", file=sys.stderr)
    return 0 if args.allow_unconverged else EXIT_UNCONVERGED


def _plan(args: argparse.Namespace) -> int:
    if args.curves:
        curves = pd.read_csv(args.curves)
        missing = [c for c in ("codec", "level", "bpp", "elo") if c not in curves.columns]
        if missing:
            raise AnalysisError(f"{args.curves}: missing column(s) {', '.join(missing)}; need codec, level, bpp, elo")
    elif args.pilot_judgments:
        if not args.pilot_manifest:
            raise AnalysisError("--pilot-judgments needs --pilot-manifest")
        from analysis.elo import elo_table
        from analysis.fitting import fit_study

        pilot = fit_study(load_study(args.pilot_judgments, args.pilot_manifest), anchor=args.anchor, method="map")
        curves = elo_table(pilot)
    else:
        curves = expected_curves(args.rate_factors or {args.anchor: 1.0}, args.ladder, args.anchor)
    plan = plan_study(
        curves,
        anchor=args.anchor,
        target_width=args.target_width,
        judgments=args.judgments,
        judgments_per_rater=args.judgments_per_rater,
        n_images=args.images,
        spammer_fraction=args.spammers,
        reps=args.reps,
        design=args.design,
        seed=args.seed,
    )
    print(plan.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    chosen = plan.loc[plan["recommended"], ["judgments", "raters"]].drop_duplicates()
    if chosen.empty:
        print(f"\nNo candidate size reaches a {args.target_width:g}-point interval; try larger --judgments.")
    else:
        row = chosen.iloc[0]
        print(f"\nRecommended: {row.judgments} judgments from about {row.raters} raters.")
    if args.out:
        plan.to_csv(args.out, index=False)
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from analysis.judgments import COLUMNS as JUDGMENT_COLUMNS
    from pico.csvtable import write_table_atomic
    from pico.manifest import write_manifest

    curves = expected_curves(args.rate_factors or DEFAULT_RATE_FACTORS, args.ladder, args.anchor)
    if args.near_equal:
        curves = near_equal_levels(curves, args.near_equal, args.anchor)
    study = simulate_study(
        curves,
        anchor=args.anchor,
        n_judgments=args.judgments,
        n_raters=args.raters,
        n_images=args.images,
        spammer_fraction=args.spammers,
        image_sd_elo=args.image_sd,
        tie_even=args.tie_even,
        side_bias_elo=args.side_bias,
        shown_left=args.shown_left,
        seed=args.seed,
    )
    write_manifest(args.manifest_out, study.manifest.to_dict("records"))
    columns = [c for c in JUDGMENT_COLUMNS if c in study.judgments.columns]
    write_table_atomic(args.judgments_out, columns, study.judgments[columns].to_dict("records"))
    truth = ", ".join(f"{codec} {value:+.1f}%" for codec, value in study.true_bdrate.items())
    print(f"wrote {args.judgments_out} and {args.manifest_out}; true BD-rates vs {study.anchor}: {truth}")
    return 0


def _import_answers(args: argparse.Namespace) -> int:
    from analysis.answers import AnswerColumns, import_answers, read_methods, write_imported

    defaults = AnswerColumns()
    fields = {"methodA": "method_a", "methodB": "method_b", "originalName": "image", "answerValue": "answer"}
    unknown = sorted(set(args.columns) - set(fields))
    if unknown:
        raise AnalysisError(f"--columns: unknown name(s) {', '.join(unknown)}; rename one of {', '.join(fields)}")
    renamed = {fields[k]: v for k, v in args.columns.items()}
    columns = AnswerColumns(**{**defaults.__dict__, **renamed, "rater": args.rater_column})
    methods = read_methods(args.methods, method_regex=args.method_regex)
    imported = import_answers(
        args.answers,
        methods,
        answer_names=args.answer_names,
        columns=columns,
        tie_values=tuple(v.strip() for v in args.tie_values.split(",") if v.strip()),
    )
    write_imported(imported, args.judgments_out, args.manifest_out)
    for note in imported.notes:
        print(note)
    print(f"wrote {args.judgments_out} and {args.manifest_out}")
    return 0


COMMANDS = {"fit": _fit, "plan": _plan, "simulate": _simulate, "import-answers": _import_answers}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; returns the exit code."""
    args = build_parser().parse_args(argv)
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="arviz")
    try:
        return COMMANDS[args.command](args)
    except (AnalysisError, PicoError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
