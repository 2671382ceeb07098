"""Load benchmark: simulated crowd raters drive the real HTTP flow of the production stack.

For each database (SQLite in WAL mode, PostgreSQL) this starts ``make serve``'s stack
(evalsite/deploy/serve.sh: gunicorn, whitenoise, the background workers) on a free loopback port
over a fresh database, builds and launches benchmarks/load_study.toml, optionally stores a
paper-scale history of judged trials, and runs locust (as a library) with each number of
raters in turn: every simulated rater walks entry → consent → instructions → display check →
screening → practice → trials with attention checks and breaks → completion code
(benchmarks/load_rater.py), thinking ``--think`` seconds between actions, and the next rater
arrives when one finishes. Each run stops by itself after ``--duration`` seconds. It prints
p50/p95/p99 per step, the failures, the judgments per second, and the judgments the site
acknowledged but did not store (lost: must be 0); first an anchor measured in the same run,
one rater without think time, so that figures compare across machines.

``make bench`` runs the short default: 50 raters for 60 s on SQLite, and on PostgreSQL where the
local server can be started (root). The table in docs/configuration.md ("Concurrent raters")
comes from ``--raters 50,200,600 --duration 300``, which takes about 45 minutes.

Run: ``.venv/bin/python benchmarks/bench_load.py [--raters 50,200,600] [--db sqlite,postgres]
[--duration 60] [--think 3] [--spawn-rate 10] [--workers N] [--preload-trials 75000]``
"""

from __future__ import annotations

# locust first: importing it patches the standard library for gevent, which must come before
# anything else opens sockets or starts threads.
import locust.env  # isort: skip

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import gevent
from locust.stats import StatsEntry

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import load_stack  # noqa: E402

# Django's modules (and load_rater, which uses them) are imported inside the functions: only after
# run_database has pointed the environment at the database under test and called django.setup().

GOAL_MS = 150
"""Issue #14's goal: p99 of the trial page, each image and the judgment submit within this, with 0 errors."""
GOAL_STEPS = ("trial page", "image", "judgment submit")
SCREENING_STEPS = ("screening page", "screening image", "screening submit")
FLOW_ORDER = (
    "entry", "consent", "consent submit", "instructions", "example image", "instructions submit", "display",
    "display submit", *SCREENING_STEPS, "screening", "trial page", "image", "judgment submit", "done", "static",
    "link → first trial", "flow",
)  # fmt: skip
TRIALS_PER_PRELOADED_RATER = 125  # the PICO paper: 74,925 judgments from 610 raters
ANCHOR_S = 20
DRAIN_S = 30  # at the end of a run, how long raters may take to finish their current action


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raters", default="50", help="comma-separated numbers of concurrent raters (default 50)")
    parser.add_argument(
        "--db",
        default="sqlite,postgres",
        help="sqlite, postgres or both (default both; postgres where it can be started)",
    )
    parser.add_argument("--duration", type=float, default=60, help="seconds each run lasts, ramp included (default 60)")
    parser.add_argument(
        "--think", type=float, default=3.0, help="mean think time between a rater's actions, s (default 3)"
    )
    parser.add_argument(
        "--spawn-rate", type=float, default=10, help="raters arriving per second until all are in (default 10)"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="gunicorn workers (default: evalsite/deploy/gunicorn.conf.py's)"
    )
    parser.add_argument(
        "--preload-trials", type=int, default=0, help="judged trials stored before the runs (paper scale: 75000)"
    )
    parser.add_argument("--results", type=Path, help=argparse.SUPPRESS)  # where a one-database child writes its rows
    args = parser.parse_args(argv)
    try:
        args.raters = [int(n) for n in args.raters.split(",")]
    except ValueError:
        parser.error(f"--raters {args.raters!r}: give whole numbers separated by commas, e.g. 50,200,600")
    if any(n < 1 for n in args.raters):
        parser.error("--raters: each number must be at least 1")
    args.db = [name.strip() for name in args.db.split(",")]
    unknown = set(args.db) - {"sqlite", "postgres"}
    if unknown:
        parser.error(f"--db {','.join(sorted(unknown))}: choose from sqlite, postgres")
    if args.duration <= 0 or args.think < 0 or args.spawn_rate <= 0:
        parser.error("--duration and --spawn-rate must be positive, --think at least 0")
    return args


