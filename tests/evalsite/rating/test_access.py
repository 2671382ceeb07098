"""Which rater a request belongs to: bound to the live session's key, found in one query, re-bound when the key changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from evalsite.rating.models import Rater

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(make_rated_study):
    return make_rated_study()


def _enter(client, study, pid: str) -> Rater:
    response = client.get(f"/s/{study.slug}/", {"PROLIFIC_PID": pid})
    assert response.status_code == 302 and response.url.endswith("/consent/")
    return Rater.objects.get(crowd_id=pid)


def _consent_page(client, study) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/s/{study.slug}/consent/")
    return response.status_code, [q["sql"] for q in queries]


def test_a_rater_page_finds_its_rater_in_one_query_without_reading_the_session(client, study):
    rater = _enter(client, study, "p1")
    status, sql = _consent_page(client, study)
    assert status == 200
    assert len(sql) == 1, sql
    # The session's liveness is checked inside the rater's query; its data is not read.
    assert sql[0].startswith('SELECT "rating_rater"') and 'FROM "django_session"' in sql[0]
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    stored = Rater.objects.get(pk=rater.pk).session_digest
    assert stored and key not in stored  # a digest of the key, never the key


def test_a_session_whose_key_changed_is_read_once_and_bound_again(client, study, alice):
    _enter(client, study, "p1")
    client.force_login(alice)  # a login gives the session a new key and keeps its data
    status, first = _consent_page(client, study)
    assert status == 200 and len(first) > 1  # the session read, the rater found in it and bound
    status, again = _consent_page(client, study)
    assert status == 200 and len(again) == 1


def test_an_expired_session_reaches_no_rater_though_its_key_is_bound(client, study):
    _enter(client, study, "p1")
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(f"/s/{study.slug}/consent/")
    assert response.status_code == 302 and response.url == f"/s/{study.slug}/"


def test_a_new_crowd_id_in_the_same_browser_takes_the_session_from_the_first_rater(client, study):
    first = _enter(client, study, "p1")
    assert client.post(f"/s/{study.slug}/consent/", {"agree": "1"}).url.endswith("/instructions/")
    old_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    second = _enter(client, study, "p2")
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != old_key
    status, sql = _consent_page(client, study)  # the second rater's step; the first is past consent
    assert status == 200 and len(sql) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.stage == Rater.Stage.INSTRUCTIONS and second.session_digest != first.session_digest
    # The first rater's key was replaced: a browser still sending it is sent to the study link.
    client.cookies[settings.SESSION_COOKIE_NAME] = old_key
    assert client.get(f"/s/{study.slug}/instructions/").url == f"/s/{study.slug}/"
