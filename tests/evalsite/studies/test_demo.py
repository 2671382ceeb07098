"""manage.py demo: a researcher login and the live demo study, and running it again changes nothing but the password."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from evalsite.studies.models import Stimulus, Study

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

LOGIN = RequestFactory().post("/accounts/login/")  # django-axes watches logins, so authenticate() needs the request


def test_the_demo_builds_a_live_study_and_can_run_again(study_data_dir, settings, monkeypatch, capsys, client):
    settings.STUDY_LADDER_JOBS = 2
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    call_command("demo")
    first = capsys.readouterr().out
    study = Study.objects.get(slug="demo")
    assert study.state == Study.State.LIVE
    assert study.references.count() == 3
    assert study.stimuli.filter(role=Stimulus.Role.CONDITION).count() == 27
    assert "rater link:       http://127.0.0.1:8000/s/demo/" in first
    assert "user researcher  password demo-pass-123" in first
    assert authenticate(LOGIN, username="researcher", password="demo-pass-123") is not None
    assert client.get("/s/demo/", follow=True).status_code == 200

    monkeypatch.delenv("DEMO_PASSWORD")
    call_command("demo")
    second = capsys.readouterr().out
    password = second.split("password ")[1].split()[0]
    assert password != "demo-pass-123"
    assert authenticate(LOGIN, username="researcher", password=password) is not None
    assert Study.objects.count() == 1
    assert Study.objects.get(slug="demo").launched_at == study.launched_at


def test_the_demo_resumes_after_a_crash_in_generation(study_data_dir, settings, monkeypatch, capsys):
    settings.STUDY_LADDER_JOBS = 1
    from evalsite.studies import services

    real = services.import_stimuli

    def crash(**kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(services, "import_stimuli", crash)
    with pytest.raises(RuntimeError):
        call_command("demo")
    assert Study.objects.get(slug="demo").state == Study.State.DRAFT
    monkeypatch.setattr(services, "import_stimuli", real)
    call_command("demo")
    out = capsys.readouterr().out
    assert "study 'demo' is live" in out
    assert "0 reconstructions made, 27 reused" in Study.objects.get(slug="demo").generation_message