def preload_trials(count: int) -> None:
    """Store ``count`` judged trials of finished raters (bulk insert), on the study's own pair design
    and counted in its tally of issued pairs, as a study with a paper-scale history has them."""
    from collections import Counter

    from evalsite.rating import assignment
    from evalsite.rating.models import Judgment, PairCount, Rater, Trial
    from evalsite.studies.models import Study

    study = Study.objects.get(slug=load_stack.SLUG)
    pairs, _ = assignment.study_design(study)
    rng = random.Random(0)
    raters = Rater.objects.bulk_create(
        Rater(study=study, crowd_id=f"preload-{index}", stage=Rater.Stage.DONE)
        for index in range(-(-count // TRIALS_PER_PRELOADED_RATER))
    )
    chosen = [rng.choice(pairs) for _ in range(count)]
    trials = Trial.objects.bulk_create(
        (
            Trial(
                rater=raters[seq // TRIALS_PER_PRELOADED_RATER], seq=seq % TRIALS_PER_PRELOADED_RATER,
                reference_id=pair.image, a_id=pair.first, b_id=pair.second, shown_left=rng.choice("ab"),
                crop_x=0, crop_y=0, crop_w=study.crop_width, crop_h=study.crop_height,
            )
            for seq, pair in enumerate(chosen)
        ),
        batch_size=5000,
    )  # fmt: skip
    Judgment.objects.bulk_create(
        (Judgment(trial=trial, winner=rng.choice("ab"), response_ms=3000) for trial in trials), batch_size=5000
    )
    PairCount.objects.bulk_create(
        PairCount(study=study, reference_id=pair.image, first_id=pair.first, second_id=pair.second, issued=n)
        for pair, n in Counter(chosen).items()
    )


def stored_judgments(prefix: str) -> set[str]:
    """Trial tokens of the judgments stored for the raters of one run."""
    from evalsite.rating.models import Judgment

    return set(
        Judgment.objects.filter(trial__rater__crowd_id__startswith=f"{prefix}-").values_list("trial__token", flat=True)
    )


def run_raters(url: str, raters: int, args: argparse.Namespace, *, think_s: float, duration_s: float) -> dict[str, Any]:
    """One bounded locust run with ``raters`` concurrent raters; its statistics and the lost-judgment count."""
    from django.db import connections
    from load_rater import Flow, Ledger, SimulatedRater

    ledger = Ledger(prefix=f"r{raters}-{int(time.time())}")
    SimulatedRater.flow = Flow(slug=load_stack.SLUG, think_s=think_s, ledger=ledger)
    env = locust.env.Environment(user_classes=[SimulatedRater], host=url)
    runner = env.create_local_runner()
    started = time.monotonic()
    progress = gevent.spawn(_report_progress, env, ledger, started)
    runner.start(raters, spawn_rate=args.spawn_rate)
    gevent.sleep(duration_s)
    if runner.spawning_greenlet:
        runner.spawning_greenlet.kill()
    SimulatedRater.flow.stopping = True  # each rater finishes its current action and leaves
    runner.user_greenlets.join(timeout=DRAIN_S)
    elapsed = time.monotonic() - started
    runner.quit()
    progress.kill()
    connections.close_all()  # a fresh connection, in case the database server was restarted meanwhile
    stored = stored_judgments(ledger.prefix)
    entries = {name: entry for (name, _), entry in env.stats.entries.items()}
    entries["screening"] = StatsEntry(env.stats, "screening", "")
    for name in SCREENING_STEPS:
        if name in entries:
            entries["screening"].extend(entries[name])
    order = {name: index for index, name in enumerate(FLOW_ORDER)}
    steps = {
        name: _percentiles(entries[name]) for name in sorted(entries, key=lambda name: order.get(name, len(order)))
    }
    return {
        "raters": raters,
        "seconds": round(elapsed, 1),
        "steps": steps,
        "errors": env.stats.total.num_failures,
        "error_kinds": [f"{e.occurrences}× {e.name}: {e.error}" for e in env.stats.errors.values()][:8],
        "judgments_per_s": round(len(ledger.acknowledged) / elapsed, 1),
        "acknowledged": len(ledger.acknowledged),
        "lost": len(ledger.acknowledged - stored),
        "stored_unacknowledged": len(stored - ledger.acknowledged),
        "completed": ledger.completed,
    }


def _percentiles(entry: Any) -> dict[str, float]:
    return {
        "count": entry.num_requests,
        "failures": entry.num_failures,
        **{f"p{q}": entry.get_response_time_percentile(q / 100) if entry.num_requests else 0 for q in (50, 95, 99)},
    }


def _report_progress(env: Any, ledger: Any, started: float) -> None:
    while True:
        gevent.sleep(15)
        total = env.stats.total
        print(
            f"  {time.monotonic() - started:5.0f} s  raters {env.runner.user_count:4d}  requests {total.num_requests:7d}"
            f"  failures {total.num_failures:4d}  judgments {len(ledger.acknowledged):6d}",
            flush=True,
        )


def run_database(db: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every size in ``args.raters`` against a fresh site on database ``db``; rows for the table."""
    with tempfile.TemporaryDirectory(prefix="pico-load-") as tmp, load_stack.database(db, Path(tmp)) as database_env:
        var_dir = Path(tmp)
        env = load_stack.site_env(var_dir, load_stack.free_port(), database_env, args.workers)
        # This process reads the same database: the raters' screening answers, the stored judgments.
        os.environ.update(env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsite.settings")
        log = var_dir / "serve.log"
        print(f"== {db}: starting the site (log: {log})", flush=True)
        with load_stack.serving(env, log) as url:
            load_stack.build_study(env)
            import django

            django.setup()
            if args.preload_trials:
                started = time.monotonic()
                preload_trials(args.preload_trials)
                print(
                    f"   stored {args.preload_trials} judged trials in {time.monotonic() - started:.0f} s", flush=True
                )
            wait_for_plate_pool()
            print("   anchor: 1 rater, no think time", flush=True)
            anchor = run_raters(url, 1, args, think_s=0, duration_s=ANCHOR_S)
            rows = []
            for raters in args.raters:
                wait_for_plate_pool()
                print(f"   {raters} raters for {args.duration:.0f} s", flush=True)
                row = run_raters(url, raters, args, think_s=args.think, duration_s=args.duration)
                rows.append({"db": db, "anchor": anchor["steps"], **row})
                print_steps(row)
        from django.db import connections

        connections.close_all()
    return rows


def wait_for_plate_pool(timeout_s: float = 300) -> None:
    """Start raters once the worker has drawn the colour plate pool, as a researcher publishes a launched study.

    The pool is drawn after generation and refilled when it runs low; raters meeting a dry or
    filling pool would measure the worker's drawing, not the site. Waits until the pool is not
    low and has stopped growing.
    """
    from evalsite.screening import pool

    started, before = time.monotonic(), -1
    while time.monotonic() - started < timeout_s:
        now = sum(pool.untaken().values())
        if not pool.running_low() and now == before:
            print(f"   colour plate pool ready ({now} plates) after {time.monotonic() - started:.0f} s", flush=True)
            return
        before = now
        time.sleep(5)
    print(f"   the colour plate pool was not ready after {timeout_s:.0f} s: starting anyway", flush=True)


def print_steps(row: dict[str, Any]) -> None:
    print(f"   {'step':<22} {'requests':>8} {'failed':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    for name, step in row["steps"].items():
        print(
            f"   {name:<22} {step['count']:>8} {step['failures']:>6} {step['p50']:>7.0f} {step['p95']:>7.0f} {step['p99']:>7.0f}"
        )
    print(
        f"   {row['acknowledged']} judgments acknowledged in {row['seconds']} s ({row['judgments_per_s']}/s), {row['lost']} of them lost, "
        f"{row['stored_unacknowledged']} stored without an answer reaching the rater; {row['completed']} raters finished"
    )
    for kind in row["error_kinds"]:
        print(f"   error: {kind}")


def print_table(rows: list[dict[str, Any]]) -> None:
    """The summary table of docs/configuration.md, and the anchor of each database."""
    print(
        "\n| database | raters | trial page p99 | image p99 | submit p99 | screening p99 "
        "| link → first trial p95 | judgments/s | errors | lost | goal |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        steps = row["steps"]
        cells = [_cell(steps, name, "p99") for name in (*GOAL_STEPS, "screening")] + [
            _cell(steps, "link → first trial", "p95")
        ]
        print(
            f"| {row['db']} | {row['raters']} | {' | '.join(cells)} | {row['judgments_per_s']} | {row['errors']} "
            f"| {row['lost']} | {'met' if goal_met(row) else 'not met'} |"
        )
    for db in dict.fromkeys(row["db"] for row in rows):
        anchor = next(row["anchor"] for row in rows if row["db"] == db)
        figures = ", ".join(f"{name} {_cell(anchor, name, 'p50')}" for name in GOAL_STEPS)
        print(f"anchor ({db}, 1 rater, no think time), p50: {figures}")


def goal_met(row: dict[str, Any]) -> bool:
    """Issue #14's goal: p99 within GOAL_MS for each of GOAL_STEPS (each measured), no errors, nothing lost."""
    steps = row["steps"]
    fast = all(steps.get(name, {}).get("count") and steps[name]["p99"] <= GOAL_MS for name in GOAL_STEPS)
    return bool(fast) and row["errors"] == 0 and row["lost"] == 0


def _cell(steps: dict[str, Any], name: str, quantile: str) -> str:
    step = steps.get(name)
    if not step or not step["count"]:
        return "–"
    return f"{step[quantile] / 1000:.1f} s" if step[quantile] >= 1000 else f"{step[quantile]:.0f} ms"


def raise_open_file_limit(wanted: int = 10_000) -> None:
    """Up to ``wanted`` open files, as locust's own command line does: 600 raters hold thousands of sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard)
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if len(args.db) == 1 and args.results:
        raise_open_file_limit()
        rows = run_database(args.db[0], args)
        args.results.write_text(json.dumps(rows))
        return 0
    rows = []
    for db in args.db:
        why_not = load_stack.postgres_unavailable() if db == "postgres" else None
        if why_not:
            print(f"== postgres: skipped, {why_not}")
            continue
        # One process per database: Django's settings (and so its database) are fixed once per process.
        with tempfile.NamedTemporaryFile(suffix=".json") as results:
            child = [sys.executable, __file__, *(argv if argv is not None else sys.argv[1:])]
            child += ["--db", db, "--results", results.name]
            if subprocess.run(child, check=False).returncode != 0:
                print(f"== {db}: the run failed (see above)")
                return 1
            rows += json.loads(Path(results.name).read_text())
    if not rows:
        print("no database could be benchmarked")
        return 1
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
