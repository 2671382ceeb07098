"""``manage.py run_worker``: one worker per host and queue, re-queuing what a killed one left running."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from evalsite.studies.management.commands.run_worker import requeue_abandoned
from evalsite.studies.tasks import report_task

pytestmark = pytest.mark.django_db


def running(worker_id: str) -> DBTaskResult:
    """A report task claimed by ``worker_id``, as db_worker leaves it when killed mid-task."""
    task = DBTaskResult.objects.get(pk=report_task.enqueue(1).id)
    task.claim(worker_id)
    return task


def test_only_the_tasks_of_the_dead_worker_go_back_in_the_queue():
    mine, theirs = running("host:reports"), running("other-host:reports")
    assert requeue_abandoned(queue="reports", worker_id="host:reports") == ["evalsite.studies.tasks.report_task"]
    assert DBTaskResult.objects.get(pk=mine.pk).status == TaskResultStatus.READY
    assert DBTaskResult.objects.get(pk=theirs.pk).status == TaskResultStatus.RUNNING
    assert requeue_abandoned(queue="reports", worker_id="host:reports") == []


def test_a_second_worker_for_the_same_queue_is_refused(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    (tmp_path / "run").mkdir()
    with (tmp_path / "run" / "worker-reports.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(CommandError, match="a worker for queue 'reports' already runs on this host"):
            call_command("run_worker", "reports")


def test_the_worker_runs_nicer_than_the_site():
    # In a child process: niceness cannot be taken back, and the test process must keep its own.
    code = (
        "import os, sys, django; django.setup(); "
        "from evalsite.studies.management.commands.run_worker import lower_priority; "
        "before = os.nice(0); print(lower_priority(int(sys.argv[1])) - before)"
    )
    for asked, expected in ((10, 10), (0, 0), (-5, 0)):
        out = subprocess.run(
            [sys.executable, "-c", code, str(asked)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "evalsite.settings", "DEBUG": "1"},
        )
        assert int(out.stdout) == expected


def test_the_worker_lowers_its_priority_before_working(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    settings.TASK_WORKER_NICE = 7
    asked: list[int] = []
    monkeypatch.setattr(os, "nice", lambda n: asked.append(n) or n)
    monkeypatch.setattr("evalsite.studies.management.commands.run_worker.call_command", lambda *a, **k: None)
    call_command("run_worker", "reports")
    assert asked == [7]
