"""A screened-out or excluded rater trying again: a new browser with the same crowd id, or the same browser, is stopped.

A rater is recognised by their crowd id (the platform vouches for it) or, without one, by their
browser session; a study that must recognise people across browsers sets ``require_crowd_id``
(a bare link is then refused: tests/evalsite/rating/test_outcomes_and_privacy.py). After
``purge_identifiers`` only a salted hash of the id is left, and it still refuses the id
(same file, test_purging_keeps_judgments_and_still_refuses_the_same_crowd_id).
"""

from __future__ import annotations

import pytest
from django.test import Client

from evalsite.rating import services
from evalsite.rating.models import Rater
from evalsite.screening import services as screening
from evalsite.screening.models import ScreeningAttempt
from evalsite.studies.models import Study

pytestmark = pytest.mark.django_db

ENDED = {"screened_out": b"cannot take part in this study", "excluded": b"Your session has ended"}


def _screen_out(study: Study, walk_rater, client: Client) -> Rater:
    rater = walk_rater(study, Rater.Stage.COLOUR, pid="pid-1", client=client)
    attempt = screening.start_attempt(rater=rater, kind=ScreeningAttempt.Kind.COLOUR)
    wrong = {item.index: "1" + (item.expected or "") for item in attempt.items.all()}  # never the right number
    screening.submit_attempt(attempt=attempt, answers=wrong)
    rater.refresh_from_db()
    assert rater.stage == Rater.Stage.SCREENED_OUT
    return rater


def _exclude(study: Study, walk_rater, client: Client) -> Rater:
    rater = walk_rater(study, Rater.Stage.TRIALS, pid="pid-1", client=client)
    services.exclude_rater(rater=rater, reason="failed checks")
    return rater


ENDINGS = {"screened_out": _screen_out, "excluded": _exclude}


def _entry(client: Client, study: Study, **params: str):
    return client.get(f"/s/{study.slug}/", params, follow=True)


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_the_same_crowd_id_in_a_new_browser_is_stopped(study, walk_rater, ending):
    rater = ENDINGS[ending](study, walk_rater, Client())
    response = _entry(Client(), study, PROLIFIC_PID="pid-1", STUDY_ID="s", SESSION_ID="another-session")
    assert response.redirect_chain[-1][0] == f"/s/{study.slug}/stopped/"
    assert ENDED[ending] in response.content
    assert list(Rater.objects.values_list("pk", flat=True)) == [rater.pk]


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_the_same_browser_without_or_with_its_crowd_id_is_stopped(client, study, walk_rater, ending):
    rater = ENDINGS[ending](study, walk_rater, client)
    for params in ({}, {"PROLIFIC_PID": "pid-1"}, {"pid": "pid-1"}):
        response = _entry(client, study, **params)
        assert ENDED[ending] in response.content, params
    for page in ("consent", "display", "colour", "artifacts", "compare", "done"):
        assert client.get(f"/s/{study.slug}/{page}/").url == f"/s/{study.slug}/stopped/", page
    assert list(Rater.objects.values_list("pk", flat=True)) == [rater.pk]


def test_an_excluded_rater_cannot_judge_with_an_old_trial_token(client, study, walk_rater):
    rater = walk_rater(study, Rater.Stage.TRIALS, pid="pid-1", client=client)
    trial = services.issue_trial(rater=rater)
    services.exclude_rater(rater=rater, reason="failed checks")
    response = client.post(f"/s/{study.slug}/compare/", {"trial": trial.token, "choice": "left", "response_ms": 1500})
    assert response.url == f"/s/{study.slug}/stopped/"
    assert not rater.trials.filter(judgment__isnull=False).exists()
