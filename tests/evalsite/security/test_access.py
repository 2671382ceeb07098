"""Who reaches what: researcher B never reaches A's study by any of its URLs; the admin is for staff only.

The study URLs come from the resolver (every pattern of the ``studies`` namespace with a slug),
so a page added later is covered without editing this file. The API's answer for another
researcher's study is tested endpoint by endpoint in tests/evalsite/api/test_endpoints.py.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, get_resolver

from evalsite.rating.models import Rater
from evalsite.studies.models import Study

pytestmark = pytest.mark.django_db


def _study_urls(study: Study, rater: Rater) -> list[str]:
    """One URL for every researcher page of ``study``, parameters filled with the study's real objects."""
    stimulus = study.stimuli.first()
    values = {
        "slug": study.slug,
        "rater_id": str(rater.pk),
        "pk": str(stimulus.pk),
        "kind": "stimulus",
        "action": "close",
        "name": "judgments.csv",
    }
    resolver = get_resolver().namespace_dict["studies"][1]
    urls = []
    for pattern in resolver.url_patterns:
        assert isinstance(pattern, URLPattern)
        route = str(pattern.pattern)
        if "<slug:slug>" in route:
            urls.append("/studies/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route))
    return urls


def _admin_urls() -> list[str]:
    """The admin's index, its own pages, and each model's list and add pages."""
    resolver = get_resolver().namespace_dict["admin"][1]
    routes = [str(p.pattern) for p in resolver.url_patterns if isinstance(p, URLPattern)]
    urls = ["/admin/"] + [f"/admin/{route}" for route in routes if "<" not in route and "(" not in route]
    urls = [url for url in urls if url not in ("/admin/login/", "/admin/logout/")]  # for everyone, by nature
    for nested in resolver.url_patterns:
        if not isinstance(nested, URLPattern):
            urls += [f"/admin/{nested.pattern}{p.pattern}" for p in nested.url_patterns if "<" not in str(p.pattern)]
    return sorted(set(urls))


@pytest.fixture
def alices(make_study, judge) -> tuple[Study, Rater]:
    study = make_study("alices", state=Study.State.LIVE)
    return study, judge(study, n=2)


def test_another_researcher_gets_404_from_every_url_of_the_study_and_changes_nothing(client, alices, bob):
    study, rater = alices
    urls = _study_urls(study, rater)
    assert len(urls) >= 11
    client.force_login(bob)
    for url in urls:
        for method in ("get", "post"):
            response = getattr(client, method)(url, {"reason": "b was here", "username": "bob", "include": ""})
            assert response.status_code in (404, 405), (method, url, response.status_code)
    study.refresh_from_db()
    rater.refresh_from_db()
    assert study.state == Study.State.LIVE and not rater.excluded
    assert not study.shared_with.exists()
    assert b"alices" not in client.get("/studies/").content


def test_a_visitor_without_a_login_is_sent_to_the_login_page_from_every_url(alices):
    study, rater = alices
    for url in _study_urls(study, rater):
        for method in ("get", "post"):
            response = getattr(Client(), method)(url)
            assert response.status_code in (302, 405), (method, url)
            assert response.status_code == 405 or response.url.startswith("/accounts/login/"), url


def test_the_admin_is_only_for_staff(client, alice, django_user_model, alices):
    urls = _admin_urls()
    assert "/admin/studies/study/" in urls and "/admin/rating/judgment/" in urls
    for who in (None, alice):
        visitor = Client()
        if who is not None:
            visitor.force_login(who)
        for url in urls:
            response = visitor.get(url)
            assert response.status_code == 302 and response.url.startswith("/admin/login/"), (who, url)
    staff = django_user_model.objects.create_superuser("staff", "staff@example.org", "pw-not-used")
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/studies/study/").status_code == 200
