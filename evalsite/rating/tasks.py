"""Background work of the rater side, run by the django-tasks worker (``manage.py db_worker``)."""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction
from django_tasks import task

from evalsite.rating import selectors
from evalsite.rating.design import refresh_design, refresh_due
from evalsite.studies.models import Study

logger = logging.getLogger(__name__)


@task(queue_name="design")
def refresh_design_task(study_id: int) -> str:
    """Refresh an adaptive study's pair design; on failure log it and keep the old shares (raters go on)."""
    study = Study.objects.get(pk=study_id)
    try:
        judged = refresh_design(study)
    except Exception:
        logger.exception("design refresh of study %s failed; keeping its current shares", study.slug)
        return "failed"
    return f"design from {judged} judgments"


def queue_design_refresh(study: Study) -> None:
    """Queue a background refresh of an adaptive study's design once enough judgments arrived since the last one.

    The fit takes seconds, so it never runs in the rater's request; a failing refresh keeps the
    old shares (``refresh_design_task``), and a failing enqueue is logged, not raised (``robust``).
    """
    # Compared trials issued stand in for judgments: read from the tally, not counted over the study's judgments.
    judged = selectors.issued_count(study)
    n_conditions = len(selectors.condition_levels(study))
    if not refresh_due(judged=judged, requested=study.design_requested, n_conditions=n_conditions):
        return
    # Conditional update: of the requests that reach the step at once, only the first one queues.
    if Study.objects.filter(pk=study.pk, design_requested=study.design_requested).update(design_requested=judged):
        transaction.on_commit(partial(refresh_design_task.enqueue, study.pk), robust=True)
