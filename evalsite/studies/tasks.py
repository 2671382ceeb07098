"""Background work of the researcher pages, run by the django-tasks worker (``manage.py db_worker``)."""

from __future__ import annotations

import logging
from pathlib import Path

from django_tasks import task

from evalsite.studies.config import StudyFileError, load_study_file
from evalsite.studies.design import refresh_design
from evalsite.studies.models import Study
from evalsite.studies.services import StudyError, generate_study, study_dir

logger = logging.getLogger(__name__)


@task()
def generate_study_task(study_id: int, study_file: str) -> str:
    """Make and import the reconstructions of a draft study; progress and failures are stored on the study."""
    study = Study.objects.get(pk=study_id)
    try:
        config = load_study_file(study_file)
        generate_study(study=study, config=config)
    except (StudyFileError, StudyError) as exc:
        Study.objects.filter(pk=study_id).update(generation=Study.Generation.FAILED, generation_message=str(exc))
        return "failed"
    return "done"


@task()
def report_task(study_id: int) -> str:
    """Fit the full posterior and write the analysis report of a study into its ``analysis/`` folder."""
    from evalsite.studies.scores import write_report

    study = Study.objects.get(pk=study_id)
    folder = write_report(study, analysis_dir(study))
    return str(folder)


@task()
def refresh_design_task(study_id: int) -> str:
    """Refresh an adaptive study's pair design; on failure log it and keep the old shares (raters go on)."""
    study = Study.objects.get(pk=study_id)
    try:
        judged = refresh_design(study)
    except Exception:
        logger.exception("design refresh of study %s failed; keeping its current shares", study.slug)
        return "failed"
    return f"design from {judged} judgments"


def analysis_dir(study: Study) -> Path:
    """Where a study's analysis outputs (elo.csv, bdrate.csv, curves.png, report.html) are written."""
    return study_dir(study) / "analysis"
