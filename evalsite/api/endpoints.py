"""The researchers' REST API under /api/v1/: create, generate, launch, pause and close studies, read
their progress and Elo preview, download their exports. OpenAPI schema: /api/v1/openapi.json.

Every request carries ``Authorization: Bearer <token>`` (``manage.py create_api_token``) and acts as
that researcher: it sees exactly the studies their pages show (their own and shared ones), and any
other slug is 404, as on the pages. Refusals carry a stable ``code`` (docs/api.md).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from ninja import File, NinjaAPI, Status, UploadedFile
from ninja.security import HttpBearer

from evalsite.api.schemas import CostsOut, EloOut, Error, PlanOut, ProgressOut, StudyOut
from evalsite.api.services import token_user
from evalsite.api.submissions import submit_study
from evalsite.rating import results
from evalsite.studies import exports, planning, selectors, services, tasks
from evalsite.studies.config import StudyFileError
from evalsite.studies.forms import PlanForm
from evalsite.studies.models import Study
from evalsite.studies.scores import preview_scores


class BearerToken(HttpBearer):
    """A researcher's API token; the request then acts as that researcher."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        return token_user(token)


api = NinjaAPI(
    title="PICO Eval",
    version="1",
    description="Researchers' API: the study pages' actions and downloads. See docs/api.md.",
    urls_namespace="api",
    auth=BearerToken(),
)


@api.exception_handler(services.StudyError)
def _study_error(request: HttpRequest, exc: services.StudyError) -> HttpResponse:
    return api.create_response(request, {"code": exc.code, "message": exc.message, "problems": []}, status=409)


@api.exception_handler(StudyFileError)
def _study_file_error(request: HttpRequest, exc: StudyFileError) -> HttpResponse:
    body = {
        "code": "study_file",
        "message": f"{len(exc.problems)} problem(s) in the study file",
        "problems": [str(p) for p in exc.problems],
    }
    return api.create_response(request, body, status=422)


def _researcher(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]  # set by BearerToken
    assert isinstance(user, User)
    return user


def _study(request: HttpRequest, slug: str) -> Study:
    return selectors.study_for(_researcher(request), slug)


def _out(request: HttpRequest, study: Study) -> dict[str, Any]:
    study.refresh_from_db()
    fields = {name: getattr(study, name) for name in StudyOut.model_fields if hasattr(study, name)}
    return fields | {
        "owner": study.owner.get_username(),
        "rater_url": request.build_absolute_uri(results.rater_link(study)),
    }


@api.get("/studies", response=list[StudyOut], summary="Studies you own or that were shared with you")
def list_studies(request: HttpRequest) -> list[dict[str, Any]]:
    return [_out(request, study) for study in selectors.visible_studies(_researcher(request)).select_related("owner")]


@api.post(
    "/studies",
    response={201: StudyOut, 409: Error, 422: Error},
    summary="Create (or update your draft) from a study file and, optionally, a zip of its images; generation is queued",
)
def create_study(
    request: HttpRequest, study_file: File[UploadedFile], images: UploadedFile | None = File(None)
) -> Status[dict[str, Any]]:
    study = submit_study(owner=_researcher(request), study_file=study_file.read(), images=images)
    return Status(201, _out(request, study))


@api.get("/studies/{slug}", response=StudyOut, summary="A study's state and generation progress")
def get_study(request: HttpRequest, slug: str) -> dict[str, Any]:
    return _out(request, _study(request, slug))


@api.post(
    "/studies/{slug}/generate", response={202: StudyOut, 409: Error}, summary="Queue (or resume) a draft's generation"
)
def generate(request: HttpRequest, slug: str) -> Status[dict[str, Any]]:
    study = _study(request, slug)
    tasks.queue_regeneration(study)
    return Status(202, _out(request, study))


@api.post(
    "/studies/{slug}/launch",
    response={200: StudyOut, 409: Error},
    summary="Open the rater link (draft or paused -> live)",
)
def launch(request: HttpRequest, slug: str) -> dict[str, Any]:
    return _out(request, services.launch_study(study=_study(request, slug), actor=_researcher(request)))


@api.post(
    "/studies/{slug}/pause",
    response={200: StudyOut, 409: Error},
    summary="Stop issuing trials for a while (live -> paused)",
)
def pause(request: HttpRequest, slug: str) -> dict[str, Any]:
    return _out(request, services.pause_study(study=_study(request, slug), actor=_researcher(request)))


