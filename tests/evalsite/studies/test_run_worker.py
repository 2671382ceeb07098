"""``manage.py run_worker``: one worker per host and queue, re-queuing what a killed one left running."""

from __future__ import annotations

import fcntl

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
