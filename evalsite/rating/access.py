"""Which rater a request belongs to, and the page that rater's current step lives on."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db.models import Case, Exists, Q, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from evalsite.rating.entry_limit import over_limit
from evalsite.rating.errors import MESSAGES
from evalsite.rating.models import Rater
from evalsite.rating.outcomes import outcome
from evalsite.studies.models import Study

STAGE_PAGE: dict[str, str] = {
    Rater.Stage.CONSENT: "rating:consent",
    Rater.Stage.INSTRUCTIONS: "rating:instructions",
    Rater.Stage.DISPLAY: "rating:display",
    Rater.Stage.COLOUR: "rating:colour",
    Rater.Stage.ARTIFACT: "rating:artifact",
    Rater.Stage.PRACTICE: "rating:trial",
    Rater.Stage.TRIALS: "rating:trial",
    Rater.Stage.DONE: "rating:done",
    Rater.Stage.SCREENED_OUT: "rating:stopped",
    Rater.Stage.EXCLUDED: "rating:stopped",
}

RaterView = Callable[..., HttpResponse]


def session_key(study: Study) -> str:
    """Where the session keeps this study's rater id."""
    return f"rating.rater.{study.pk}"


def _session_raters(session: SessionBase) -> dict[str, object]:
    """The raters this session holds, by session key (one per study)."""
    return {key: value for key, value in session.items() if key.startswith("rating.rater.")}


def session_rater_ids(session: SessionBase) -> list[int]:
    """Every rater this session holds, whatever the study (a browser rarely holds more than one)."""
    return [int(rater) for rater in _session_raters(session).values()]  # type: ignore[call-overload]


def visible_study(slug: str) -> Study:
    """The study of a rater link; drafts do not exist for raters."""
    return get_object_or_404(Study.objects.exclude(state=Study.State.DRAFT), slug=slug)


def _digest(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()


def bind_session(session: SessionBase) -> None:
    """Record in the session's raters that this session (its current key) holds them, and in no other rater.

    The rater pages then find their rater by the session key alone (``session_rater``).
    """
    if not session.session_key:
        return
    digest, raters = _digest(session.session_key), session_rater_ids(session)
    Rater.objects.filter(Q(session_digest=digest) | Q(pk__in=raters)).update(
        session_digest=Case(When(pk__in=raters, then=Value(digest)), default=Value(""))
    )


def session_rater(request: HttpRequest, slug: str) -> Rater | None:
    """The rater this browser session belongs to in the study ``slug``, with the study.

    One query on a rater's every page: the rater bound to the session's key, while that session
    is live, without reading the session. A session whose key changed since (a login) or whose
    raters were set without binding is read and bound again.
    """
    key = request.session.session_key
    if not key:
        return None
    found = Rater.objects.select_related("study").exclude(study__state=Study.State.DRAFT).filter(study__slug=slug)
    if isinstance(request.session, DatabaseSessionStore):
        live = request.session.get_model_class().objects.filter(session_key=key, expire_date__gt=timezone.now())
        rater = found.filter(Exists(live), session_digest=_digest(key)).first()
        if rater is not None:
            return rater
    raters = session_rater_ids(request.session)
    if not raters:
        return None
    rater = found.filter(pk__in=raters).first()
    if rater is not None:
        bind_session(request.session)
    return rater


def page_for(rater: Rater) -> str:
    """URL name of the page for the rater's current step (excluded raters are stopped)."""
    if rater.excluded and rater.stage != Rater.Stage.DONE:
        return "rating:stopped"
    return STAGE_PAGE[rater.stage]


def message_page(
    request: HttpRequest, study: Study, code: str, *, status: int = 200, ending: str | None = None
) -> HttpResponse:
    """A page that only says why the rater cannot go on (or not now); with ``ending`` (an outcome), its code and way back."""
    context = {"study": study, "message": MESSAGES[code], "code": code}
    if ending is not None:
        context["outcome"] = outcome(study, ending)
    return render(request, "rating/message.html", context, status=status)


def rater_page(view: RaterView) -> RaterView:
    """Decorator: load study and rater; send a rater whose step is elsewhere to that step's page.

    The view's name is its URL name, so a returning rater always lands on their current step.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, slug: str, *args: object, **kwargs: object) -> HttpResponse:
        rater = session_rater(request, slug)
        if rater is None:
            return redirect("rating:entry", slug=visible_study(slug).slug)
        study = rater.study
        target = page_for(rater)
        if target != f"rating:{view.__name__}":
            return redirect(target, slug=study.slug)
        if study.state != Study.State.LIVE and target not in ("rating:done", "rating:stopped"):
            return message_page(request, study, "study_paused" if study.state == Study.State.PAUSED else "study_closed")
        return view(request, study, rater, *args, **kwargs)

    return wrapper


def limit_entries(view: RaterView) -> RaterView:
    """Decorator for the study link: past RATER_ENTRIES_PER_MINUTE from one address, a "wait a minute" page (429)."""

    @wraps(view)
    def wrapper(request: HttpRequest, slug: str, *args: object, **kwargs: object) -> HttpResponse:
        limit = settings.RATER_ENTRIES_PER_MINUTE
        if limit and over_limit(request, per_minute=limit):
            return message_page(request, visible_study(slug), "too_many_entries", status=429)
        return view(request, slug, *args, **kwargs)

    return wrapper


def fresh_session(view: RaterView) -> RaterView:
    """Decorator: when the view attaches a rater to this browser's session, the session gets a new key.

    So a session id planted in a rater's browser beforehand (session fixation) never comes to hold a rater.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, slug: str, *args: object, **kwargs: object) -> HttpResponse:
        before = _session_raters(request.session)
        response = view(request, slug, *args, **kwargs)
        if any(rater != before.get(key) for key, rater in _session_raters(request.session).items()):
            request.session.cycle_key()
            bind_session(request.session)
        return response

    return wrapper
