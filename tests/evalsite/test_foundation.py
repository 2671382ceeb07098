"""The site starts, reports its health, and has no pending model changes."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection


@pytest.mark.django_db
def test_health_page_reports_the_database(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": connection.vendor}


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration():
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out)
    except SystemExit as exc:
        pytest.fail(f"models changed without a migration:\n{out.getvalue()} (exit {exc.code})")


@pytest.mark.django_db
def test_home_sends_anonymous_visitors_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


@pytest.mark.django_db
def test_researchers_see_their_own_studies_only(client, make_study, bob):
    make_study("alices")
    client.force_login(bob)
    response = client.get("/studies/")
    assert response.status_code == 200
    assert b"alices" not in response.content


def test_the_site_stylesheet_is_served(client):
    response = client.get("/static/css/site.css")
    assert response.status_code == 200
    assert b".topbar" in b"".join(response.streaming_content)
