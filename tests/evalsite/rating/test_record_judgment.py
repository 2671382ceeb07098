"""record_judgment: once per trial, only for its rater, not too fast, attention checks, completion."""

from __future__ import annotations

import pytest

from evalsite.rating import selectors, services
from evalsite.rating.errors import RatingError
from evalsite.rating.models import Judgment, Rater, Trial
from evalsite.rating.outcomes import outcome


def _good_side(trial: Trial) -> str:
    """'left' or 'right': where the right answer of a golden (practice or attention) trial is shown."""
    good = "a" if selectors.golden_winner((trial.a_id, trial.b_id)) == trial.a_id else "b"
    return "left" if trial.shown_left == good else "right"


def _judge(rater: Rater, trial: Trial, choice: str = "left", **kw) -> services.JudgmentResult:
    return services.record_judgment(rater=rater, trial_token=trial.token, choice=choice, response_ms=1500, **kw)


@pytest.fixture
def study(make_rated_study):
    return make_rated_study(trials_per_rater=6, attention_rate=0.0, attention_min=0, practice_trials=1)


@pytest.mark.django_db
def test_it_maps_the_chosen_side_to_the_stimulus_shown_there(study, walk_rater):
    rater = walk_rater(study)
    trial = services.issue_trial(rater=rater)
    result = _judge(rater, trial, "left", switches=4)
    assert result.created
    assert result.judgment.winner == trial.shown_left
    assert result.judgment.switches == 4 and result.judgment.response_ms == 1500


@pytest.mark.django_db
def test_it_refuses_a_second_different_judgment_for_a_trial(study, walk_rater):
    rater = walk_rater(study)
    trial = services.issue_trial(rater=rater)
    _judge(rater, trial, "left")
    with pytest.raises(RatingError) as caught:
        _judge(rater, trial, "right")
    assert caught.value.code == "already_judged"
    assert Judgment.objects.filter(trial=trial).count() == 1


@pytest.mark.django_db
def test_a_retry_returns_the_same_judgment_without_storing_another(study, walk_rater):
    rater = walk_rater(study)
    trial = services.issue_trial(rater=rater)
    first = _judge(rater, trial, "right")
    retry = _judge(rater, trial, "right")
    assert not retry.created and retry.judgment.pk == first.judgment.pk
    assert Judgment.objects.filter(trial=trial).count() == 1


@pytest.mark.django_db
def test_a_forged_trial_token_is_refused(study, walk_rater):
    rater = walk_rater(study)
    services.issue_trial(rater=rater)
    with pytest.raises(RatingError) as caught:
        services.record_judgment(rater=rater, trial_token="forged-token", choice="left", response_ms=1500)
    assert caught.value.code == "unknown_trial"
    assert not Judgment.objects.filter(trial__kind=Trial.Kind.TRIAL).exists()


@pytest.mark.django_db
def test_a_trial_of_another_rater_is_refused(study, walk_rater):
    alice_rater, bob_rater = walk_rater(study), walk_rater(study)
    trial = services.issue_trial(rater=alice_rater)
    with pytest.raises(RatingError) as caught:
        _judge(bob_rater, trial)
    assert caught.value.code == "not_your_trial"
    assert not Judgment.objects.filter(trial__kind=Trial.Kind.TRIAL).exists()


@pytest.mark.django_db
def test_a_choice_other_than_left_or_right_is_refused(study, walk_rater):
    rater = walk_rater(study)
    trial = services.issue_trial(rater=rater)
    with pytest.raises(RatingError) as caught:
        _judge(rater, trial, "a")
    assert caught.value.code == "bad_choice"


@pytest.mark.django_db
def test_the_minimum_viewing_time_is_enforced_on_the_server_too(make_rated_study, walk_rater):
    study = make_rated_study(min_view_ms=60_000, practice_trials=0)
    rater = walk_rater(study)
    trial = services.issue_trial(rater=rater)
    with pytest.raises(RatingError) as caught:
        # The browser claims a long look, but the server issued the trial just now.
        services.record_judgment(rater=rater, trial_token=trial.token, choice="left", response_ms=70_000)
    assert caught.value.code == "too_fast"
    with pytest.raises(RatingError):
        services.record_judgment(rater=rater, trial_token=trial.token, choice="left", response_ms=10)


@pytest.mark.django_db
def test_raters_answering_faster_than_the_rate_limit_are_refused(make_rated_study, walk_rater, settings):
    settings.RATING_MAX_JUDGMENTS_PER_MINUTE = 2
    rater = walk_rater(make_rated_study(practice_trials=0, attention_rate=0.0, attention_min=0))
    for _ in range(2):
        _judge(rater, services.issue_trial(rater=rater))
    with pytest.raises(RatingError) as caught:
        _judge(rater, services.issue_trial(rater=rater))
    assert caught.value.code == "rate_limited"


@pytest.mark.django_db
def test_a_reload_gets_the_same_unanswered_trial(study, walk_rater):
    rater = walk_rater(study)
    first = services.issue_trial(rater=rater)
    assert services.issue_trial(rater=rater).pk == first.pk
    _judge(rater, first)
    assert services.issue_trial(rater=rater).pk != first.pk


