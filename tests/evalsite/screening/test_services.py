"""Screening services and pages: one attempt per test, pass moves on, fail stops for good."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from evalsite.rating import services as rating
from evalsite.rating.models import Rater
from evalsite.screening import services
from evalsite.screening.errors import ScreeningError
from evalsite.screening.models import ScreeningAttempt
from evalsite.studies.models import Stimulus
from tests.evalsite.conftest import desktop_display

COLOUR, ARTIFACT = ScreeningAttempt.Kind.COLOUR, ScreeningAttempt.Kind.ARTIFACT


@pytest.fixture
def study(make_rated_study):
    return make_rated_study(colour_plates=4, colour_pass=3, artifact_items=6, artifact_pass=4, images=2)


def _right(attempt):
    return {item.index: item.expected for item in attempt.items.all()}


@pytest.mark.django_db
def test_the_colour_test_has_the_configured_plates_with_a_control_first(study, walk_rater):
    rater = walk_rater(study, Rater.Stage.COLOUR)
    attempt = services.start_attempt(rater=rater, kind=COLOUR)
    items = list(attempt.items.all())
    assert len(items) == 4 and items[0].spec["axis"] == "control"
    assert services.start_attempt(rater=rater, kind=COLOUR).pk == attempt.pk


@pytest.mark.django_db
def test_passing_the_colour_test_leads_to_the_artifact_test(study, walk_rater):
    rater = walk_rater(study, Rater.Stage.COLOUR)
    attempt = services.start_attempt(rater=rater, kind=COLOUR)
    answers = _right(attempt)
    answers[3] = ""  # one miss is allowed by a pass mark of 3 of 4
    attempt = services.submit_attempt(attempt=attempt, answers=answers)
    rater.refresh_from_db()
    assert attempt.passed and attempt.score == 3 and rater.stage == Rater.Stage.ARTIFACT


@pytest.mark.django_db
def test_failing_the_colour_test_screens_the_rater_out_for_good(study, walk_rater, client):
    rater = walk_rater(study, Rater.Stage.COLOUR, pid="cb-1")
    attempt = services.start_attempt(rater=rater, kind=COLOUR)
    services.submit_attempt(attempt=attempt, answers={0: "1", 1: "1"})
    rater.refresh_from_db()
    assert rater.stage == Rater.Stage.SCREENED_OUT
    with pytest.raises(ScreeningError) as caught:
        services.submit_attempt(attempt=attempt, answers=_right(attempt))
    assert caught.value.code == "already_finished"
    with pytest.raises(ScreeningError):
        services.start_attempt(rater=rater, kind=COLOUR)
    # Coming back through the link with the same crowd id ends on the same page.
    response = client.get(f"/s/{study.slug}/", {"PROLIFIC_PID": "cb-1"}, follow=True)
    assert b'data-code="screened_out"' in response.content
    assert rating.start_rater(study=study, params={"PROLIFIC_PID": "cb-1"}).pk == rater.pk


@pytest.mark.django_db
def test_artifact_items_show_the_studys_own_conditions_across_difficulty_and_never_twice(make_rated_study, walk_rater):
    study = make_rated_study(artifact_items=8, artifact_pass=2, images=2, qualities=(10, 25, 50, 90))
    rater = walk_rater(study, Rater.Stage.ARTIFACT)
    items = list(services.start_attempt(rater=rater, kind=ARTIFACT).items.all())
    stimuli = {item.index: Stimulus.objects.get(pk=item.spec["stimulus"]) for item in items}
    assert len(items) == 8 and len({s.pk for s in stimuli.values()}) == 8
    for item in items:
        assert stimuli[item.index].reference_id == item.spec["reference"] and item.expected == item.spec["odd"]
    graded = [stimuli[item.index] for item in items if not item.spec["clear"]]
    clear = [stimuli[item.index] for item in items if item.spec["clear"]]
    assert len(graded) == 4 and all(s.role == Stimulus.Role.CONDITION for s in graded)
    assert {s.level for s in graded} >= {0, 3}  # the easiest and the hardest level of the study's codec
    # Without a measured PSNR no condition counts as clear: strong screening copies decide the pass mark.
    assert all(s.role == Stimulus.Role.SCREENING and s.level < 2 for s in clear)


@pytest.mark.django_db
def test_a_clearly_degraded_condition_of_the_study_is_a_clear_item(make_rated_study, walk_rater):
    study = make_rated_study(artifact_items=4, artifact_pass=3, images=1, qualities=(5, 50, 90))
    Stimulus.objects.filter(study=study, role=Stimulus.Role.CONDITION, level=0).update(psnr=24.0)
    rater = walk_rater(study, Rater.Stage.ARTIFACT)
    items = list(services.start_attempt(rater=rater, kind=ARTIFACT).items.all())
    clear = [Stimulus.objects.get(pk=item.spec["stimulus"]) for item in items if item.spec["clear"]]
    assert [(s.role, s.level) for s in clear if s.role == Stimulus.Role.CONDITION] == [(Stimulus.Role.CONDITION, 0)]


@pytest.mark.django_db
def test_the_artifact_test_needs_every_item_answered(study, walk_rater):
    rater = walk_rater(study, Rater.Stage.ARTIFACT)
    attempt = services.start_attempt(rater=rater, kind=ARTIFACT)
    with pytest.raises(ScreeningError) as caught:
        services.submit_attempt(attempt=attempt, answers={0: "left"})
    assert caught.value.code == "incomplete"


@pytest.mark.django_db
def test_passing_the_artifact_test_leads_to_practice_and_failing_it_stops(study, walk_rater):
    good = walk_rater(study, Rater.Stage.ARTIFACT)
    attempt = services.start_attempt(rater=good, kind=ARTIFACT)
    services.submit_attempt(attempt=attempt, answers=_right(attempt))
    good.refresh_from_db()
    assert good.stage == Rater.Stage.PRACTICE

    bad = walk_rater(study, Rater.Stage.ARTIFACT)
    attempt = services.start_attempt(rater=bad, kind=ARTIFACT)
    wrong = {i: ("left" if side == "right" else "right") for i, side in _right(attempt).items()}
    attempt = services.submit_attempt(attempt=attempt, answers=wrong)
    bad.refresh_from_db()
    assert not attempt.passed and bad.stage == Rater.Stage.SCREENED_OUT


@pytest.mark.django_db
def test_a_rater_cannot_jump_ahead_to_a_test(study, walk_rater):
    rater = walk_rater(study, Rater.Stage.DISPLAY)
    with pytest.raises(ScreeningError) as caught:
        services.start_attempt(rater=rater, kind=ARTIFACT)
    assert caught.value.code == "wrong_stage"


@pytest.mark.django_db
def test_studies_without_a_test_skip_it(make_rated_study, walk_rater):
    study = make_rated_study(colour_plates=0, artifact_items=0, practice_trials=0)
    rater = walk_rater(study, Rater.Stage.DISPLAY)
    rating.record_display(rater=rater, display=desktop_display(window_width=1900, window_height=1000))
    rater.refresh_from_db()
    assert rater.stage == Rater.Stage.TRIALS


@pytest.mark.django_db
def test_plate_images_are_served_to_their_rater_only(study, walk_rater, client):
    walk_rater(study, Rater.Stage.COLOUR, client=client)
    page = client.get(f"/s/{study.slug}/colour/").content.decode()
    urls = re.findall(r'src="(/s/[^"]+/img/[^"]+)"', page)
    assert len(urls) == 4
    response = client.get(urls[1])
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert Client().get(urls[1]).status_code == 404


@pytest.mark.django_db
def test_an_incomplete_artifact_page_comes_back_with_the_answers_given(study, walk_rater, client):
    rater = walk_rater(study, Rater.Stage.ARTIFACT, client=client)
    client.get(f"/s/{study.slug}/artifacts/")
    response = client.post(f"/s/{study.slug}/artifacts/", {"item-0": "right"})
    page = response.content.decode()
    assert "Please answer every item" in page
    assert re.search(r'name="item-0" value="right" required checked', page)
    rater.refresh_from_db()
    assert rater.stage == Rater.Stage.ARTIFACT


@pytest.mark.django_db
def test_a_plate_answer_that_is_not_digits_is_refused_and_nothing_is_scored(study, walk_rater):
    rater = walk_rater(study, Rater.Stage.COLOUR)
    attempt = services.start_attempt(rater=rater, kind=COLOUR)
    answers = {**_right(attempt), 1: "five"}
    with pytest.raises(ScreeningError) as caught:
        services.submit_attempt(attempt=attempt, answers=answers)
    assert caught.value.code == "not_a_number"
    attempt.refresh_from_db()
    assert attempt.finished_at is None
    # An empty answer ("I see no number") is allowed, and scored wrong.
    attempt = services.submit_attempt(attempt=attempt, answers={**_right(attempt), 1: " "})
    assert attempt.score == 3 and attempt.passed


@pytest.mark.django_db
def test_the_colour_page_comes_back_with_the_message_and_the_answers_kept(client: Client, study, walk_rater):
    walk_rater(study, Rater.Stage.COLOUR, client=client)
    client.get(f"/s/{study.slug}/colour/")
    response = client.post(f"/s/{study.slug}/colour/", {"item-0": "7", "item-1": "4a", "item-2": "", "item-3": "3"})
    assert response.status_code == 200
    assert b"digits (0-9)" in response.content
    assert b'value="4a"' in response.content and b'value="7"' in response.content


def _artifact_images(client, study) -> list[str]:
    page = client.get(f"/s/{study.slug}/artifacts/").content.decode()
    return re.findall(r'src="(/s/[^"]+/img/[^"]+)"', page)


@pytest.mark.django_db
def test_artifact_images_cost_no_query(study, walk_rater, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rater = walk_rater(study, Rater.Stage.ARTIFACT, client=client)
    urls = _artifact_images(client, study)
    attempt = ScreeningAttempt.objects.get(rater=rater, kind=ARTIFACT)
    assert len(urls) == 3 * attempt.items.count()
    for url in urls[:3]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        assert len(queries) == 0, [q["sql"] for q in queries]  # the page sealed the crop's name into the URL


@pytest.mark.django_db
def test_an_attempt_made_before_items_named_their_crops_still_shows_the_same_images(study, walk_rater, client):
    walk_rater(study, Rater.Stage.ARTIFACT, client=client)
    urls = _artifact_images(client, study)
    before = [b"".join(client.get(url).streaming_content) for url in urls]
    for item in ScreeningAttempt.objects.get(kind=ARTIFACT).items.all():
        item.spec = {k: v for k, v in item.spec.items() if k not in ("reference_file", "stimulus_file")}
        item.save(update_fields=["spec"])
    after = [b"".join(client.get(url).streaming_content) for url in urls]
    assert after == before
    # Each item shows the reference twice and its odd stimulus once.
    for i in range(0, len(before), 3):
        assert sorted(map(before[i : i + 3].count, before[i : i + 3])) == [1, 2, 2]


@pytest.mark.django_db
def test_submitting_a_test_takes_one_write_transaction_and_no_second_read_of_the_items(study, walk_rater, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rater = walk_rater(study, Rater.Stage.ARTIFACT, client=client)
    client.get(f"/s/{study.slug}/artifacts/")
    answers = {
        f"item-{index}": side
        for index, side in _right(ScreeningAttempt.objects.get(rater=rater, kind=ARTIFACT)).items()
    }
    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"/s/{study.slug}/artifacts/", answers)
    assert response.status_code == 302 and response.url == f"/s/{study.slug}/compare/"
    sql = [q["sql"] for q in queries]
    # the rater bound to the session, with its study; the attempt; then scoring under the rater's lock
    assert sum(s.startswith(("BEGIN", "SAVEPOINT")) for s in sql) == 1, sql
    assert sum('FROM "screening_screeningitem"' in s and s.startswith("SELECT") for s in sql) == 1, sql
    assert len(sql) == 11, sql


@pytest.mark.django_db
def test_answers_posted_to_a_test_never_shown_are_not_scored(study, walk_rater, client):
    rater = walk_rater(study, Rater.Stage.ARTIFACT, client=client)
    response = client.post(f"/s/{study.slug}/artifacts/", {f"item-{i}": "left" for i in range(6)})
    assert response.status_code == 200 and b"artifact-form" in response.content  # the test, to answer now
    attempt = ScreeningAttempt.objects.get(rater=rater, kind=ARTIFACT)
    assert attempt.finished_at is None and not attempt.items.exclude(answer="").exists()
    rater.refresh_from_db()
    assert rater.stage == Rater.Stage.ARTIFACT


@pytest.mark.django_db
def test_the_artifact_test_reads_the_studys_stimuli_once_per_process_not_per_rater(study, walk_rater):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    reads = []
    for _ in range(3):
        client = Client()
        walk_rater(study, Rater.Stage.ARTIFACT, client=client)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/s/{study.slug}/artifacts/").status_code == 200
        reads.append(sum('FROM "studies_stimulus"' in q["sql"] and '"role" =' in q["sql"] for q in queries))
    assert reads[0] <= 2 and reads[1:] == [0, 0], reads  # the conditions and the screening copies, once
