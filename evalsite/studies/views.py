"""Researcher pages: thin views over services and selectors; every page needs a login and a visible study."""

from __future__ import annotations

import math
import mimetypes
import shutil
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from evalsite.errors import CodedError
from evalsite.rating import results
from evalsite.studies import crops, exports, figures, live, planning, selectors, services, tasks
from evalsite.studies.config import StudyFileError, load_study_file
from evalsite.studies.forms import CreateStudyForm, KeptUpload, PlanForm
from evalsite.studies.models import Reference, Stimulus, Study
from evalsite.studies.scores import Scores, preview_scores
from evalsite.studies.services import analysis_dir


class AuthenticatedHttpRequest(HttpRequest):
    """A request past ``login_required``: its user is a researcher, never anonymous."""

    user: User


@login_required
def study_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Studies the researcher owns or that were shared with them."""
    studies = (
        selectors.visible_studies(request.user)
        .select_related("owner")
        .annotate(n_raters=Count("raters", distinct=True))
    )
    return render(request, "studies/list.html", {"studies": studies})


@login_required
def study_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The create-study form: every problem at once, in words, and a zip kept across failed tries.

    Generation then runs in the background and the study page shows its progress and the plan.
    """
    kept = KeptUpload.of(request.user)
    form = CreateStudyForm(request.POST or None, request.FILES or None, kept=kept)
    if request.method == "POST":
        form.is_valid()
        with tempfile.TemporaryDirectory(prefix="pico-check-") as tmp:
            checked = form.check_study_file(Path(tmp))
        if checked is not None and form.is_valid():  # errors the check added make the form invalid
            study = _create_study(request, form)
            if study is not None:
                kept.clear()
                return redirect("studies:detail", slug=study.slug)
    return render(request, "studies/create.html", {"form": form, "kept": kept if kept.exists() else None})


def _create_study(request: AuthenticatedHttpRequest, form: CreateStudyForm) -> Study | None:
    """Write the checked form's study file and images into the study's folder, register the draft, queue generation."""
    slug = form.cleaned_data["slug"]
    folder = services.study_dir(slug)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        images = form.images_dir(folder / "upload")
        study_file = folder / "study.toml"
        study_file.write_text(form.study_toml(images), encoding="utf-8")
        config = load_study_file(study_file)
    except (ValidationError, StudyFileError) as exc:
        # No study row exists for this slug (the form checked), so its folder holds only this attempt.
        shutil.rmtree(folder, ignore_errors=True)
        problems = exc.problems if isinstance(exc, StudyFileError) else exc.messages
        for problem in problems:
            form.add_error(None, form.in_words(str(problem)))
        return None
    study = services.register_study(config=config, owner=request.user, study_file=study_file.read_text())
    tasks.queue_generation(study, study_file)
    messages.info(request, f"Study {slug} is being generated; this page updates as it goes.")
    for warning in config.warnings:
        messages.warning(request, form.in_words(str(warning)))
    return study


def _plan_context(request: AuthenticatedHttpRequest, study: Study) -> dict[str, Any]:
    """The plan and cost of a draft for the inputs in the query string (``studies.planning``), and their form."""
    if study.generation not in (Study.Generation.DONE, Study.Generation.NONE):
        return {"plan": None, "plan_form": None}
    visible = list(selectors.visible_studies(request.user).exclude(pk=study.pk))
    given = any(name in request.GET for name in PlanForm.base_fields)
    form = PlanForm(request.GET if given else None, studies=visible)
    plan = planning.study_plan(study, form.inputs(), visible=visible, queue=tasks.queue_plan)
    return {"plan": plan, "plan_form": form, "plan_query": request.GET.urlencode()}


