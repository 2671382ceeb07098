"""The researcher's side of a crowd study: the Prolific URL and outcome codes on the study page,
payment decisions per crowd id, the preview link, and purging identifiers after retention."""

from __future__ import annotations

import csv
import html
import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from evalsite.rating.models import Rater, RaterEvent
from evalsite.rating.outcomes import outcome
from evalsite.studies.exports import RATER_COLUMNS
from evalsite.studies.models import Study

pytestmark = pytest.mark.django_db

PROLIFIC_QUERY = "?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"


def _raters(study, judge):
    """One rater per decision: completed, excluded, screened out, refused for the device, still going, no crowd id."""
    done = judge(study, n=3, seed=1, crowd_id="P-DONE", completion_code="CC1")
    done.crowd_params = {"PROLIFIC_PID": "P-DONE", "STUDY_ID": "S1", "SESSION_ID": "X1"}
    done.stage = Rater.Stage.DONE
    done.save()
    judge(study, n=3, seed=2, crowd_id="P-BAD", excluded=True, excluded_reason="failed 3 attention checks")
    Rater.objects.create(study=study, crowd_id="P-SCREEN", stage=Rater.Stage.SCREENED_OUT)
    phone = Rater.objects.create(study=study, crowd_id="P-PHONE", stage=Rater.Stage.DISPLAY)
    RaterEvent.objects.create(rater=phone, kind="device_refused", detail={"code": "mobile"})
    Rater.objects.create(study=study, crowd_id="P-GOING", stage=Rater.Stage.TRIALS)
    Rater.objects.create(study=study, stage=Rater.Stage.DONE)  # a generic link: nothing to decide on a platform
    Rater.objects.create(study=study, preview=True, stage=Rater.Stage.DONE)


def test_the_study_page_shows_the_prolific_url_and_every_outcomes_code(make_study, alice, client):
    study = make_study(completion_code="DONE-1", completion_redirect="https://app.prolific.com/x?cc={code}")
    client.force_login(alice)
    page = html.unescape(client.get(f"/studies/{study.slug}/").content.decode())
    assert f'<code id="prolific-url">http://testserver/s/{study.slug}/{PROLIFIC_QUERY}</code>' in page
    assert 'id="outcome-completed"' in page and "DONE-1" in page
    for name in ("screened_out", "excluded", "declined", "refused_device"):
        code = outcome(study, name).code
        assert f'<code>{code}</code> <span class="muted">(study-wide default)' in page, name
        assert f"https://app.prolific.com/x?cc={code}" in page, name


def test_decisions_approve_reject_and_return_per_crowd_id(make_study, judge, alice, client):
    study = make_study()
    _raters(study, judge)
    client.force_login(alice)
    response = client.get(f"/studies/{study.slug}/export/prolific-decisions.csv")
    assert response["Content-Disposition"].endswith('-prolific-decisions.csv"')
    rows = {row["participant_id"]: row for row in csv.DictReader(io.StringIO(response.content.decode()))}
    assert {pid: row["decision"] for pid, row in rows.items()} == {
        "P-DONE": "approve",
        "P-BAD": "reject",
        "P-SCREEN": "return",
        "P-PHONE": "return",
        "P-GOING": "none",
    }
    assert (rows["P-DONE"]["study_id"], rows["P-DONE"]["session_id"], rows["P-DONE"]["code"]) == ("S1", "X1", "CC1")
    assert rows["P-BAD"]["reason"] == "failed 3 attention checks" and rows["P-BAD"]["outcome"] == "excluded"
    assert rows["P-PHONE"]["outcome"] == "refused_device"
    assert rows["P-SCREEN"]["code"] == outcome(study, "screened_out").code
    approve = client.get(f"/studies/{study.slug}/export/prolific-approve.txt")
    assert approve["Content-Type"].startswith("text/plain") and approve.content.decode() == "P-DONE\n"


def test_raters_csv_has_the_viewing_conditions_and_consent_version(make_study, judge, alice, client):
    study = make_study()
    judge(study, n=2, device_pixel_ratio=2.0, window_width=1440, window_height=820, browser="safari", zoom_hint=1.0,
          consent_version="v2")  # fmt: skip
    client.force_login(alice)
    (row,) = csv.DictReader(io.StringIO(client.get(f"/studies/{study.slug}/export/raters.csv").content.decode()))
    assert {"device_pixel_ratio", "window_width", "window_height", "browser", "zoom_hint"} <= set(RATER_COLUMNS)
    assert (row["device_pixel_ratio"], row["window_width"], row["browser"], row["consent_version"]) == (
        "2.0",
        "1440",
        "safari",
        "v2",
    )
    page = client.get(f"/studies/{study.slug}/").content.decode()
    assert "1440×820 @2x · safari" in page


def test_preview_opens_the_rater_flow_for_the_researcher_only(make_rated_study, alice, bob, client):
    study = make_rated_study()
    client.force_login(bob)
    assert client.post(f"/studies/{study.slug}/preview/").status_code == 404
    client.force_login(alice)
    response = client.post(f"/studies/{study.slug}/preview/")
    preview = Rater.objects.get(study=study, preview=True)
    assert response.url == f"/s/{study.slug}/preview/{preview.token}/"
    assert client.get(response.url, follow=True).redirect_chain[-1][0] == f"/s/{study.slug}/consent/"
    assert study.events.filter(action="preview").exists()
    Study.objects.filter(pk=study.pk).update(state=Study.State.PAUSED)
    response = client.post(f"/studies/{study.slug}/preview/", follow=True)
    assert "No preview" in response.content.decode()


def test_purge_identifiers_waits_for_the_retention_period_of_closed_studies(make_study, judge):
    study = make_study(retention_days=30)
    rater = judge(study, n=2, crowd_id="P-1", user_agent="Browser/1")
    open_study = make_study("still-open")
    judge(open_study, n=2, crowd_id="P-2")
    with pytest.raises(CommandError, match="is live"):
        call_command("purge_identifiers", "still-open", stdout=io.StringIO())
    Study.objects.filter(pk=study.pk).update(state=Study.State.CLOSED, closed_at=timezone.now() - timedelta(days=10))
    out = io.StringIO()
    call_command("purge_identifiers", stdout=out)
    assert "kept until" in out.getvalue()
    assert Rater.objects.get(pk=rater.pk).crowd_id == "P-1"
    call_command("purge_identifiers", "--days", "7", stdout=out)
    rater.refresh_from_db()
    assert (rater.crowd_id, rater.user_agent) == ("", "")
    assert rater.trials.filter(judgment__isnull=False).count() == 2  # the judgments stay
    assert Rater.objects.get(crowd_id="P-2")  # the open study is untouched
    assert study.events.filter(action="identifiers_purged").exists()
