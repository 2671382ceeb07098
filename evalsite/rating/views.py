"""Rater pages: thin views that parse a request, call one service and render or redirect."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from evalsite.rating import access, assignment, geometry, outcomes, selectors, services, serving
from evalsite.rating.access import message_page, rater_page, session_rater, visible_study
from evalsite.rating.errors import RatingError
from evalsite.rating.files import study_files
from evalsite.rating.forms import DisplayForm, JudgmentForm
from evalsite.rating.geometry import Display
from evalsite.rating.models import Judgment, Rater, Trial
from evalsite.rating.tokens import unseal
from evalsite.studies.models import Study

PAGE = require_http_methods(["GET", "POST"])


def _next(rater: Rater) -> HttpResponse:
    return redirect(access.page_for(rater), slug=rater.study.slug)


@never_cache
@require_GET
@access.limit_entries
@access.fresh_session
def entry(request: HttpRequest, slug: str) -> HttpResponse:
    """The study link: start (or resume) this browser's or this crowd id's session."""
    current = session_rater(request, slug)
    study = current.study if current is not None else visible_study(slug)
    crowd_id = request.GET.get("PROLIFIC_PID") or request.GET.get("pid") or ""
    if current is not None and (not crowd_id or crowd_id == current.crowd_id):
        return _next(current)
    try:
        rater = services.start_rater(study=study, params=request.GET, user_agent=request.headers.get("User-Agent", ""))
    except RatingError as exc:
        return message_page(request, study, exc.code)
    request.session[access.session_key(study)] = rater.pk
    return _next(rater)


@never_cache
@require_GET
@access.fresh_session
def preview(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """A researcher's preview link (from the study page): this browser walks the flow as that preview rater."""
    study = visible_study(slug)
    rater = Rater.objects.filter(study=study, token=token, preview=True).first()
    if rater is None:
        raise Http404("No such preview.")
    request.session[access.session_key(study)] = rater.pk
    return _next(rater)


def _paragraphs(text: str) -> list[str]:
    """Plain paragraphs of the study's information sheet: blank lines separate them."""
    return [" ".join(block.split()) for block in text.replace("\r\n", "\n").split("\n\n") if block.strip()]


@never_cache
@PAGE
@rater_page
def consent(request: HttpRequest, study: Study, rater: Rater) -> HttpResponse:
    """Information sheet and consent; declining deletes the rater (nothing identifying is kept)."""
    if request.method == "POST":
        if "agree" not in request.POST:
            services.decline_consent(rater=rater)
            request.session.pop(access.session_key(study), None)
            declined = outcomes.outcome(study, outcomes.DECLINED)
            return render(request, "rating/declined.html", {"study": study, "outcome": declined})
        services.give_consent(rater=rater)
        return redirect("rating:instructions", slug=study.slug)
    return render(
        request,
        "rating/consent.html",
        {"study": study, "paragraphs": _paragraphs(study.consent_text), "preview": rater.preview},
    )


@never_cache
@PAGE
@rater_page
def instructions(request: HttpRequest, study: Study, rater: Rater) -> HttpResponse:
    """What to do, with one worked example."""
    if request.method == "POST":
        services.finish_instructions(rater=rater)
        return redirect("rating:display", slug=study.slug)
    names = serving.example_images(rater)
    example = names and serving.image_urls(
        names, study_slug=study.slug, session_key=request.session.session_key, owner=rater.token
    )
    return render(request, "rating/instructions.html", {"study": study, "example": example})


@never_cache
@PAGE
@rater_page
def display(request: HttpRequest, study: Study, rater: Rater) -> HttpResponse:
    """Window size, zoom and devicePixelRatio, measured by display.js and checked by the service."""
    crop_w, crop_h = geometry.crop_size(study)
    context = {
        "study": study,
        "crop_w": crop_w,
        "crop_h": crop_h,
        "css_pixels": study.high_density == "css_pixels",
        "columns": geometry.columns(study),
        "gap": geometry.GAP_CSS_PX,
        "controls": geometry.CONTROLS_CSS_PX,
    }
    if request.method == "POST":
        form = DisplayForm(request.POST)
        if not form.is_valid():
            return render(request, "rating/display.html", {**context, "error": RatingError("bad_display").message})
        try:
            display = Display(user_agent=request.headers.get("User-Agent", ""), **form.cleaned_data)
            rater = services.record_display(rater=rater, display=display)
        except RatingError as exc:
            if exc.code == "wrong_stage":
                return redirect("rating:entry", slug=study.slug)
            if exc.code in geometry.REFUSED_DEVICE_CODES:
                context["outcome"] = outcomes.outcome(study, outcomes.REFUSED_DEVICE)
            return render(request, "rating/display.html", {**context, "error": exc.message, "code": exc.code})
        return _next(rater)
    return render(request, "rating/display.html", context)


