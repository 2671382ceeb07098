"""Forged, replayed, out-of-order and foreign judgment submissions over HTTP: refused, nothing stored twice or wrongly."""

from __future__ import annotations

import pytest
from django.test import Client

from evalsite.rating.models import Judgment, Rater
from tests.evalsite.security.conftest import answer, trial_token

pytestmark = pytest.mark.django_db


def _message(client: Client, response) -> str:
    assert response.status_code == 302, response.status_code
    return client.get(response.url).content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("trial", "A" * 22, "does not exist"),
        ("trial", "", "choose one of the two images"),
        ("choice", "a", "choose one of the two images"),
        ("choice", "tie", "choose one of the two images"),  # the study does not allow ties
        ("response_ms", "-5", "choose one of the two images"),
    ],
)
def test_a_forged_field_is_refused_with_a_message(client, study, walk_rater, field, value, message):
    walk_rater(study, client=client)
    token = trial_token(client.get(f"/s/{study.slug}/compare/"))
    data = {"trial": token, "choice": "left", "response_ms": "1500", field: value}
    response = client.post(f"/s/{study.slug}/compare/", data)
    assert message in _message(client, response)
    assert not Judgment.objects.exists()


def test_a_replayed_submission_after_moving_on_stores_nothing_and_changes_nothing(client, study, walk_rater):
    walk_rater(study, client=client)
    first = trial_token(client.get(f"/s/{study.slug}/compare/"))
    answer(client, study, first, "left")
    current = trial_token(client.get(f"/s/{study.slug}/compare/"))
    assert current != first
    stored = Judgment.objects.get(trial__token=first)

    answer(client, study, first, "left")  # the same request again: an idempotent retry
    different = answer(client, study, first, "right")  # the same trial, another answer
    assert "already answered" in _message(client, different)
    assert Judgment.objects.count() == 1
    assert Judgment.objects.get(trial__token=first).winner == stored.winner
    assert trial_token(client.get(f"/s/{study.slug}/compare/")) == current  # still on the same trial


def test_a_judgment_for_another_raters_trial_is_refused_and_leaves_theirs_open(study, walk_rater):
    mine, theirs = Client(), Client()
    walk_rater(study, client=mine)
    other = walk_rater(study, client=theirs)
    their_token = trial_token(theirs.get(f"/s/{study.slug}/compare/"))
    response = answer(mine, study, their_token)
    assert "not issued to you" in _message(mine, response)
    assert not Judgment.objects.exists()
    answer(theirs, study, their_token, "right")
    assert Judgment.objects.get(trial__token=their_token).trial.rater == other


@pytest.mark.parametrize("stage", [Rater.Stage.CONSENT, Rater.Stage.DISPLAY, Rater.Stage.COLOUR])
def test_a_submission_before_the_trials_stage_is_sent_back_to_the_current_step(client, study, walk_rater, stage):
    earlier = Client()
    walk_rater(study, client=earlier)
    token = trial_token(earlier.get(f"/s/{study.slug}/compare/"))
    walk_rater(study, stage, client=client)
    response = answer(client, study, token)
    assert response.status_code == 302 and response.url == f"/s/{study.slug}/{_page(stage)}/"
    assert not Judgment.objects.exists()


def _page(stage: str) -> str:
    return {"consent": "consent", "display": "display", "colour": "colour"}[stage]


def test_a_submission_after_the_session_is_complete_stores_nothing(client, make_rated_study, walk_rater):
    study = make_rated_study(trials_per_rater=2, attention_rate=0.0, attention_min=0, practice_trials=0)
    walk_rater(study, client=client)
    tokens = []
    for _ in range(2):
        tokens.append(trial_token(client.get(f"/s/{study.slug}/compare/")))
        answer(client, study, tokens[-1], "left")
    assert Rater.objects.get().stage == Rater.Stage.DONE
    response = answer(client, study, tokens[0], "right")
    assert response.status_code == 302 and response.url == f"/s/{study.slug}/done/"
    assert Judgment.objects.count() == 2
