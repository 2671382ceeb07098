"""Killed web processes and a restarted database lose no acknowledged judgment and store no other.

Simulated raters judge over real HTTP while one gunicorn worker is killed, then the whole gunicorn
(master and workers) is killed and started again, then PostgreSQL is restarted. Afterwards every
submit the site acknowledged is stored exactly once, nothing is stored that no rater submitted,
and each rater's trial page shows their one open trial.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from tests.evalsite.faults.raters import Rater
from tests.evalsite.faults.stack import Stack, wait_for

pytestmark = pytest.mark.slow

RATERS = 4


def restart_postgres(database_url: str) -> None:
    """Restart the PostgreSQL cluster serving ``database_url`` (fast shutdown: open connections are cut)."""
    port = urlsplit(database_url).port
    clusters = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, timeout=30, check=True)
    version, cluster = next(line.split()[:2] for line in clusters.stdout.splitlines() if line.split()[2] == str(port))
    subprocess.run(["pg_ctlcluster", version, cluster, "restart"], check=True, timeout=120)


def test_acknowledged_judgments_survive_killed_processes_exactly_once(stack: Stack, fault_study):
    # 2 images x 8 conditions: 56 distinct pairs, enough trials to outlast the faults.
    world = stack.world("raters", str(fault_study("webfaults", bpp=(0.8, 1.2, 1.8, 2.6))), str(RATERS))
    stack.start_gunicorn()
    # Think time paces the raters, so that they outlast the faults however fast the machine.
    raters = [Rater(stack.base, world["slug"], int(pk), key, think_s=0.3) for pk, key in world["sessions"].items()]
    stop = threading.Event()
    threads = [threading.Thread(target=rater.run, args=(stop,), daemon=True) for rater in raters]
    for thread in threads:
        thread.start()

    def progress(more: int) -> Callable[[], bool]:
        """Every rater has ``more`` acknowledged judgments beyond now (or has finished)."""
        marks = [len(rater.acked) for rater in raters]

        def reached() -> bool:
            for rater in raters:
                if rater.error:
                    raise rater.error
            return all(r.finished or len(r.acked) >= m + more for r, m in zip(raters, marks, strict=True))

        return reached

    try:
        wait_for(progress(2), "raters judging", timeout=120)
        killed = stack.kill_web_worker()
        wait_for(progress(3), "raters judging after a worker was killed", timeout=120)
        assert killed not in [w.pid for w in stack.web_workers()]
        assert len(stack.web_workers()) == 2, "gunicorn's master replaces the killed worker"

        stack.kill_gunicorn()
        failures = sum(rater.failures for rater in raters)
        wait_for(lambda: sum(rater.failures for rater in raters) > failures, "raters to notice gunicorn is gone")
        stack.start_gunicorn()
        wait_for(progress(3), "raters judging after gunicorn was restarted", timeout=120)

        restart_postgres(stack.env["DATABASE_URL"])
        wait_for(progress(3), "raters judging after PostgreSQL was restarted", timeout=120)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert not any(rater.finished for rater in raters), "a rater ran out of trials before the faults were over"

    trials = stack.world("ledger", world["slug"])
    for rater in raters:
        mine = [t for t in trials if t["rater"] == rater.rater_id]
        judged = {t["token"] for t in mine if t["judgments"]}
        assert all(t["judgments"] <= 1 for t in mine), f"rater {rater.rater_id}: a trial judged twice"
        assert set(rater.acked) <= judged, f"rater {rater.rater_id}: an acknowledged judgment was lost"
        assert judged <= set(rater.sent), f"rater {rater.rater_id}: a judgment stored that was never submitted"
        assert len(rater.acked) == len(set(rater.acked))
        # Resuming: the trial page shows the one open trial, the last issued, or else a new one.
        open_trials = [t["token"] for t in mine if not t["judgments"]]
        assert open_trials in ([], [mine[-1]["token"]]), f"rater {rater.rater_id}: open trials {open_trials}"
        shown = rater.current_trial()
        assert (shown == open_trials[0]) if open_trials else (shown not in {t["token"] for t in mine})
