"""Rater pages over HTTP: resuming, CSRF, image access, breaks and modes (query counts: test_hot_path.py)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from evalsite.rating.models import Judgment, Rater
from evalsite.rating.services import exclude_rater

TOKEN = re.compile(rb'name="trial" value="([^"]+)"')
IMAGE = re.compile(r'src="(/s/[^"]+/img/[^"]+)"')


def _trial_token(response) -> str:
    found = TOKEN.search(response.content)
    assert found, response.content.decode()[-1500:]
    return found.group(1).decode()


def _answer(client, study, choice: str = "left"):
    page = client.get(f"/s/{study.slug}/compare/")
    return client.post(
        f"/s/{study.slug}/compare/", {"trial": _trial_token(page), "choice": choice, "response_ms": 1500, "switches": 2}
    )


@pytest.fixture
def study(make_rated_study):
    return make_rated_study(trials_per_rater=6, attention_rate=0.0, attention_min=0, practice_trials=0, break_every=3)


@pytest.mark.django_db
def test_a_new_visitor_lands_on_consent_and_a_return_visit_resumes(client, study):
    response = client.get(f"/s/{study.slug}/", {"pid": "r1"})
    assert response.status_code == 302 and response.url == f"/s/{study.slug}/consent/"
    client.post(f"/s/{study.slug}/consent/", {"agree": "1"})
    # A fresh browser with the same crowd id picks up where the rater left off.
    other = Client()
    assert other.get(f"/s/{study.slug}/", {"pid": "r1"}).url == f"/s/{study.slug}/instructions/"
    assert Rater.objects.count() == 1


@pytest.mark.django_db
def test_pages_of_other_steps_send_the_rater_to_their_own_step(client, study, walk_rater):
    walk_rater(study, Rater.Stage.DISPLAY, client=client)
    for page in ("consent", "instructions", "colour", "artifacts", "compare", "done"):
        response = client.get(f"/s/{study.slug}/{page}/")
        assert response.status_code == 302 and response.url == f"/s/{study.slug}/display/", page


@pytest.mark.django_db
def test_reloading_a_trial_shows_the_same_comparison(client, study, walk_rater):
    walk_rater(study, client=client)
    first = client.get(f"/s/{study.slug}/compare/")
    again = client.get(f"/s/{study.slug}/compare/")
    assert _trial_token(first) == _trial_token(again)
    assert set(IMAGE.findall(first.content.decode())) == set(IMAGE.findall(again.content.decode()))


@pytest.mark.django_db
def test_a_double_submitted_form_stores_one_judgment(client, study, walk_rater):
    walk_rater(study, client=client)
    token = _trial_token(client.get(f"/s/{study.slug}/compare/"))
    for _ in range(2):
        client.post(f"/s/{study.slug}/compare/", {"trial": token, "choice": "right", "response_ms": 1500})
    assert Judgment.objects.filter(trial__token=token).count() == 1


@pytest.mark.django_db
def test_a_forged_trial_token_is_refused_with_a_message(client, study, walk_rater):
    walk_rater(study, client=client)
    response = client.post(
        f"/s/{study.slug}/compare/", {"trial": "x" * 22, "choice": "left", "response_ms": 1500}, follow=True
    )
    assert b"does not exist" in response.content
    assert not Judgment.objects.exists()


@pytest.mark.django_db
def test_judgments_need_the_csrf_token(study, walk_rater):
    client = Client(enforce_csrf_checks=True)
    walk_rater(study, client=client)
    token = _trial_token(client.get(f"/s/{study.slug}/compare/"))
    response = client.post(f"/s/{study.slug}/compare/", {"trial": token, "choice": "left", "response_ms": 1500})
    assert response.status_code == 403
    assert not Judgment.objects.exists()


@pytest.mark.django_db
def test_images_are_served_only_to_the_rater_they_were_issued_to(client, study, walk_rater):
    walk_rater(study, client=client)
    urls = IMAGE.findall(client.get(f"/s/{study.slug}/compare/").content.decode())
    assert len(urls) == 3
    assert all(client.get(url).status_code == 200 for url in urls)
    stranger = Client()
    walk_rater(study, client=stranger)
    assert all(stranger.get(url).status_code == 404 for url in urls)
    forged = urls[0].rsplit("/", 2)[0] + "/" + "0" * 32 + "/"
    assert client.get(forged).status_code == 404


@pytest.mark.django_db
def test_a_break_is_offered_every_break_every_trials(client, study, walk_rater):
    walk_rater(study, client=client)
    for _ in range(3):
        _answer(client, study)
    response = client.get(f"/s/{study.slug}/compare/")
    assert b'id="break"' in response.content and b"3 of 6" in response.content
    response = client.get(f"/s/{study.slug}/compare/", {"continue": "1"})
    assert b'name="trial"' in response.content


@pytest.mark.django_db
def test_the_last_answer_leads_to_the_completion_code_and_redirect(client, make_rated_study, walk_rater):
    study = make_rated_study(
        trials_per_rater=2, attention_rate=0.0, attention_min=0, practice_trials=0, completion_code="ABC123"
    )
    study.completion_redirect = "https://example.org/done?cc={code}"
    study.save()
    walk_rater(study, client=client)
    _answer(client, study)
    response = _answer(client, study)
    assert response.url == f"/s/{study.slug}/done/"
    page = client.get(response.url)
    assert b"ABC123" in page.content and b"https://example.org/done?cc=ABC123" in page.content


@pytest.mark.django_db
def test_flicker_mode_shows_one_view_with_switch_buttons(client, make_rated_study, walk_rater):
    study = make_rated_study(mode="flicker", practice_trials=0)
    walk_rater(study, client=client)
    page = client.get(f"/s/{study.slug}/compare/").content.decode()
    assert 'class="viewer"' in page and page.count('class="px view"') == 3
    assert page.count("data-show=") == 3


@pytest.mark.django_db
def test_side_by_side_mode_shows_reference_between_a_and_b(client, study, walk_rater):
    walk_rater(study, client=client)
    page = client.get(f"/s/{study.slug}/compare/").content.decode()
    captions = re.findall(r"<figcaption>(\w+)</figcaption>", page)
    assert captions == ["A", "Original", "B"]


@pytest.mark.django_db
def test_a_paused_study_asks_raters_to_come_back_later(client, study, walk_rater):
    walk_rater(study, client=client)
    study.state = "paused"
    study.save()
    response = client.get(f"/s/{study.slug}/compare/")
    assert b'data-code="study_paused"' in response.content


@pytest.mark.django_db
def test_an_excluded_rater_is_stopped_wherever_they_go(client, study, walk_rater):
    rater = walk_rater(study, client=client)
    exclude_rater(rater=rater, reason="failed attention checks")
    for page in ("compare", "consent", "done"):
        response = client.get(f"/s/{study.slug}/{page}/", follow=True)
        assert b'data-code="excluded"' in response.content, page
    response = client.get(f"/s/{study.slug}/", follow=True)
    assert b'data-code="excluded"' in response.content


@pytest.mark.django_db
def test_the_progress_bar_counts_to_the_comparisons_the_rater_will_make(client, make_rated_study, walk_rater):
    # One image, two levels: a single pair, so the session ends after one comparison whatever the setting.
    study = make_rated_study(
        images=1, qualities=(10, 90), trials_per_rater=50, attention_rate=0.0, attention_min=0, practice_trials=0
    )
    walk_rater(study, client=client)
    page = client.get(f"/s/{study.slug}/compare/").content.decode()
    assert 'max="1"' in page and "0 / 1" in page
