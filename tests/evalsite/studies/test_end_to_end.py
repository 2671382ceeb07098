"""From a study file to a live study whose rater link works and whose page shows judgments as they arrive."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from evalsite.rating import services as rating
from evalsite.rating.models import Rater
from evalsite.studies.models import Study

pytestmark = pytest.mark.django_db


def test_a_created_study_takes_raters_and_its_page_shows_their_judgments(
    study_file, alice, walk_rater, client, settings
):
    settings.RATING_MAX_JUDGMENTS_PER_MINUTE = 1000
    path = study_file()
    path.write_text(path.read_text().replace("crop = 64", "crop = 64\nmin_view_ms = 0"))
    call_command("create_study", str(path), "--owner", "alice", "--launch")
    study = Study.objects.get(slug="tiny")
    assert study.state == Study.State.LIVE
    entry = client.get("/s/tiny/")
    assert entry.status_code == 302 and entry.url.startswith("/s/tiny/")

    rater = walk_rater(study, Rater.Stage.TRIALS, pid="P1")
    while (trial := rating.issue_trial(rater=rater)) is not None:
        better_left = (trial.a.bpp > trial.b.bpp) == (trial.shown_left == "a")
        rating.record_judgment(
            rater=rater, trial_token=trial.token, choice="left" if better_left else "right", response_ms=1800
        )
    rater.refresh_from_db()
    assert rater.stage == Rater.Stage.DONE

    client.force_login(alice)
    page = client.get("/studies/tiny/").content.decode()
    trials = rater.trials.filter(kind="trial").count()
    assert trials > 0
    assert f'<b id="n-judgments">{trials}</b>' in page
    assert '<b id="n-completed">1</b>' in page
    assert "P1" in page
    assert page.count("(passed)</td>") == 2  # colour and artifact tests, from the screening app
