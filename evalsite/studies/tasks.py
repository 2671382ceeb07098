"""Background work of the researcher pages, run by the django-tasks worker (``manage.py db_worker``)."""

from __future__ import annotations

from django_tasks import task

from evalsite.studies.config import StudyFileError, load_study_file
from evalsite.studies.models import Study
from evalsite.studies.scores import write_report
from evalsite.studies.services import StudyError, analysis_dir, generate_study


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
    study = Study.objects.get(pk=study_id)
    folder = write_report(study, analysis_dir(study))
    return str(folder)
