"""``python manage.py run_worker QUEUE``: the background worker of one queue, resuming work a killed one left.

django-tasks' ``db_worker`` marks a task running when it starts it; a worker killed mid-task
(``kill -9``, a reboot) leaves it marked running forever, so it never runs again. This command
runs ``db_worker`` under a fixed id per host and queue, holding a lock file so that only one runs
per host and queue. Holding the lock proves the previous worker of that id is gone, so a task
still marked running under the id is put back in the queue first. Study generation then resumes
from the ladder's cache, redoing no finished reconstruction. The worker runs
``TASK_WORKER_NICE`` nicer than the site, so raters' requests come first on a shared machine.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult


def requeue_abandoned(*, queue: str, worker_id: str) -> list[str]:
    """Put back in ``queue`` the tasks still marked running by ``worker_id``, which must be dead; their paths."""
    stale = [
        task
        for task in DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, queue_name=queue)
        if task.worker_ids and task.worker_ids[-1] == worker_id
    ]
    DBTaskResult.objects.filter(pk__in=[task.pk for task in stale]).update(status=TaskResultStatus.READY)
    return [task.task_path for task in stale]


def lower_priority(niceness: int) -> int:
    """Make this process ``niceness`` nicer (0 leaves it); returns its niceness after."""
    return os.nice(max(niceness, 0))


class Command(BaseCommand):
    help = "Run the background worker of one queue (settings.TASK_QUEUES), first re-queuing what a killed one left."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("queue", choices=settings.TASK_QUEUES, help="the queue to work on")

    def handle(self, *args, queue: str, **options) -> None:
        lock_path = Path(settings.VAR_DIR) / "run" / f"worker-{queue}.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = lock_path.open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released by the kernel when this process dies
        except BlockingIOError:
            raise CommandError(
                f"a worker for queue {queue!r} already runs on this host (it holds {lock_path})"
            ) from None
        lower_priority(settings.TASK_WORKER_NICE)
        worker_id = f"{socket.gethostname()}:{queue}"[:64]
        for path in requeue_abandoned(queue=queue, worker_id=worker_id):
            self.stdout.write(f"re-queued {path}, left running by a worker that was killed")
        call_command("db_worker", "--queue-name", queue, "--worker-id", worker_id, "--no-reload", "--no-startup-delay")