@api.post(
    "/studies/{slug}/close",
    response={200: StudyOut, 409: Error},
    summary="End data collection for good (live or paused -> closed)",
)
def close(request: HttpRequest, slug: str) -> dict[str, Any]:
    return _out(request, services.close_study(study=_study(request, slug), actor=_researcher(request)))


@api.get(
    "/studies/{slug}/progress", response=ProgressOut, summary="Judgments per condition and image, raters by outcome"
)
def progress(request: HttpRequest, slug: str) -> dict[str, Any]:
    return results.study_progress(_study(request, slug))


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value.item() if hasattr(value, "item") else value


@api.get("/studies/{slug}/elo", response={200: EloOut, 409: Error}, summary="The Elo preview (MAP fit) and BD-rates")
def elo(request: HttpRequest, slug: str) -> Status[dict[str, Any]]:
    scores = preview_scores(_study(request, slug))
    if scores is None:
        message = "Not enough judgments to fit yet: every condition must be compared at least once."
        return Status(409, {"code": "not_enough_data", "message": message, "problems": []})
    tables = {
        name: [{k: _json_value(v) for k, v in row.items()} for row in frame.to_dict("records")]
        for name, frame in (("elo", scores.elo), ("bdrate", scores.bdrate))
    }
    return Status(200, {"anchor": scores.anchor, "method": scores.method, **tables})


@api.get(
    "/studies/{slug}/plan",
    response={200: PlanOut, 202: PlanOut, 422: Error},
    summary="The plan before launch: judgments and raters for a target BD-rate interval width, minutes, pay, "
    "total cost and time to finish (202 while the simulation runs)",
)
def plan(
    request: HttpRequest,
    slug: str,
    target_width: float = planning.DEFAULT_TARGET_WIDTH,
    seconds_per_trial: float | None = None,
    hourly_rate: float = planning.DEFAULT_HOURLY_RATE,
    currency: str = planning.DEFAULT_CURRENCY,
    arrivals_per_hour: float = planning.DEFAULT_ARRIVALS_PER_HOUR,
    pilot: str = "",
) -> Status[dict[str, Any]]:
    study = _study(request, slug)
    visible = list(selectors.visible_studies(_researcher(request)).exclude(pk=study.pk))
    given = {
        "target_width": target_width,
        "seconds_per_trial": "" if seconds_per_trial is None else seconds_per_trial,
        "hourly_rate": hourly_rate,
        "currency": currency,
        "arrivals_per_hour": arrivals_per_hour,
        "pilot": pilot,
    }
    form = PlanForm(given, studies=visible)
    if not form.is_valid():
        problems = [f"{form[name].label}: {message}" for name, messages in form.errors.items() for message in messages]
        return Status(422, {"code": "plan_inputs", "message": "the plan's inputs are wrong", "problems": problems})
    inputs = form.inputs()
    result = planning.study_plan(study, inputs, visible=visible, queue=tasks.queue_plan)
    body = {
        **{name: getattr(inputs, name) for name in ("target_width", "hourly_rate", "currency", "arrivals_per_hour")},
        **{name: getattr(result, name) for name in PlanOut.model_fields if hasattr(result, name)},
    }
    if result.costs is not None:
        body["costs"] = {name: getattr(result.costs, name) for name in CostsOut.model_fields}
    return Status(202 if result.computing else 200, body)


@api.get(
    "/studies/{slug}/exports/{name}",
    response={200: None},
    summary="An export made fresh from the database: " + ", ".join(exports.EXPORTS),
    openapi_extra={
        "responses": {
            200: {"description": "The file", "content": {"text/csv": {}, "application/zip": {}, "text/plain": {}}}
        }
    },
)
def export(request: HttpRequest, slug: str, name: str, include_excluded: bool = False) -> HttpResponse:
    study = _study(request, slug)
    if name not in exports.EXPORTS:
        return api.create_response(request, {"detail": "Not Found"}, status=404)
    with tempfile.TemporaryDirectory(prefix="pico-export-") as tmp:
        path = exports.write_export(study, name, Path(tmp), include_excluded=include_excluded)
        response = HttpResponse(path.read_bytes(), content_type=exports.content_type(name))
    response["Content-Disposition"] = f'attachment; filename="{exports.download_name(study, name)}"'
    return response