@login_required
def study_detail(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """The study page: state and actions, progress, Elo preview, stimuli gallery, raters and exports."""
    study = selectors.study_for(request.user, slug)
    references = study.references.prefetch_related("stimuli")
    gallery = [
        (reference, [s for s in reference.stimuli.all() if s.role == Stimulus.Role.CONDITION])
        for reference in references
    ]
    scores = preview_scores(study) if study.state != Study.State.DRAFT else None
    judgments_now = live.judgments_now(study)
    raters = selectors.rater_rows(study)
    reliability = dict(zip(scores.raters["rater"], scores.raters["reliability"], strict=True)) if scores else {}
    for row in raters:
        row["reliability"] = _value(reliability.get(row["rater"]))
    return render(
        request,
        "studies/detail.html",
        {
            "study": study,
            "progress": results.study_progress(study),
            "scores": _scores_context(scores),
            "gallery": gallery,
            "raters": raters,
            "rater_url": request.build_absolute_uri(results.rater_link(study)),
            # Appended, not resolved: build_absolute_uri would percent-encode Prolific's {{%...%}} placeholders.
            "prolific_url": request.build_absolute_uri(results.rater_link(study)) + "?" + results.PROLIFIC_QUERY,
            "outcomes": results.study_outcomes(study),
            "report_stamp": live.report_stamp(analysis_dir(study), judgments_now),
            "report_state": tasks.report_state(study),
            "pace": live.pace(study) if study.state != Study.State.DRAFT else None,
            "curves_key": judgments_now,
            "generation_words": live.generation_in_words(study.generation, study.generation_message),
            "events": study.events.select_related("actor")[:20],
            **(_plan_context(request, study) if study.state == Study.State.DRAFT else {}),
        },
    )


def _value(value: object) -> object:
    """A table cell for a template: NaN (pandas' missing value) becomes None."""
    return None if isinstance(value, float) and math.isnan(value) else value


def _scores_context(scores: Scores | None) -> dict | None:
    if scores is None:
        return None
    elo = [{k: _value(v) for k, v in row.items()} for row in scores.elo.to_dict("records")]
    bdrate = [{k: _value(v) for k, v in row.items()} for row in scores.bdrate.to_dict("records")]
    for row in bdrate:
        if row["reason"]:
            row["reason"] = live.reason_in_words(
                str(row["reason"]), codec=str(row["codec"]), anchor=scores.anchor, elo=elo
            )
    return {"anchor": scores.anchor, "elo": elo, "bdrate": bdrate}


@login_required
def study_status(request: AuthenticatedHttpRequest, slug: str) -> JsonResponse:
    """Generation progress and judgment counts, polled by the study page."""
    study = selectors.study_for(request.user, slug)
    progress = results.study_progress(study)
    return JsonResponse(
        {
            "state": study.state,
            "generation": study.generation,
            "done": study.generation_done,
            "total": study.generation_total,
            "message": study.generation_message,
            "words": live.generation_in_words(study.generation, study.generation_message),
            "judgments": progress["judgments"],
            "raters_started": progress["raters_started"],
        }
    )


@login_required
def study_launch(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """Launch a draft after a confirmation page that shows its plan and cost (POST launches)."""
    study = selectors.study_for(request.user, slug)
    if study.state != Study.State.DRAFT:
        messages.error(request, f"Study {study.slug} is {study.state}: only a draft is launched from here.")
        return redirect("studies:detail", slug=slug)
    context = _plan_context(request, study)
    if request.method == "POST":
        response = study_action(request, slug, "launch")
        study.refresh_from_db()
        if study.state == Study.State.LIVE and context["plan"] is not None:
            planning.keep_launch_plan(study, context["plan"])
        return response
    return render(request, "studies/launch.html", {"study": study, **context})


ACTIONS = {"launch": services.launch_study, "pause": services.pause_study, "close": services.close_study}


@login_required
@require_POST
def study_action(request: AuthenticatedHttpRequest, slug: str, action: str) -> HttpResponse:
    """Launch, pause, resume or close the study."""
    study = selectors.study_for(request.user, slug)
    if action not in ACTIONS:
        raise Http404("No such action")
    try:
        ACTIONS[action](study=study, actor=request.user)
        messages.success(request, f"Study {study.slug} is now {study.state}.")
    except services.StudyError as exc:
        messages.error(request, str(exc))
    return redirect("studies:detail", slug=slug)


@login_required
@require_POST
def rater_exclusion(request: AuthenticatedHttpRequest, slug: str, rater_id: int) -> HttpResponse:
    """Exclude a rater (with a reason) or include them again."""
    study = selectors.study_for(request.user, slug)
    rater = get_object_or_404(study.raters, pk=rater_id)
    if request.POST.get("include"):
        services.include_rater(study=study, rater=rater, actor=request.user)
        messages.success(request, f"Rater r{rater.pk} is included again.")
    else:
        reason = request.POST.get("reason", "").strip() or "excluded by the researcher"
        services.exclude_rater(study=study, rater=rater, reason=reason, actor=request.user)
        messages.success(request, f"Rater r{rater.pk} is excluded: {reason}.")
    return redirect(reverse("studies:detail", kwargs={"slug": study.slug}) + "#raters")


@login_required
@require_POST
def study_preview(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """Walk the live study as a rater would, in this browser; the preview is left out of the study's data."""
    study = selectors.study_for(request.user, slug)
    try:
        rater = services.preview_study(study=study, actor=request.user)
    except CodedError as exc:
        messages.error(request, f"No preview: {exc.message}")
        return redirect("studies:detail", slug=slug)
    return redirect(results.preview_link(rater))


@login_required
@require_POST
def study_generate(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """Run the generation of a draft made with the form again: after a failure or a killed worker it resumes."""
    study = selectors.study_for(request.user, slug)
    try:
        tasks.queue_regeneration(study)
    except services.StudyError as exc:
        messages.error(request, exc.message)
    else:
        messages.info(request, "Generation queued; finished reconstructions are reused.")
    return redirect("studies:detail", slug=slug)


@login_required
@require_POST
def study_share(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """Share the study with another researcher (owner only)."""
    study = selectors.study_for(request.user, slug)
    username = request.POST.get("username", "").strip()
    other = get_user_model().objects.filter(username=username).first()
    if study.owner_id != request.user.pk:
        messages.error(request, "Only the study's owner can share it.")
    elif other is None or other.pk == request.user.pk:
        messages.error(request, f"No other researcher is called {username!r}.")
    else:
        services.share_study(study=study, user=other, actor=request.user)
        messages.success(request, f"{other.get_username()} can now see and manage this study.")
    return redirect("studies:detail", slug=slug)


@login_required
@require_POST
def study_report(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """Start the full analysis (posterior fit, curves, BD-rate table) in the background."""
    study = selectors.study_for(request.user, slug)
    if preview_scores(study) is None:
        messages.error(request, "Not enough judgments to fit yet: every condition must be compared at least once.")
    else:
        tasks.queue_report(study)
        messages.info(request, "The full report is being computed (a minute or two); reload this page to open it.")
    return redirect("studies:detail", slug=slug)


ANALYSIS_FILES = (
    "report.html",
    "curves.png",
    "winrates.png",
    "elo.csv",
    "bdrate.csv",
    "objective_bdrate.csv",
    "raters.csv",
)


@login_required
def study_export(request: AuthenticatedHttpRequest, slug: str, name: str) -> HttpResponse:
    """Download judgments.csv, manifest.csv, raters.csv or the bundle zip, made fresh from the database."""
    study = selectors.study_for(request.user, slug)
    if name not in exports.EXPORTS:
        raise Http404("No such export")
    with tempfile.TemporaryDirectory(prefix="pico-export-") as tmp:
        include_excluded = request.GET.get("include_excluded") == "1"
        path = exports.write_export(study, name, Path(tmp), include_excluded=include_excluded)
        response = HttpResponse(path.read_bytes(), content_type=exports.content_type(name))
    response["Content-Disposition"] = f'attachment; filename="{exports.download_name(study, name)}"'
    return response


@login_required
def study_analysis_file(request: AuthenticatedHttpRequest, slug: str, name: str) -> HttpResponse | FileResponse:
    """An output of the last full report (report.html is shown in the browser, marked when stale; the rest downloaded)."""
    study = selectors.study_for(request.user, slug)
    path = analysis_dir(study) / name
    if name not in ANALYSIS_FILES or not path.is_file():
        raise Http404("Not computed yet")
    stamp = live.report_stamp(analysis_dir(study), live.judgments_now(study)) if name == "report.html" else None
    if stamp is not None and stamp.stale:
        return HttpResponse(live.stale_banner(path.read_text(encoding="utf-8"), stamp))
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileResponse(path.open("rb"), content_type=content_type, as_attachment=name.endswith(".csv"))


def _image_path(study: Study, kind: str, pk: int) -> Path:
    """The file of a reference or reconstruction of ``study``; 404 for anything else or a missing file."""
    item: Reference | Stimulus
    if kind == "reference":
        item = get_object_or_404(study.references, pk=pk)
    elif kind == "stimulus":
        item = get_object_or_404(study.stimuli, pk=pk)
    else:
        raise Http404("No such image kind")
    path = (Path(settings.STUDY_DATA_DIR) / item.path).resolve()
    if not path.is_file():
        raise Http404("Image file missing")
    return path


@login_required
def study_image(request: AuthenticatedHttpRequest, slug: str, kind: str, pk: int) -> FileResponse:
    """A reference or reconstruction of a visible study, for the gallery (researchers only: codec names show here)."""
    path = _image_path(selectors.study_for(request.user, slug), kind, pk)
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
def study_live_curves(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """The rate–Elo curves of the MAP preview as a PNG (cached until a judgment arrives)."""
    study = selectors.study_for(request.user, slug)
    png = figures.curves_png(study) if study.state != Study.State.DRAFT else None
    if png is None:
        raise Http404("Not enough judgments to fit yet")
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, no-cache"  # the page's link changes with the judgments; this one revalidates
    return response


@login_required
def study_crops(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """Choose each reference's crop by eye: the reference at 1:1 pixels, a draggable window, the reconstructions there."""
    study = selectors.study_for(request.user, slug)
    rows = []
    for reference in study.references.prefetch_related("stimuli"):
        centre = crops.centre_corner(reference.width, reference.height, study.crop_width, study.crop_height)
        limits = crops.crop_limits(reference.width, reference.height, study.crop_width, study.crop_height)
        stimuli = [s for s in reference.stimuli.all() if s.role == Stimulus.Role.CONDITION]
        x = centre[0] if reference.crop_x is None else reference.crop_x
        y = centre[1] if reference.crop_y is None else reference.crop_y
        rows.append(
            {"reference": reference, "x": x, "y": y, "max_x": limits[0], "max_y": limits[1], "stimuli": stimuli}
        )
    return render(
        request, "studies/crops.html", {"study": study, "rows": rows, "editable": study.state == Study.State.DRAFT}
    )


@login_required
@require_POST
def crop_save(request: AuthenticatedHttpRequest, slug: str, pk: int) -> HttpResponse:
    """Save a reference's crop (drafts only: a launched study's crops are frozen)."""
    study = selectors.study_for(request.user, slug)
    reference = get_object_or_404(study.references, pk=pk)
    try:
        x, y = int(request.POST.get("x", "")), int(request.POST.get("y", ""))
    except ValueError:
        messages.error(request, "The crop's x and y must be whole numbers of pixels.")
    else:
        try:
            services.save_crop(study=study, reference=reference, x=x, y=y, actor=request.user)
        except services.StudyError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Crop of {reference.name} saved at ({x}, {y}).")
    return redirect(reverse("studies:crops", kwargs={"slug": slug}) + f"#crop-{reference.pk}")


@login_required
def crop_preview(request: AuthenticatedHttpRequest, slug: str, kind: str, pk: int) -> HttpResponse:
    """A reference or reconstruction at the crop ``?x=&y=`` (top-left, reference pixels), for the crop page."""
    study = selectors.study_for(request.user, slug)
    path = _image_path(study, kind, pk)
    try:
        x, y = int(request.GET.get("x", "0")), int(request.GET.get("y", "0"))
    except ValueError as exc:
        raise Http404("x and y must be whole numbers") from exc
    png = crops.crop_preview_png(path, x, y, study.crop_width, study.crop_height)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response
