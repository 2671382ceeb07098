"""Colour plates drawn ahead: the pool's mix, each plate given once, no drawing in a rater's request."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from evalsite.rating.models import Rater
from evalsite.screening import pool, services
from evalsite.screening.models import ColourPlate, ScreeningAttempt
from evalsite.studies.models import Study
from evalsite.studies.services import launch_study
from tests.evalsite.conftest import run_tasks_immediately

COLOUR = ScreeningAttempt.Kind.COLOUR
PLATE_URL = re.compile(r'src="(/s/[^"]+/img/[^"]+)"')


@pytest.fixture(autouse=True)
def small_pool(settings):
    """A pool for two raters (16 plates): enough for these tests, quick to draw."""
    settings.SCREENING_PLATE_POOL_RATERS = 2


@pytest.fixture
def study(make_rated_study):
    return make_rated_study(colour_plates=8, colour_pass=7, artifact_items=4, artifact_pass=2, images=2)


def _refuse(*args, **kwargs):
    raise AssertionError("a plate was drawn inside a rater's request")


@pytest.mark.django_db
def test_the_pool_holds_the_mix_of_axes_a_test_uses():
    assert pool.top_up() == 16
    assert pool.untaken() == Counter({"control": 2, "protan": 6, "deutan": 4, "tritan": 4})
    assert pool.top_up() == 0  # full
    plate = ColourPlate.objects.first()
    assert re.fullmatch(r"plates/[0-9a-f]{2}/[0-9a-f]{64}\.png", plate.file)  # a hash: nothing of the answer


@pytest.mark.django_db
def test_a_colour_attempt_takes_pooled_plates_each_for_one_rater_only(study, walk_rater):
    pool.top_up()
    first, second = (walk_rater(study, Rater.Stage.COLOUR, pid=pid) for pid in ("p1", "p2"))
    files = []
    for rater in (first, second):
        items = list(services.start_attempt(rater=rater, kind=COLOUR).items.all())
        assert [item.spec["axis"] for item in items][:4] == ["control", "protan", "deutan", "tritan"]
        assert all(item.spec["file"] and item.expected == item.spec["digit"] for item in items)
        files.append({item.spec["file"] for item in items})
    assert len(files[0]) == 8 and not files[0] & files[1]
    assert ColourPlate.objects.filter(taken_at__isnull=True).count() == 0


@pytest.mark.django_db
def test_the_colour_page_and_its_plates_draw_nothing_in_the_request(client, study, walk_rater, monkeypatch):
    pool.top_up()
    monkeypatch.setattr("evalsite.screening.plates.render_plate", _refuse)
    monkeypatch.setattr("PIL.Image.open", _refuse)
    walk_rater(study, Rater.Stage.COLOUR, client=client)
    page = client.get(f"/s/{study.slug}/colour/")
    urls = PLATE_URL.findall(page.content.decode())
    assert page.status_code == 200 and len(urls) == 8
    assert all(client.get(url).getvalue().startswith(b"\x89PNG") for url in urls)


@pytest.mark.django_db
def test_a_dry_pool_still_gives_a_working_test_drawn_on_first_request(client, study, walk_rater):
    walk_rater(study, Rater.Stage.COLOUR, client=client)
    page = client.get(f"/s/{study.slug}/colour/")
    url = PLATE_URL.findall(page.content.decode())[0]
    assert client.get(url).getvalue().startswith(b"\x89PNG")
    rater = Rater.objects.get()
    attempt = ScreeningAttempt.objects.get(rater=rater)
    services.submit_attempt(attempt=attempt, answers={i.index: i.expected for i in attempt.items.all()})
    rater.refresh_from_db()
    assert rater.stage == Rater.Stage.ARTIFACT


@pytest.mark.django_db
def test_launching_a_study_fills_the_pool(settings, make_rated_study, django_capture_on_commit_callbacks):
    run_tasks_immediately(settings)
    study = make_rated_study("draft", state=Study.State.DRAFT)
    with django_capture_on_commit_callbacks(execute=True):
        launch_study(study=study)
    assert sum(pool.untaken().values()) == 16


@pytest.mark.django_db
def test_a_draft_whose_generation_ends_fills_the_pool_before_launch(
    settings, make_study, django_capture_on_commit_callbacks
):
    run_tasks_immediately(settings)
    study = make_study(state=Study.State.DRAFT)
    assert sum(pool.untaken().values()) == 0
    with django_capture_on_commit_callbacks(execute=True):
        study.generation = Study.Generation.DONE  # as studies.services.generate_study saves it at the end
        study.save(update_fields=["generation"])
    assert sum(pool.untaken().values()) == 16


@pytest.mark.django_db
def test_taking_plates_refills_the_pool_once_it_runs_low(
    settings, study, walk_rater, django_capture_on_commit_callbacks
):
    run_tasks_immediately(settings)
    pool.top_up()
    rater = walk_rater(study, Rater.Stage.COLOUR, pid="low")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.start_attempt(rater=rater, kind=COLOUR)  # half the pool gone
    assert callbacks and sum(pool.untaken().values()) == 16
