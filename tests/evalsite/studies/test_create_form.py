"""The create form reports every problem at once and in words, keeps an uploaded zip across a failed submit,
and a draft is launched only after a confirmation page with its plan and cost."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from evalsite.studies import live
from evalsite.studies.forms import CreateStudyForm, KeptUpload
from evalsite.studies.models import Study
from tests.evalsite.conftest import run_tasks_immediately

pytestmark = pytest.mark.django_db

FORM = {
    "slug": "formed",
    "title": "Made in the browser",
    "codecs": ["jpeg", "webp"],
    "bpp": "0.5, 1.0, 2.0",  # a BD-rate needs three bitrates per codec
    "crop": 64,
    "trials_per_rater": 20,
}


@pytest.fixture
def setup(settings, study_file, study_data_dir):
    """Generation in the request, a folder of two small images, and a small plan simulation."""
    run_tasks_immediately(settings)
    settings.STUDY_LADDER_JOBS = 1
    settings.STUDY_IMAGE_ROOT = study_file().parent
    settings.STUDY_PLAN_GRID = (200, 800)
    settings.STUDY_PLAN_REPS = 1
    return settings.STUDY_IMAGE_ROOT


def images_zip(root) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for image in sorted((root / "images").iterdir()):
            archive.write(image, image.name)
    buffer.seek(0)
    buffer.name = "photos.zip"
    return buffer


def errors(response) -> dict[str, list[str]]:
    return {name: list(messages) for name, messages in response.context["form"].errors.items()}


def test_every_problem_is_reported_at_once_at_its_field_in_words(client, alice, setup):
    client.force_login(alice)
    bad = {
        **FORM,
        "slug": "Not A Slug",
        "images_folder": "images",
        "crop": 4000,
        "colour_plates": 4,
        "colour_pass": 6,
        "attention_rate": 0.0,
        "attention_min": 0,
    }
    response = client.post("/studies/new/", bad)
    assert response.status_code == 200
    found = errors(response)
    assert set(found) >= {"slug", "crop", "colour_pass"}  # a form error and study-file problems, in one submit
    assert "smaller than the 4000x4000 crop" in found["crop"][0]
    assert "exceeds “Colour plates” = 4" in found["colour_pass"][0]
    page = response.content.decode()
    assert 'id="form-problems"' in page
    # No TOML key names: not dotted paths, not [section] key, not snake_case keys.
    text = " ".join(message for messages in found.values() for message in messages)
    assert not re.search(r"\b(presentation|screening|rating|completion)\.", text)
    assert "colour_plates" not in text and "[screening]" not in text
    assert not Study.objects.exists()


def test_an_uploaded_zip_is_kept_across_a_failed_submit_and_used_by_the_next(client, alice, setup, study_data_dir):
    client.force_login(alice)
    response = client.post("/studies/new/", {**FORM, "slug": "", "images_zip": images_zip(setup)})
    assert response.status_code == 200
    assert "slug" in errors(response)
    assert "kept: photos.zip (2 images)" in response.content.decode()
    assert "kept: photos.zip" in client.get("/studies/new/").content.decode()

    response = client.post("/studies/new/", FORM)  # no zip this time: the kept one is used
    assert response.status_code == 302, errors(response)
    study = Study.objects.get(slug="formed")
    assert sorted(study.references.values_list("name", flat=True)) == ["photo0", "photo1"]
    assert study.generation == Study.Generation.DONE, study.generation_message
    assert not KeptUpload.of(alice).exists()


def test_a_refused_zip_keeps_the_earlier_one(client, alice, setup):
    client.force_login(alice)
    client.post("/studies/new/", {**FORM, "slug": "", "images_zip": images_zip(setup)})
    junk = io.BytesIO(b"not a zip")
    junk.name = "junk.zip"
    response = client.post("/studies/new/", {**FORM, "images_zip": junk})
    assert "images_zip" in errors(response)
    assert "kept: photos.zip (2 images)" in response.content.decode()


def test_codes_redirects_screening_and_quality_control_reach_the_study(client, alice, setup):
    client.force_login(alice)
    fields = {
        **FORM,
        "images_folder": "images",
        "completion_code": "C0DE1234",
        "completion_redirect": "https://app.prolific.com/submissions/complete?cc={code}",
        "screened_out_code": "SCREENED",
        "colour_plates": 6,
        "colour_pass": 5,
        "artifact_items": 4,
        "artifact_pass": 3,
        "attention_rate": 0.1,
        "min_view_ms": 1500,
        "break_every": 10,
        "design": "balanced",
    }
    assert client.post("/studies/new/", fields).status_code == 302
    study = Study.objects.get(slug="formed")
    assert (study.completion_code, study.outcomes["screened_out"]["code"]) == ("C0DE1234", "SCREENED")
    assert (study.colour_plates, study.colour_pass, study.artifact_items, study.artifact_pass) == (6, 5, 4, 3)
    assert (study.attention_rate, study.min_view_ms, study.break_every) == (0.1, 1500, 10)


def test_the_draft_page_shows_the_plan_and_its_inputs_change_it(client, alice, setup):
    client.force_login(alice)
    client.post("/studies/new/", {**FORM, "images_folder": "images"})
    page = client.get("/studies/formed/").content.decode()
    assert 'id="plan-judgments"' in page and 'id="plan-cost"' in page
    assert "objective metrics of the reconstructions" in page
    cheap = client.get("/studies/formed/", {"hourly_rate": "0", "currency": "EUR"}).content.decode()
    assert re.search(r'id="plan-cost">EUR 0\.00<', cheap)
    wrong = client.get("/studies/formed/", {"target_width": "-3"})
    assert "target_width" in wrong.context["plan_form"].errors
    assert wrong.context["plan"].inputs.target_width == 10.0  # the default plan, and the error at its field


def test_a_draft_launches_only_through_a_confirmation_with_the_plan(client, alice, setup):
    client.force_login(alice)
    client.post("/studies/new/", {**FORM, "images_folder": "images"})
    detail = client.get("/studies/formed/").content.decode()
    assert 'href="/studies/formed/launch/"' in detail
    confirm = client.get("/studies/formed/launch/", {"hourly_rate": "20"})
    page = confirm.content.decode()
    assert 'id="confirm-launch"' in page and 'id="plan-pay"' in page
    assert "20.00 an hour" in page
    assert Study.objects.get(slug="formed").state == Study.State.DRAFT
    response = client.post("/studies/formed/launch/")
    assert response.status_code == 302
    assert Study.objects.get(slug="formed").state == Study.State.LIVE
    assert client.get("/studies/formed/launch/").status_code == 302  # a live study has nothing to confirm


def test_the_plan_confirmed_at_launch_is_the_live_pages_target(client, alice, setup):
    client.force_login(alice)
    client.post("/studies/new/", {**FORM, "images_folder": "images"})
    plan = client.get("/studies/formed/launch/", {"target_width": "20"}).context["plan"]
    assert plan.judgments
    assert (
        'action="/studies/formed/launch/?target_width=20"'
        in client.get("/studies/formed/launch/", {"target_width": "20"}).content.decode()
    )
    client.post("/studies/formed/launch/?target_width=20")
    study = Study.objects.get(slug="formed")
    assert study.state == Study.State.LIVE and study.target_judgments == 0
    target, source = live.judgments_target(study)
    assert target == plan.judgments
    assert "plan confirmed at launch" in source and "20 pp" in source


def test_another_researcher_cannot_see_or_launch_the_draft(client, alice, bob, setup):
    client.force_login(alice)
    client.post("/studies/new/", {**FORM, "images_folder": "images"})
    client.force_login(bob)
    assert client.get("/studies/formed/launch/").status_code == 404
    assert client.post("/studies/formed/launch/").status_code == 404
    assert Study.objects.get(slug="formed").state == Study.State.DRAFT


def test_without_an_immediate_worker_the_page_says_the_plan_is_being_computed(client, alice, setup, settings):
    client.force_login(alice)
    client.post("/studies/new/", {**FORM, "images_folder": "images"})
    client.get("/studies/formed/")  # simulated in the request (immediate backend) and stored
    settings.TASKS = {"default": {**settings.TASKS["default"], "BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    page = client.get("/studies/formed/", {"hourly_rate": "5"}).content.decode()
    assert 'id="plan-judgments"' in page  # other pay, same widths: nothing to simulate
    Study.objects.filter(slug="formed").update(design="adaptive")
    page = client.get("/studies/formed/").content.decode()
    assert 'id="plan-computing"' in page and "a few minutes" in page


def test_key_names_in_messages_become_labels_whole_names_only():
    form = CreateStudyForm()
    words = form.in_words(
        "consent.retention_days: 0; [rating] break_every = 5; set attention_min; consent.retention: x"
    )
    assert words == (
        "“Purge identifiers after (days)”: 0; “Break every” = 5; set “Attention min”; “Data retention (in words)”: x"
    )
