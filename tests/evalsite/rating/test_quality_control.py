"""Quality control that always applies: attention checks over the session a rater actually makes,
practice pairs from the study's own conditions, and repeated pairs that score consistency."""

from __future__ import annotations

import pytest

from evalsite.rating import assignment, results, selectors, services
from evalsite.rating.models import Rater, Trial
from evalsite.rating.scheduler import Pair, RaterState, StudyState
from evalsite.studies.models import Stimulus


def _side_of(trial: Trial, stimulus_id: int | None) -> str:
    """'left' or 'right': where ``stimulus_id`` is shown in ``trial``."""
    shown_left = trial.a_id if trial.shown_left == Trial.Side.A else trial.b_id
    return "left" if shown_left == stimulus_id else "right"


def _right_side(trial: Trial) -> str:
    return _side_of(trial, selectors.golden_winner((trial.a_id, trial.b_id)))


def _run(rater: Rater, choose=_right_side) -> list[Trial]:
    """Issue and answer trials until the session ends; the trials in order."""
    trials = []
    while rater.stage != Rater.Stage.DONE and (trial := services.issue_trial(rater=rater)) is not None:
        trials.append(trial)
        golden = trial.kind in (Trial.Kind.ATTENTION, Trial.Kind.PRACTICE)
        choice = _right_side(trial) if golden else choose(trial)
        services.record_judgment(rater=rater, trial_token=trial.token, choice=choice, response_ms=1500)
        rater.refresh_from_db()
        assert len(trials) < 200
    return trials


@pytest.mark.django_db
def test_a_rater_with_fewer_trials_than_trials_per_rater_still_meets_attention_min(make_rated_study, walk_rater):
    # 2 images x 3 levels of one codec: 4 pairs, far fewer than trials_per_rater = 20.
    study = make_rated_study(trials_per_rater=20, attention_rate=0.05, attention_min=2, practice_trials=0)
    rater = walk_rater(study)
    kinds = [t.kind for t in _run(rater)]
    rater.refresh_from_db()
    assert rater.stage == Rater.Stage.DONE
    assert kinds.count(Trial.Kind.TRIAL) == 4 and kinds.count(Trial.Kind.ATTENTION) == 2
    assert kinds[0] == Trial.Kind.TRIAL and len(kinds) == assignment.session_length(rater) == 6


class FirstPairOnly:
    """A sampler that stops after one compared pair, sooner than the session plan expects."""

    def next_pair(self, study: StudyState, rater: RaterState) -> Pair | None:
        return None if rater.seen else study.pairs[0]


@pytest.mark.django_db
def test_checks_still_owed_come_before_the_end_when_the_sampler_stops_early(make_rated_study, walk_rater, monkeypatch):
    study = make_rated_study(trials_per_rater=20, attention_rate=0.05, attention_min=2, practice_trials=0)
    monkeypatch.setattr(assignment, "sampler_for", lambda study: FirstPairOnly())
    kinds = [t.kind for t in _run(walk_rater(study))]
    assert kinds == [Trial.Kind.TRIAL, Trial.Kind.ATTENTION, Trial.Kind.ATTENTION]


@pytest.mark.django_db
def test_practice_pairs_come_from_the_studys_conditions_and_differ_from_the_attention_pairs(
    make_rated_study, walk_rater
):
    study = make_rated_study(practice_trials=3, images=2, qualities=(10, 25, 50, 90))
    attention = {frozenset(pair) for pair in selectors.attention_pairs(study).values()}
    rater = walk_rater(study, Rater.Stage.PRACTICE)
    seen = set()
    for _ in range(3):
        trial = services.issue_trial(rater=rater)
        assert trial.kind == Trial.Kind.PRACTICE
        a, b = Stimulus.objects.get(pk=trial.a_id), Stimulus.objects.get(pk=trial.b_id)
        assert a.role == b.role == Stimulus.Role.CONDITION and a.codec == b.codec
        assert abs(a.level - b.level) == 2  # far apart on a 4-level ladder, not the extremes of attention checks
        assert frozenset((a.pk, b.pk)) not in attention
        better = a if a.level > b.level else b
        assert selectors.golden_winner((a.pk, b.pk)) == better.pk and better.bpp > min(a.bpp, b.bpp)
        seen.add(frozenset((a.pk, b.pk)))
        result = services.record_judgment(
            rater=rater, trial_token=trial.token, choice=_side_of(trial, better.pk), response_ms=1500
        )
        assert result.correct is True
    assert len(seen) == 3  # no practice pair twice
    rater.refresh_from_db()
    assert rater.stage == Rater.Stage.TRIALS


@pytest.mark.django_db
def test_repeats_show_an_earlier_pair_with_sides_swapped_and_score_each_raters_consistency(
    make_rated_study, walk_rater
):
    study = make_rated_study(
        trials_per_rater=12, attention_min=1, repeat_share=0.25, practice_trials=0, images=3, qualities=(10, 30, 60, 90)
    )
    steady, fickle = walk_rater(study), walk_rater(study)
    trials = _run(steady, choose=lambda t: _side_of(t, max(t.a_id, t.b_id)))  # always the same stimulus
    _run(fickle, choose=lambda t: "left")  # the same side: the other stimulus once the sides swap
    repeats = [t for t in trials if t.kind == Trial.Kind.REPEAT]
    assert len(repeats) == 3
    for repeat in repeats:
        (first,) = [t for t in trials if t.kind == Trial.Kind.TRIAL and {t.a_id, t.b_id} == {repeat.a_id, repeat.b_id}]
        assert first.seq + assignment.REPEAT_GAP <= repeat.seq
        for stimulus in (repeat.a_id, repeat.b_id):
            assert _side_of(first, stimulus) != _side_of(repeat, stimulus)
    rows = {row["pk"]: row for row in results.rater_rows(study)}
    assert (rows[steady.pk]["repeats"], rows[steady.pk]["consistency"]) == (3, 1.0)
    assert (rows[fickle.pk]["repeats"], rows[fickle.pk]["consistency"]) == (3, 0.0)
    # Repeats are not new comparisons: judgments.csv and the pair counts hold only the first answer.
    assert rows[steady.pk]["judgments"] == 12 - 3 - len([t for t in trials if t.kind == Trial.Kind.ATTENTION])
