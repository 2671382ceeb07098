"""Rate limits: researcher logins lock out after repeated failures (django-axes); rater entry is limited per address.

Judgments have their own limit per rater (RATING_MAX_JUDGMENTS_PER_MINUTE):
tests/evalsite/rating/test_record_judgment.py, test_raters_answering_faster_than_the_rate_limit_are_refused.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from evalsite.rating import entry_limit
from evalsite.rating.models import EntryCount, Rater
from tests.evalsite.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client: Client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_five_failed_logins_lock_that_username_at_that_address_with_a_message(alice, bob, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    client = Client(REMOTE_ADDR="10.0.0.1")
    for _ in range(4):
        assert _login(client, "alice", "wrong").status_code == 200  # the form again, with its error
    locked = _login(client, "alice", "wrong")
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content and b"alice" in locked.content
    assert _login(client, "alice", PASSWORD).status_code == 429  # even the right password, for a while
    assert _login(client, "bob", PASSWORD).status_code == 302  # another researcher at the same address
    assert _login(Client(REMOTE_ADDR="10.0.0.2"), "alice", PASSWORD).status_code == 302  # alice elsewhere


def test_a_successful_login_resets_the_count(alice):
    client = Client(REMOTE_ADDR="10.0.0.1")
    for _ in range(4):
        _login(client, "alice", "wrong")
    assert _login(client, "alice", PASSWORD).status_code == 302
    for _ in range(4):
        assert _login(Client(REMOTE_ADDR="10.0.0.1"), "alice", "wrong").status_code == 200


def test_the_admin_login_counts_towards_the_same_lockout(alice):
    client = Client(REMOTE_ADDR="10.0.0.1")
    for _ in range(5):
        client.post("/admin/login/", {"username": "alice", "password": "wrong"})
    assert _login(client, "alice", PASSWORD).status_code == 429


@pytest.fixture
def clock(monkeypatch) -> SimpleNamespace:
    """The throttle's clock, stopped (a test must not straddle a minute), moved by setting ``now``."""
    clock = SimpleNamespace(now=600.0)
    monkeypatch.setattr(entry_limit, "time", SimpleNamespace(time=lambda: clock.now))
    return clock


def _enter(study, address: str, **headers: str) -> int:
    return Client(REMOTE_ADDR=address, **headers).get(f"/s/{study.slug}/").status_code


def test_rater_entry_is_limited_per_address_with_a_wait_a_minute_page(study, settings, clock):
    assert settings.RATER_ENTRIES_PER_MINUTE == 30
    settings.RATER_ENTRIES_PER_MINUTE = 3
    assert [_enter(study, "10.0.0.1") for _ in range(3)] == [302, 302, 302]
    refused = Client(REMOTE_ADDR="10.0.0.1").get(f"/s/{study.slug}/")
    assert refused.status_code == 429
    assert b"Please wait a minute and open the link again" in refused.content
    assert _enter(study, "10.0.0.2") == 302  # another address has its own count
    assert Rater.objects.count() == 4


def test_the_count_starts_again_in_the_next_minute(study, settings, clock):
    settings.RATER_ENTRIES_PER_MINUTE = 1
    assert [_enter(study, "10.0.0.1") for _ in range(2)] == [302, 429]
    clock.now += 60
    assert _enter(study, "10.0.0.1") == 302


def test_behind_a_proxy_the_clients_address_comes_from_the_configured_header(study, settings, clock):
    settings.RATER_ENTRIES_PER_MINUTE = 1
    settings.CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    assert _enter(study, "127.0.0.1", HTTP_X_REAL_IP="203.0.113.5") == 302
    assert _enter(study, "127.0.0.1", HTTP_X_REAL_IP="203.0.113.6") == 302  # same proxy, another rater
    assert _enter(study, "127.0.0.1", HTTP_X_REAL_IP="203.0.113.5") == 429


def test_zero_turns_the_entry_limit_off(study, settings):
    settings.RATER_ENTRIES_PER_MINUTE = 0
    assert {_enter(study, "10.0.0.1") for _ in range(5)} == {302}


def test_the_entry_counts_hold_no_address_in_the_clear(study, settings):
    settings.RATER_ENTRIES_PER_MINUTE = 5
    _enter(study, "198.51.100.77")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {EntryCount._meta.db_table}")
        rows = cursor.fetchall()
    assert len(rows) == 1 and "198.51.100.77" not in repr(rows)


def test_a_visit_is_counted_in_one_statement_and_a_new_minute_deletes_the_old_counts(study, settings, clock):
    settings.RATER_ENTRIES_PER_MINUTE = 5
    _enter(study, "10.0.0.1")
    with CaptureQueriesContext(connection) as again:
        entry_limit.count_visit(RequestFactory(REMOTE_ADDR="10.0.0.1").get(f"/s/{study.slug}/"))
    assert len(again) == 1 and EntryCount.objects.get().visits == 2  # the same minute: added to, nothing deleted
    clock.now += 60
    _enter(study, "10.0.0.2")
    assert list(EntryCount.objects.values_list("visits", flat=True)) == [1]  # 10.0.0.1's last minute is gone
    assert _enter(study, "10.0.0.1") == 302 and EntryCount.objects.count() == 2
