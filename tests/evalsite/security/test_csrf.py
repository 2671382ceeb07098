"""CSRF on every POST: each URL of the site's URLconf, posted without a token, is refused before its view runs.

The URLs come from the resolver, so a page added later is covered without editing this file.
The researchers' API is the exception by design: it authenticates by a bearer token in a
header, which a browser never sends on its own, and a session cookie alone does not
authenticate it (checked here for every endpoint).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from evalsite.rating.models import Judgment, Rater
from evalsite.studies.models import Study
from tests.evalsite.security.conftest import trial_token

pytestmark = pytest.mark.django_db

API_PREFIX = "/api/v1/"
CSRF_FAILED = b"CSRF verification failed"


def _routes(patterns: list, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    """Every URL pattern of the URLconf with its full route (path() routes and admin's regexes mixed)."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def _first_alternative(regex: str) -> str:
    return "x" if regex in (".*", ".+") else regex.split("|")[0]


def _concrete(route: str, values: dict[str, str]) -> str:
    """A URL for ``route``: each parameter from ``values`` by name (else "x"), each regex group its first alternative."""
    url = re.sub(r"\(\?P<(\w+)>([^)]*)\)", lambda m: values.get(m.group(1), _first_alternative(m.group(2))), route)
    url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m.group(1), "x"), url)
    return "/" + url.replace("^", "").replace("$", "")


@pytest.fixture
def world(study, walk_rater, django_user_model):
    """A staff researcher who owns the study, logged in, and a rater at a trial in the same browser session."""
    client = Client(enforce_csrf_checks=True)
    staff = django_user_model.objects.create_superuser("staff", "staff@example.org", "pw-not-used")
    Study.objects.filter(pk=study.pk).update(owner=staff)
    client.force_login(staff)
    rater = walk_rater(study, Rater.Stage.TRIALS, client=client)
    token = trial_token(client.get(f"/s/{study.slug}/compare/"))
    stimulus = study.stimuli.first()
    values = {
        "slug": study.slug,
        "rater_id": str(rater.pk),
        "pk": str(stimulus.pk),
        "object_id": str(stimulus.pk),
        "action": "close",
        "kind": "stimulus",
        "name": "judgments.csv",
        "token": rater.token,
    }
    return client, study, rater, token, values


def test_every_post_without_a_csrf_token_is_refused_before_the_view_runs(world):
    client, study, rater, token, values = world
    checked = []
    for route, pattern in _routes(get_resolver().url_patterns):
        url = _concrete(route, values)
        if url.startswith(API_PREFIX):
            continue  # token auth, no cookies: test_the_api_ignores_the_session_cookie
        assert not getattr(pattern.callback, "csrf_exempt", False), f"{route} is csrf_exempt"
        data = {"trial": token, "choice": "left", "response_ms": 1500, "agree": "1", "reason": "forged"}
        response = client.post(url, data)
        assert response.status_code == 403 and CSRF_FAILED in response.content, (route, response.status_code)
        checked.append(route)
    assert {"s/<slug:slug>/compare/", "studies/new/", "accounts/login/", "admin/"} <= set(checked)
    study.refresh_from_db()
    rater.refresh_from_db()
    assert study.state == Study.State.LIVE and not rater.excluded and not Judgment.objects.exists()


def test_the_same_post_with_its_token_goes_through(world):
    """The control: what was refused above was the missing token, not the request."""
    client, study, rater, token, values = world
    client.get(f"/s/{study.slug}/compare/")  # sets the CSRF cookie, as the page does
    csrf = client.cookies["csrftoken"].value
    response = client.post(
        f"/s/{study.slug}/compare/",
        {"trial": token, "choice": "left", "response_ms": 1500, "csrfmiddlewaretoken": csrf},
    )
    assert response.status_code == 302
    assert Judgment.objects.filter(trial__token=token).count() == 1


def test_the_api_ignores_the_session_cookie(world):
    client, study, rater, token, values = world
    api_routes = [(r, p) for r, p in _routes(get_resolver().url_patterns) if ("/" + r).startswith(API_PREFIX)]
    endpoints = [r for r, p in api_routes if getattr(p.callback, "csrf_exempt", False)]
    assert len(endpoints) >= 10
    for route in endpoints:
        url = _concrete(route, values)
        for method in ("get", "post"):
            response = getattr(client, method)(url)  # the staff owner's session cookie, no bearer token
            assert response.status_code in (401, 405), (method, route, response.status_code)
            assert response.status_code == 405 or study.slug.encode() not in response.content
    study.refresh_from_db()
    assert study.state == Study.State.LIVE
