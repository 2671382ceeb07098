"""Background work of the researcher pages, run by the django-tasks worker (``manage.py db_worker``)."""

from __future__ import annotations

from pathlib import Path

from django_tasks import task

from evalsite.studies.config import StudyFileError, load_study_file
from evalsite.studies.models import Study
from evalsite.studies.scores import write_report
from evalsite.studies.services import StudyError, analysis_dir, generate_study, study_dir


@task(queue_name="generation")
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


@task(queue_name="reports")
def report_task(study_id: int) -> str:
    """Fit the full posterior and write the analysis report of a study into its ``analysis/`` folder."""
    study = Study.objects.get(pk=study_id)
    folder = write_report(study, analysis_dir(study))
    return str(folder)


def queue_generation(study: Study, study_file: Path) -> None:
    """Mark a draft's generation queued and hand it to the worker; finished reconstructions are reused."""
    Study.objects.filter(pk=study.pk).update(generation=Study.Generation.QUEUED, generation_message="queued")
    generate_study_task.enqueue(study.pk, str(study_file))


def queue_regeneration(study: Study) -> None:
    """Generate a draft made through the site (form or API) again: after a failure or a killed worker it resumes.

    Raises :class:`StudyError` ``stimuli_frozen`` for a launched study, ``no_study_file`` for one
    made with ``create_study`` from a file elsewhere on the server.
    """
    study_file = study_dir(study) / "study.toml"
    if study.state != Study.State.DRAFT:
        raise StudyError("stimuli_frozen", slug=study.slug, state=study.state)
    if not study_file.is_file():
        raise StudyError("no_study_file", slug=study.slug)
    queue_generation(study, study_file)