@pytest.mark.django_db
def test_no_judgments_are_taken_while_the_study_is_paused(study, walk_rater):
    rater = walk_rater(study)
    trial = services.issue_trial(rater=rater)
    study.state = "paused"
    study.save()
    with pytest.raises(RatingError) as caught:
        _judge(rater, trial)
    assert caught.value.code == "study_paused"


@pytest.mark.django_db
def test_practice_trials_are_golden_and_lead_on_to_the_main_trials(make_rated_study, walk_rater):
    study = make_rated_study(practice_trials=2)
    rater = walk_rater(study, Rater.Stage.PRACTICE)
    for _ in range(2):
        trial = services.issue_trial(rater=rater)
        assert trial.kind == Trial.Kind.PRACTICE
        assert _judge(rater, trial, _good_side(trial)).correct is True
    rater.refresh_from_db()
    assert rater.stage == Rater.Stage.TRIALS
    assert services.issue_trial(rater=rater).kind != Trial.Kind.PRACTICE


@pytest.mark.django_db
def test_attention_checks_appear_at_the_configured_rate(make_rated_study, walk_rater):
    study = make_rated_study(
        trials_per_rater=10, attention_rate=0.2, practice_trials=0, images=3, qualities=(10, 30, 50, 70, 90)
    )
    rater = walk_rater(study)
    kinds = []
    for _ in range(10):
        trial = services.issue_trial(rater=rater)
        kinds.append(trial.kind)
        _judge(rater, trial, _good_side(trial) if trial.kind == Trial.Kind.ATTENTION else "left")
    assert kinds.count(Trial.Kind.ATTENTION) == 2
    assert kinds[0] == Trial.Kind.TRIAL


@pytest.mark.django_db
def test_failing_too_many_attention_checks_excludes_the_rater(make_rated_study, walk_rater):
    study = make_rated_study(
        trials_per_rater=10, attention_rate=0.3, attention_max_failures=1, practice_trials=0, images=3
    )
    rater = walk_rater(study)
    for _ in range(10):
        trial = services.issue_trial(rater=rater)
        wrong = "right" if _good_side(trial) == "left" else "left"
        _judge(rater, trial, wrong if trial.kind == Trial.Kind.ATTENTION else "left")
        rater.refresh_from_db()
        if rater.excluded:
            break
    assert rater.excluded and rater.attention_failures == 2
    assert "attention" in rater.excluded_reason
    with pytest.raises(RatingError) as caught:
        services.issue_trial(rater=rater)
    assert caught.value.code == "excluded"


@pytest.mark.django_db
def test_the_rater_completes_after_the_configured_number_of_trials(make_rated_study, walk_rater):
    study = make_rated_study(
        trials_per_rater=3, attention_rate=0.0, attention_min=0, practice_trials=0, completion_code="C0DE42"
    )
    study.completion_redirect = "https://app.prolific.com/submissions/complete?cc={code}"
    study.save()
    rater = walk_rater(study)
    for _ in range(3):
        _judge(rater, services.issue_trial(rater=rater))
    rater.refresh_from_db()
    assert rater.stage == Rater.Stage.DONE and rater.completion_code == "C0DE42"
    assert services.completion_redirect(rater) == "https://app.prolific.com/submissions/complete?cc=C0DE42"


@pytest.mark.django_db
def test_without_a_study_code_every_rater_gets_the_same_study_wide_code(make_rated_study, walk_rater):
    # A crowd platform matches the code against the ones the researcher registered: it cannot be per rater.
    study = make_rated_study(trials_per_rater=1, attention_rate=0.0, attention_min=0, practice_trials=0)
    other = make_rated_study("other", trials_per_rater=1, attention_rate=0.0, attention_min=0, practice_trials=0)
    codes = set()
    for _ in range(2):
        rater = walk_rater(study)
        _judge(rater, services.issue_trial(rater=rater))
        rater.refresh_from_db()
        codes.add(rater.completion_code)
    (code,) = codes
    assert len(code) == 8 and code.isalnum() and code.isupper()
    assert code == outcome(study, "completed").code != outcome(other, "completed").code
    assert code != outcome(study, "screened_out").code


@pytest.mark.django_db
def test_a_rater_who_has_seen_every_pair_is_done_early(make_rated_study, walk_rater):
    study = make_rated_study(
        images=1, qualities=(10, 90), trials_per_rater=50, attention_rate=0.0, attention_min=0, practice_trials=0
    )
    rater = walk_rater(study)
    _judge(rater, services.issue_trial(rater=rater))
    assert services.issue_trial(rater=rater) is None
    rater.refresh_from_db()
    assert rater.stage == Rater.Stage.DONE


@pytest.mark.django_db
def test_researchers_can_exclude_and_include_a_rater(study, walk_rater):
    rater = walk_rater(study)
    services.exclude_rater(rater=rater, reason="straight-lining")
    rater.refresh_from_db()
    assert rater.excluded and rater.excluded_reason == "straight-lining"
    services.include_rater(rater=rater)
    rater.refresh_from_db()
    assert not rater.excluded and rater.excluded_reason == ""
    assert list(rater.events.values_list("kind", flat=True))[-2:] == ["excluded", "included"]
