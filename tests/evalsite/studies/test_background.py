"""Work that runs in the background (django-tasks): generation from the create form, and the full report."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.management import call_command
from django_tasks import TaskResultStatus

from evalsite.rating.tasks import refresh_design_task
from evalsite.studies.models import Stimulus, Study
from evalsite.studies.tasks import generate_study_task, report_task
from tests.evalsite.conftest import run_tasks_immediately

pytestmark = pytest.mark.django_db


@pytest.fixture
def immediate_tasks(settings):
    """Run enqueued tasks at once, in the request, instead of in a db_worker."""
    run_tasks_immediately(settings)
    settings.STUDY_LADDER_JOBS = 1
    settings.STUDY_REPORT_METHOD = "map"


@pytest.fixture
def image_root(settings, tmp_path, study_file):
    """An allowed server folder of images for the create form."""
    settings.STUDY_IMAGE_ROOT = study_file().parent
    return settings.STUDY_IMAGE_ROOT


FORM = {
    "slug": "fromform",
    "title": "Made in the browser",
    "codecs": ["jpeg", "webp"],
    "bpp": "1.0, 2.0",
    "mode": "flicker",
    "crop": 64,
    "trials_per_rater": 20,
    "target_judgments": 500,
    "design": "adaptive",
}


def test_the_create_form_generates_a_study_from_a_server_folder(client, alice, immediate_tasks, image_root):
    client.force_login(alice)
    response = client.post("/studies/new/", {**FORM, "images_folder": "images"})
    assert response.status_code == 302
    assert response.url == "/studies/fromform/"
    study = Study.objects.get(slug="fromform")
    assert study.owner == alice
    assert study.generation == Study.Generation.DONE, study.generation_message
    assert study.mode == "flicker"
    assert study.target_judgments == 500
    assert study.design == Study.Design.ADAPTIVE
    assert study.stimuli.filter(role=Stimulus.Role.CONDITION).count() == 8
    assert "[[codecs]]" in study.study_file
    status = client.get("/studies/fromform/status/").json()
    assert status["generation"] == "done"
    assert status["done"] == status["total"] == 8


def test_the_create_form_takes_a_zip_of_images(client, alice, immediate_tasks, image_root):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for image in sorted((image_root / "images").iterdir()):
            archive.write(image, f"photos/{image.name}")  # folders in the zip are flattened
    buffer.seek(0)
    buffer.name = "images.zip"
    client.force_login(alice)
    response = client.post("/studies/new/", {**FORM, "images_zip": buffer})
    assert response.status_code == 302
    study = Study.objects.get(slug="fromform")
    assert sorted(study.references.values_list("name", flat=True)) == ["photo0", "photo1"]
    assert study.generation == Study.Generation.DONE


def test_the_create_form_reports_problems_before_generating(client, alice, immediate_tasks, image_root):
    client.force_login(alice)
    response = client.post("/studies/new/", {**FORM, "images_folder": "images", "crop": 4000, "bpp": "2, 1"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "smaller than the 4000x4000 crop" in page
    assert "strictly ascending" in page
    assert not Study.objects.exists()


def test_a_folder_outside_the_allowed_root_is_refused(client, alice, immediate_tasks, image_root):
    client.force_login(alice)
    response = client.post("/studies/new/", {**FORM, "images_folder": "../.."})
    assert response.status_code == 200
    assert not Study.objects.exists()


def test_the_full_report_is_computed_on_demand(client, alice, make_study, judge, immediate_tasks, study_data_dir):
    study = make_study()
    for seed in range(3):
        judge(study, n=30, seed=seed)
    client.force_login(alice)
    client.post(f"/studies/{study.slug}/report/")
    folder = study_data_dir / study.slug / "analysis"
    assert {"elo.csv", "bdrate.csv", "raters.csv", "curves.png", "report.html"} <= {p.name for p in folder.iterdir()}
    report = client.get(f"/studies/{study.slug}/analysis/report.html")
    assert report["Content-Type"] == "text/html"
    assert b"<table" in b"".join(report.streaming_content)
    with zipfile.ZipFile(io.BytesIO(client.get(f"/studies/{study.slug}/export/bundle.zip").content)) as bundle:
        assert "analysis/report.html" in bundle.namelist()


def test_the_report_waits_for_judgments(client, alice, make_study, immediate_tasks, study_data_dir):
    study = make_study()
    client.force_login(alice)
    response = client.post(f"/studies/{study.slug}/report/", follow=True)
    assert "Not enough judgments" in response.content.decode()
    assert not (study_data_dir / study.slug / "analysis").exists()


def test_a_failed_generation_can_be_run_again_from_the_page(client, alice, immediate_tasks, image_root, monkeypatch):
    from evalsite.studies import services

    real = services.import_stimuli
    monkeypatch.setattr(services, "import_stimuli", lambda **kwargs: (_ for _ in ()).throw(OSError("disk full")))
    client.force_login(alice)
    client.post("/studies/new/", {**FORM, "images_folder": "images"})
    study = Study.objects.get(slug="fromform")
    assert study.generation == Study.Generation.FAILED
    assert "disk full" in client.get("/studies/fromform/").content.decode()

    monkeypatch.setattr(services, "import_stimuli", real)
    client.post("/studies/fromform/generate/")
    study.refresh_from_db()
    assert study.generation == Study.Generation.DONE
    assert "(0 reconstructions made, 8 reused)" in study.generation_message


@pytest.mark.django_db(transaction=True)
def test_each_kind_of_background_work_has_its_own_queue_so_generation_never_waits_behind_a_report(make_study):
    study = make_study(state=Study.State.DRAFT)
    report = report_task.enqueue(study.pk)
    design = refresh_design_task.enqueue(study.pk)
    generation = generate_study_task.enqueue(study.pk, "/nowhere/study.toml")  # fails fast: no such file
    call_command("db_worker", queue_name="generation", batch=True, reload=False, startup_delay=False, verbosity=0)
    for result in (report, design, generation):
        result.refresh()
    assert generation.status == TaskResultStatus.SUCCESSFUL and generation.return_value == "failed"
    assert report.status == design.status == TaskResultStatus.READY  # waiting for their own workers
    assert {report.task.queue_name, design.task.queue_name, generation.task.queue_name} == {
        "reports",
        "design",
        "generation",
    }