def _break_due(request: HttpRequest, study: Study, judged: int) -> bool:
    return (
        study.break_every > 0
        and 0 < judged < study.trials_per_rater
        and judged % study.break_every == 0
        and request.session.get(f"rating.break.{study.pk}") != judged
    )


@never_cache
@PAGE
@rater_page
def trial(request: HttpRequest, study: Study, rater: Rater) -> HttpResponse:
    """Practice and main comparisons: show the current trial (GET) or record a choice (POST)."""
    if request.method == "POST":
        return _judge(request, study, rater)
    practice = rater.stage == Rater.Stage.PRACTICE
    done = Judgment.objects.filter(trial__rater=rater, trial__kind__in=assignment.MAIN_KINDS).count()
    if request.GET.get("continue") == "1" and _break_due(request, study, done):
        request.session[f"rating.break.{study.pk}"] = done
    elif not practice and _break_due(request, study, done):
        return render(request, "rating/break.html", {"study": study, "done": done})
    try:
        current = services.issue_trial(rater=rater)
    except RatingError as exc:
        return message_page(request, study, exc.code)
    if current is None:
        return redirect("rating:done", slug=study.slug)
    names = serving.trial_images(selectors.trial_files(current, study))
    images = serving.image_urls(
        names, study_slug=study.slug, session_key=request.session.session_key, owner=current.token
    )
    practice_done = rater.trials.filter(kind=Trial.Kind.PRACTICE, judgment__isnull=False).count() if practice else 0
    return render(
        request,
        "rating/trial.html",
        {
            "study": study,
            "trial": current,
            "images": images,
            "flicker": study.mode == Study.Mode.FLICKER,
            "view_both": study.mode == Study.Mode.FLICKER and study.flicker_view_both,
            "practice": practice,
            "practice_number": practice_done + 1,
            "done": done,
            "total": assignment.session_length(current.rater),  # the rater issue_trial read: its study's design is read
        },
    )


def _judge(request: HttpRequest, study: Study, rater: Rater) -> HttpResponse:
    form = JudgmentForm(request.POST)
    if not form.is_valid():
        messages.error(request, RatingError("bad_choice").message)
        return redirect("rating:trial", slug=study.slug)
    data = form.cleaned_data
    try:
        result = services.record_judgment(
            rater=rater,
            trial_token=data["trial"],
            choice=data["choice"],
            response_ms=data["response_ms"],
            switches=data["switches"] or 0,
        )
    except RatingError as exc:
        messages.error(request, exc.message)
        return redirect("rating:trial", slug=study.slug)
    if result.created and result.judgment.trial.kind == Trial.Kind.PRACTICE:
        if result.correct:
            messages.success(request, "Correct: that copy was closer to the original.")
        else:
            messages.warning(request, "Not quite: the other copy was closer to the original. Look for blur and blocks.")
    rater.refresh_from_db(fields=["stage", "excluded"])  # where the judgment moved the rater (the study stays read)
    if result.created and result.judgment.trial.kind == Trial.Kind.PRACTICE and rater.stage == Rater.Stage.TRIALS:
        messages.info(request, "That was the last practice comparison. The study starts now.")
    return _next(rater)


@never_cache
@require_GET
@rater_page
def done(request: HttpRequest, study: Study, rater: Rater) -> HttpResponse:
    """Thank-you page with the completion code and the way back to the crowd platform."""
    return render(
        request,
        "rating/done.html",
        {"study": study, "rater": rater, "redirect_url": services.completion_redirect(rater)},
    )


@never_cache
@require_GET
@rater_page
def stopped(request: HttpRequest, study: Study, rater: Rater) -> HttpResponse:
    """The end for a rater who was screened out or excluded."""
    screened_out = rater.stage == Rater.Stage.SCREENED_OUT
    code, ending = ("screened_out", outcomes.SCREENED_OUT) if screened_out else ("excluded", outcomes.EXCLUDED)
    return message_page(request, study, code, ending=ending)


@require_GET
def image(request: HttpRequest, slug: str, token: str) -> FileResponse:
    """One image, by the opaque URL a page of this session sealed it into; 404 for anything else.

    No database query: the URL holds the stored file's name, which only this session and study
    can unseal. The stored crop or plate is streamed as it is, with no decoding or encoding. Its
    URL names one image of one trial of one rater for good, so the browser may keep it.
    """
    name = unseal(token, study_slug=slug, session_key=request.session.session_key)
    if name is None:
        raise Http404("No such image.")
    try:
        stored = study_files().open(name)
    except FileNotFoundError:
        raise Http404("No such image.") from None
    # A fixed file name: the stored name (a hash of the crop) would tell two trials' images apart or alike.
    response = FileResponse(stored, content_type="image/png", filename="image.png")
    response["Cache-Control"] = "private, max-age=86400, immutable"
    return response
