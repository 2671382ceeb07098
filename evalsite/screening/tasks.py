"""Background work of screening, run by the django-tasks worker of the ``design`` queue: drawing colour plates ahead."""

from __future__ import annotations

from django.db import transaction
from django_tasks import task

from evalsite.screening import pool
from evalsite.studies.models import Study


@task(queue_name="design")
def top_up_plates_task() -> str:
    """Refill the colour plate pool (``pool.top_up``)."""
    return f"{pool.top_up()} colour plates drawn"


def queue_top_up() -> None:
    """Have the worker refill the plate pool after this transaction commits (a failing enqueue is logged, not raised)."""
    transaction.on_commit(top_up_plates_task.enqueue, robust=True)


def top_up_on_launch(
    sender: type[Study], instance: Study, update_fields: frozenset[str] | None = None, **kwargs: object
) -> None:
    """``post_save`` of a study: when its stimuli are generated, and again when it goes live, fill the pool,
    so that it is full before the first rater reaches the colour test (drawing it takes the worker about a minute)."""
    generated = instance.generation == Study.Generation.DONE and (
        update_fields is None or "generation" in update_fields
    )
    goes_live = instance.state == Study.State.LIVE and (update_fields is None or "state" in update_fields)
    if (generated or goes_live) and pool.running_low():
        queue_top_up()
