"""Screening pages: the colour-vision plates and the artifact test, thin over screening services."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from evalsite.rating.access import page_for, rater_page
from evalsite.rating.models import Rater
from evalsite.rating.serving import image_urls
from evalsite.screening import services
from evalsite.screening.errors import ScreeningError
from evalsite.screening.models import ScreeningAttempt
from evalsite.screening.serving import item_images
from evalsite.studies.models import Study


def _answers(form: QueryDict) -> dict[int, str]:
    """The answers of a submitted test by item index (fields ``item-N``)."""
    return {int(name[5:]): form.get(name, "") for name in form if name.startswith("item-") and name[5:].isdigit()}


def _run(request: HttpRequest, study: Study, rater: Rater, kind: str, template: str) -> HttpResponse:
    error = None
    # A submit reads the attempt without a lock (scoring takes it); only showing the test may create one.
    attempt = services.open_attempt(rater=rater, kind=kind) if request.method == "POST" else None
    if attempt is not None:
        try:
            attempt = services.submit_attempt(attempt=attempt, answers=_answers(request.POST))
        except ScreeningError as exc:
            if exc.code not in ("incomplete", "not_a_number"):
                rater.refresh_from_db()
                return redirect(page_for(rater), slug=study.slug)
            error = exc.message
        else:
            return redirect(page_for(attempt.rater), slug=study.slug)
    try:
        attempt = services.start_attempt(rater=rater, kind=kind)
    except ScreeningError as exc:
        return render(request, "rating/message.html", {"study": study, "message": exc.message, "code": exc.code})
    items = []
    for item in attempt.items.all():
        # Answers already given are kept when the page comes back with "please answer every item" or "digits only".
        shown = {"index": item.index, "answer": request.POST.get(f"item-{item.index}", "")}
        urls = image_urls(
            item_images(item, study), study_slug=study.slug, session_key=request.session.session_key, owner=item.token
        )
        if kind == ScreeningAttempt.Kind.COLOUR:
            shown["url"] = urls["plate"]
        else:
            shown["images"] = urls
        items.append(shown)
    return render(request, template, {"study": study, "items": items, "error": error})


@never_cache
@require_http_methods(["GET", "POST"])
@rater_page
def colour(request: HttpRequest, study: Study, rater: Rater) -> HttpResponse:
    """Pseudo-isochromatic plates: type the number you see."""
    return _run(request, study, rater, ScreeningAttempt.Kind.COLOUR, "screening/colour.html")


@never_cache
@require_http_methods(["GET", "POST"])
@rater_page
def artifact(request: HttpRequest, study: Study, rater: Rater) -> HttpResponse:
    """Which of two images differs from the reference."""
    return _run(request, study, rater, ScreeningAttempt.Kind.ARTIFACT, "screening/artifact.html")
