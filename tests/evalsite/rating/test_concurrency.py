"""Racing submissions of one trial (double click, two tabs, retries) store exactly one judgment.

The test database is SQLite's shared-cache in-memory database, which reports "table is
locked" at once where the file database the site runs on waits (``busy_timeout``). Racers
therefore retry on that error, as ``busy_timeout`` does, so every racer's request completes.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction

from evalsite.rating import services
from evalsite.rating.errors import RatingError
from evalsite.rating.models import Judgment, lock_rater

RACERS = 6


def _race(target, count: int) -> list[object]:
    """Run ``target`` in ``count`` threads released at once; each result or exception is returned."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def attempt(index: int) -> object:
        for _ in range(500):
            try:
                return target(index)
            except OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                time.sleep(0.005)
        raise AssertionError("the database stayed locked")

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = attempt(index)
        except Exception as exc:  # noqa: BLE001 - the test inspects whatever each racer got
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_racing_identical_submissions_store_one_judgment(make_rated_study, walk_rater):
    study = make_rated_study(practice_trials=0, attention_rate=0.0, attention_min=0)
    rater = walk_rater(study)
    trial = services.issue_trial(rater=rater)

    results = _race(
        lambda i: services.record_judgment(rater=rater, trial_token=trial.token, choice="left", response_ms=1500),
        RACERS,
    )

    assert Judgment.objects.filter(trial=trial).count() == 1
    stored = Judgment.objects.get(trial=trial)
    assert all(isinstance(r, services.JudgmentResult) for r in results), results
    assert sum(r.created for r in results) == 1
    assert {r.judgment.pk for r in results} == {stored.pk}


@pytest.mark.django_db(transaction=True)
def test_racing_different_choices_store_one_and_refuse_the_rest(make_rated_study, walk_rater):
    study = make_rated_study(practice_trials=0, attention_rate=0.0, attention_min=0)
    rater = walk_rater(study)
    trial = services.issue_trial(rater=rater)

    results = _race(
        lambda i: services.record_judgment(
            rater=rater, trial_token=trial.token, choice=("left", "right")[i % 2], response_ms=1500
        ),
        RACERS,
    )

    stored = Judgment.objects.get(trial=trial)
    winners = [r for r in results if isinstance(r, services.JudgmentResult)]
    refused = [r for r in results if isinstance(r, RatingError)]
    assert len(winners) + len(refused) == RACERS, results
    assert all(r.code == "already_judged" for r in refused)
    assert all(r.judgment.pk == stored.pk for r in winners)
    assert sum(r.created for r in winners) == 1


@pytest.mark.django_db(transaction=True)
def test_two_tabs_asking_for_a_trial_at_once_get_the_same_one(make_rated_study, walk_rater):
    study = make_rated_study(practice_trials=0, attention_rate=0.0, attention_min=0)
    rater = walk_rater(study)

    results = _race(lambda i: services.issue_trial(rater=rater), 4)

    assert all(not isinstance(r, Exception) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert rater.trials.count() == 1


@pytest.mark.django_db
def test_the_database_itself_refuses_a_second_judgment_row_for_a_trial(make_rated_study, walk_rater):
    rater = walk_rater(make_rated_study(practice_trials=0, attention_rate=0.0, attention_min=0))
    trial = services.issue_trial(rater=rater)
    Judgment.objects.create(trial=trial, winner="a", response_ms=1000)
    with pytest.raises(IntegrityError), transaction.atomic():
        Judgment.objects.create(trial=trial, winner="b", response_ms=1000)


@pytest.mark.django_db
def test_a_judgment_stored_by_another_request_mid_way_is_returned_not_duplicated(
    make_rated_study, walk_rater, monkeypatch
):
    # Where rows cannot be locked, another request may store the judgment after this one checked
    # for it; the unique constraint then fires and the stored judgment is the answer.
    rater = walk_rater(make_rated_study(practice_trials=0, attention_rate=0.0, attention_min=0))
    trial = services.issue_trial(rater=rater)
    real_locked = services.lock_rater

    def locked_after_a_racing_insert(r):
        if not Judgment.objects.filter(trial=trial).exists():
            Judgment.objects.create(trial=trial, winner=trial.shown_left, response_ms=1200)
        return real_locked(r)

    monkeypatch.setattr(services, "lock_rater", locked_after_a_racing_insert)
    same = services.record_judgment(rater=rater, trial_token=trial.token, choice="left", response_ms=1500)
    assert not same.created and same.judgment.response_ms == 1200
    assert Judgment.objects.filter(trial=trial).count() == 1
    Judgment.objects.filter(trial=trial).delete()
    monkeypatch.setattr(services, "lock_rater", locked_after_a_racing_insert)
    with pytest.raises(RatingError) as caught:
        services.record_judgment(rater=rater, trial_token=trial.token, choice="right", response_ms=1500)
    assert caught.value.code == "already_judged"


@pytest.mark.django_db(transaction=True)  # the default wraps every test in a transaction
def test_the_rater_lock_refuses_to_run_outside_a_transaction(make_rated_study, walk_rater):
    rater = walk_rater(make_rated_study())
    with pytest.raises(RuntimeError, match="inside transaction.atomic"):
        lock_rater(rater)
    with transaction.atomic():
        assert lock_rater(rater).pk == rater.pk
