"""Background work of the researcher pages, run by the django-tasks worker (``manage.py db_worker``)."""

from __future__ import annotations

from pathlib import Path

from django_tasks import TaskResultStatus, task
from django_tasks.exceptions import TaskException

from evalsite.studies import planning
from evalsite.studies.config import StudyFileError, load_study_file
from evalsite.studies.live import report_task_in_words
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


@task(queue_name="reports")
def plan_task(study_id: int, pilot: str = "") -> str:
    """Simulate the BD-rate interval widths of a study's plan (``studies.planning``) and store them with the study."""
    study = Study.objects.get(pk=study_id)
    visible = list(Study.objects.filter(slug=pilot)) if pilot else []  # the page checked the researcher may see it
    planning.study_plan(study, planning.PlanInputs(pilot=pilot), visible=visible, compute=True)
    return "done"


def queue_plan(study: Study, inputs: planning.PlanInputs) -> None:
    """Hand the simulation of a plan to the worker (the reports queue: it never holds up generation)."""
    plan_task.enqueue(study.pk, inputs.pilot)


REPORT_REQUEST = "report-task.txt"
"""In the study's folder (not in ``analysis/``, which the bundle ships): the id of the last report task queued."""


def queue_report(study: Study) -> None:
    """Hand the full report to the reports worker, and note its task so the study page can say how it goes."""
    result = report_task.enqueue(study.pk)
    study_dir(study).mkdir(parents=True, exist_ok=True)
    (study_dir(study) / REPORT_REQUEST).write_text(result.id, encoding="utf-8")


def report_state(study: Study) -> str | None:
    """The last queued full report in words while it waits, runs or after it failed; None once done or unknown.

    Unknown: no report was queued from the site, or the task backend keeps no results (the
    immediate backend of tests and demos runs the report in the request).
    """
    try:
        result = report_task.get_result((study_dir(study) / REPORT_REQUEST).read_text(encoding="utf-8").strip())
    except (OSError, NotImplementedError, TaskException):
        return None
    if result.status == TaskResultStatus.SUCCESSFUL:
        return None
    error = result.errors[-1].traceback.strip().splitlines()[-1] if result.errors else ""
    return report_task_in_words(result.status, result.started_at, error)


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
