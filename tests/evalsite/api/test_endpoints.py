"""The REST API: every endpoint, its token auth, and the 404-for-others rule of the study pages."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.core.management import call_command
from openapi_spec_validator import validate

from evalsite.api.models import ApiToken
from evalsite.api.services import issue_token, revoke_tokens, token_user
from evalsite.studies.models import Study
from evalsite.studies.services import share_study, study_dir
from tests.evalsite.conftest import run_tasks_immediately, synthetic_photo

pytestmark = pytest.mark.django_db

# Every endpoint of the API; test_the_tests_cover_every_endpoint_in_the_schema keeps this list complete.
STUDY_ENDPOINTS = [
    ("get", "/api/v1/studies/{slug}"),
    ("post", "/api/v1/studies/{slug}/generate"),
    ("post", "/api/v1/studies/{slug}/launch"),
    ("post", "/api/v1/studies/{slug}/pause"),
    ("post", "/api/v1/studies/{slug}/close"),
    ("get", "/api/v1/studies/{slug}/progress"),
    ("get", "/api/v1/studies/{slug}/elo"),
    ("get", "/api/v1/studies/{slug}/plan"),
    ("get", "/api/v1/studies/{slug}/exports/{name}"),
]
ENDPOINTS = [("get", "/api/v1/studies"), ("post", "/api/v1/studies"), *STUDY_ENDPOINTS]
ELO = {("jpeg", 0): 0, ("jpeg", 1): 200, ("jpeg", 2): 400, ("other", 0): 100, ("other", 1): 300, ("other", 2): 500}


def _url(template: str, slug: str = "tiny") -> str:
    return template.format(slug=slug, name="judgments.csv")


def test_the_tests_cover_every_endpoint_in_the_schema(api_client):
    schema = api_client(None).get("/api/v1/openapi.json").json()
    served = {(method, path) for path, operations in schema["paths"].items() for method in operations}
    assert served == set(ENDPOINTS)


def test_the_schema_is_valid_openapi_and_names_the_bearer_scheme(api_client):
    schema = api_client(None).get("/api/v1/openapi.json").json()
    validate(schema)
    assert schema["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"


@pytest.mark.parametrize(("method", "template"), ENDPOINTS)
@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Token pico_abc", "revoked"])
def test_every_endpoint_refuses_a_request_without_a_valid_token(api_client, alice, method, template, header):
    Study.objects.create(slug="tiny", title="Tiny", owner=alice)
    if header == "revoked":
        revoke_tokens(user=alice)
        client = api_client("alice")
    else:
        client = api_client(header)
    response = getattr(client, method)(_url(template))
    assert response.status_code == 401
    assert "tiny" not in response.content.decode()


@pytest.mark.parametrize(("method", "template"), STUDY_ENDPOINTS)
def test_every_study_endpoint_answers_another_researchers_study_as_if_it_did_not_exist(
    api_client, alice, study_data_dir, method, template
):
    Study.objects.create(slug="tiny", title="Tiny", owner=alice)
    other = getattr(api_client("bob"), method)(_url(template))
    missing = getattr(api_client("bob"), method)(_url(template, slug="no-such-study"))
    assert other.status_code == missing.status_code == 404
    assert other.content == missing.content
    assert Study.objects.get(slug="tiny").state == Study.State.DRAFT  # nothing changed


def test_a_shared_study_is_listed_and_readable_for_the_researcher_it_was_shared_with(api_client, alice, bob):
    Study.objects.create(slug="mine", title="Mine", owner=bob)
    shared = Study.objects.create(slug="shared", title="Shared", owner=alice)
    Study.objects.create(slug="private", title="Private", owner=alice)
    share_study(study=shared, user=bob, actor=alice)
    listed = api_client("bob").get("/api/v1/studies").json()
    assert sorted(study["slug"] for study in listed) == ["mine", "shared"]
    assert api_client("bob").get("/api/v1/studies/shared").json()["owner"] == "alice"


def test_a_study_reads_as_its_page_shows_it(api_client, alice):
    Study.objects.create(slug="tiny", title="Tiny", owner=alice, state=Study.State.LIVE)
    study = api_client().get("/api/v1/studies/tiny").json()
    assert study["slug"] == "tiny" and study["state"] == "live" and study["owner"] == "alice"
    assert study["rater_url"] == "http://testserver/s/tiny/"


def test_launch_pause_and_close_move_the_study_and_a_wrong_move_is_refused_with_its_code(api_client, make_study):
    make_study(state=Study.State.DRAFT)
    client = api_client()
    assert client.post("/api/v1/studies/tiny/launch").json()["state"] == "live"
    assert client.post("/api/v1/studies/tiny/pause").json()["state"] == "paused"
    assert client.post("/api/v1/studies/tiny/launch").json()["state"] == "live"
    assert client.post("/api/v1/studies/tiny/close").json()["state"] == "closed"
    refused = client.post("/api/v1/studies/tiny/launch")
    assert refused.status_code == 409
    assert refused.json()["code"] == "bad_transition"
    assert Study.objects.get(slug="tiny").state == Study.State.CLOSED


def test_progress_and_the_elo_preview_follow_the_judgments(api_client, make_study, add_codec, judge_by_elo):
    study = make_study()
    add_codec(study)
    client = api_client()
    assert client.get("/api/v1/studies/tiny/progress").json()["judgments"] == 0
    empty = client.get("/api/v1/studies/tiny/elo")
    assert empty.status_code == 409 and empty.json()["code"] == "not_enough_data"
    judge_by_elo(study, ELO, n=300, seed=1)
    progress = client.get("/api/v1/studies/tiny/progress").json()
    assert progress["judgments"] == 300 and progress["raters_started"] == 1
    assert sum(row["count"] for row in progress["per_image"]) == 300
    elo = client.get("/api/v1/studies/tiny/elo").json()
    assert elo["anchor"] == "jpeg" and elo["method"] == "map"
    by_condition = {(row["codec"], row["level"]): row["elo"] for row in elo["elo"]}
    assert by_condition[("jpeg", 0)] == 0 and by_condition[("jpeg", 2)] > by_condition[("jpeg", 0)]
    assert {row["codec"] for row in elo["bdrate"]} == {"other"}


def test_exports_are_the_study_pages_downloads(api_client, client, make_study, add_codec, judge_by_elo, alice):
    study = make_study()
    add_codec(study)
    judge_by_elo(study, ELO, n=20, seed=1)
    response = api_client().get("/api/v1/studies/tiny/exports/judgments.csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == 'attachment; filename="tiny-judgments.csv"'
    assert len(list(csv.DictReader(io.StringIO(response.content.decode())))) == 20
    client.force_login(alice)
    assert client.get("/studies/tiny/export/judgments.csv").content == response.content
    bundle = api_client().get("/api/v1/studies/tiny/exports/bundle.zip")
    assert "judgments.csv" in zipfile.ZipFile(io.BytesIO(bundle.content)).namelist()
    assert api_client().get("/api/v1/studies/tiny/exports/secrets.csv").status_code == 404


def _images_zip() -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for index in range(2):
            png = io.BytesIO()
            synthetic_photo(96, 64, seed=index + 1).save(png, format="PNG")
            archive.writestr(f"photos/photo{index}.png", png.getvalue())
    buffer.seek(0)
    buffer.name = "images.zip"
    return buffer


STUDY_TOML = """slug = "{slug}"
title = "From the API"
[images]
folder = "{folder}"
[ladder]
bpp = [0.5, 1.0]
[[codecs]]
name = "jpeg"
[presentation]
crop = 64
"""


def _toml(slug: str = "sent", folder: str = "images") -> io.BytesIO:
    upload = io.BytesIO(STUDY_TOML.format(slug=slug, folder=folder).encode())
    upload.name = "study.toml"
    return upload


def test_a_study_file_and_a_zip_of_images_become_a_draft_whose_generation_is_queued(api_client, study_data_dir):
    response = api_client().post("/api/v1/studies", {"study_file": _toml(), "images": _images_zip()})
    assert response.status_code == 201, response.content
    assert response.json()["state"] == "draft" and response.json()["generation"] == "queued"
    study = Study.objects.get(slug="sent")
    assert study.owner.username == "alice" and 'title = "From the API"' in study.study_file
    assert sorted(p.name for p in (study_dir(study) / "images").iterdir()) == ["photo0.png", "photo1.png"]
    assert api_client().post("/api/v1/studies/sent/generate").status_code == 202


def test_a_study_file_naming_a_folder_outside_the_study_is_refused_and_nothing_is_written(api_client, study_data_dir):
    response = api_client().post("/api/v1/studies", {"study_file": _toml(folder="/etc"), "images": _images_zip()})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "study_file" and body["problems"][0].startswith("images.folder:")
    assert not Study.objects.exists() and not (study_data_dir / "sent").exists()


def test_a_broken_study_file_lists_its_problems(api_client, study_data_dir):
    response = api_client().post("/api/v1/studies", {"study_file": _toml(folder="missing")})
    assert response.status_code == 422
    assert any("images.folder" in problem for problem in response.json()["problems"])
    assert not (study_data_dir / "sent").exists()


def test_another_researchers_slug_is_refused_and_their_folder_untouched(api_client, make_study, study_data_dir):
    make_study("taken")
    before = sorted(p.name for p in (study_data_dir / "taken").rglob("*"))
    response = api_client("bob").post("/api/v1/studies", {"study_file": _toml(slug="taken"), "images": _images_zip()})
    assert response.status_code == 409 and response.json()["code"] == "slug_taken"
    assert sorted(p.name for p in (study_data_dir / "taken").rglob("*")) == before


def test_generate_refuses_a_live_study(api_client, make_study):
    make_study(state=Study.State.LIVE)
    response = api_client().post("/api/v1/studies/tiny/generate")
    assert response.status_code == 409 and response.json()["code"] == "stimuli_frozen"


def test_tokens_are_stored_only_as_digests_and_stop_working_when_revoked(alice):
    row, token = issue_token(user=alice, name="laptop")
    assert token.startswith("pico_") and token not in (row.digest, row.hint)
    assert ApiToken.objects.filter(digest=row.digest).exists()
    assert token_user(token) == alice
    assert revoke_tokens(user=alice, name="laptop") == 1
    assert token_user(token) is None


def test_the_command_prints_a_token_that_works(alice, capsys):
    call_command("create_api_token", "alice", "--name", "ci")
    token = capsys.readouterr().out.strip()
    assert token_user(token) == alice


def test_a_deactivated_researchers_token_no_longer_works(api_client, alice):
    client = api_client("alice")
    assert client.get("/api/v1/studies").status_code == 200
    alice.is_active = False
    alice.save()
    assert client.get("/api/v1/studies").status_code == 401


def test_the_plan_is_the_study_pages_with_the_same_inputs_and_a_wrong_input_is_named(
    api_client, client, make_study, add_codec, settings, alice
):
    run_tasks_immediately(settings)
    settings.STUDY_PLAN_GRID = (200, 800)
    settings.STUDY_PLAN_REPS = 1
    study = make_study("tiny", state=Study.State.DRAFT)
    add_codec(study)
    response = api_client().get("/api/v1/studies/tiny/plan", {"hourly_rate": 20, "currency": "EUR"})
    assert response.status_code == 200
    body = response.json()
    assert body["judgments"] > 0 and body["anchor"] == "jpeg" and body["currency"] == "EUR"
    assert body["costs"]["total_cost"] == pytest.approx(body["costs"]["raters"] * body["costs"]["pay_per_rater"])
    assert {row["codec"] for row in body["widths"]} == {"other"}
    client.force_login(alice)
    page = client.get("/studies/tiny/", {"hourly_rate": 20, "currency": "EUR"}).content.decode()
    assert f'id="plan-judgments">{body["judgments"]}<' in page
    assert f'id="plan-cost">EUR {body["costs"]["total_cost"]:.2f}<' in page

    wrong = api_client().get("/api/v1/studies/tiny/plan", {"target_width": 0})
    assert wrong.status_code == 422
    assert wrong.json()["code"] == "plan_inputs"
    assert wrong.json()["problems"][0].startswith("Target width of the 95% BD-rate interval")


def test_a_plan_still_simulating_is_answered_with_202(api_client, make_study, add_codec, settings):
    settings.TASKS = {"default": {**settings.TASKS["default"], "BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    study = make_study("tiny", state=Study.State.DRAFT)
    add_codec(study)
    response = api_client().get("/api/v1/studies/tiny/plan")
    assert response.status_code == 202
    assert response.json()["computing"] is True and response.json()["judgments"] is None
