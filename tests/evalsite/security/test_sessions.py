"""Sessions: a planted session id never comes to hold a login or a rater; a rater's trial and images stay in their session."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from evalsite.rating.models import Judgment, Rater
from tests.evalsite.conftest import PASSWORD
from tests.evalsite.security.conftest import IMAGE_URL, answer, trial_token

pytestmark = pytest.mark.django_db


def _planted() -> tuple[Client, str]:
    """A browser whose session id an attacker made and knows (session fixation)."""
    store = SessionStore()
    store["planted"] = True
    store.create()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = store.session_key
    return client, store.session_key


def _attacker(key: str) -> Client:
    attacker = Client()
    attacker.cookies[settings.SESSION_COOKIE_NAME] = key
    return attacker


def test_logging_in_gives_the_researcher_a_new_session_id(alice):
    victim, planted = _planted()
    response = victim.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and response.url == "/studies/"
    assert victim.cookies[settings.SESSION_COOKIE_NAME].value != planted
    assert _attacker(planted).get("/studies/").status_code == 302  # to the login page: the planted id is nobody


def test_logging_out_ends_the_session(client, alice):
    client.force_login(alice)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post("/accounts/logout/")
    assert _attacker(key).get("/studies/").status_code == 302


def test_starting_as_a_rater_gives_the_browser_a_new_session_id(study):
    victim, planted = _planted()
    response = victim.get(f"/s/{study.slug}/", {"PROLIFIC_PID": "victim"})
    assert response.status_code == 302 and response.url.endswith("/consent/")
    assert victim.cookies[settings.SESSION_COOKIE_NAME].value != planted
    # The attacker's copy of the old id holds no rater: it is sent to the study link, not to the victim's step.
    assert _attacker(planted).get(f"/s/{study.slug}/consent/").url == f"/s/{study.slug}/"
    assert Rater.objects.get().crowd_id == "victim"


def test_a_preview_link_gives_the_browser_a_new_session_id(study, alice, client):
    client.force_login(alice)
    response = client.post(f"/studies/{study.slug}/preview/")
    preview_link = response.url
    victim, planted = _planted()
    assert victim.get(preview_link).status_code == 302
    assert victim.cookies[settings.SESSION_COOKIE_NAME].value != planted


def test_a_trial_token_from_another_session_is_refused(study, walk_rater):
    owner, other = Client(), Client()
    walk_rater(study, Rater.Stage.TRIALS, client=owner)
    walk_rater(study, Rater.Stage.TRIALS, client=other)
    token = trial_token(owner.get(f"/s/{study.slug}/compare/"))
    response = answer(other, study, token)
    assert response.status_code == 302
    assert b"not issued to you" in other.get(response.url).content
    anonymous = answer(Client(), study, token)
    assert anonymous.status_code == 302 and anonymous.url == f"/s/{study.slug}/"  # no rater: to the study link
    assert not Judgment.objects.exists()
    assert answer(owner, study, token).status_code == 302 and Judgment.objects.filter(trial__token=token).exists()


def test_image_urls_from_another_session_answer_404(study, walk_rater, make_rated_study):
    owner = Client()
    walk_rater(study, Rater.Stage.TRIALS, client=owner)
    urls = IMAGE_URL.findall(owner.get(f"/s/{study.slug}/compare/").content.decode())
    assert len(urls) == 3 and all(owner.get(url).status_code == 200 for url in urls)
    elsewhere, same_study = Client(), Client()  # a rater of another study, one of this study, no session at all
    walk_rater(make_rated_study("elsewhere"), Rater.Stage.TRIALS, client=elsewhere)
    walk_rater(study, Rater.Stage.TRIALS, client=same_study)
    for stranger in (elsewhere, same_study, Client()):
        assert all(stranger.get(url).status_code == 404 for url in urls)


def test_an_image_url_answers_404_under_another_study_or_when_altered(study, walk_rater, make_rated_study):
    owner = Client()
    walk_rater(study, Rater.Stage.TRIALS, client=owner)
    other = make_rated_study("elsewhere")
    walk_rater(other, Rater.Stage.TRIALS, client=owner)  # the same browser holds a rater of each study
    url = IMAGE_URL.findall(owner.get(f"/s/{study.slug}/compare/").content.decode())[0]
    assert owner.get(url).status_code == 200
    assert owner.get(url.replace(f"/s/{study.slug}/", f"/s/{other.slug}/")).status_code == 404
    prefix, token = url.rstrip("/").rsplit("/", 1)
    flipped = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    for altered in (flipped, token[:-4], token + "AAAA", "x"):
        assert owner.get(f"{prefix}/{altered}/").status_code == 404
