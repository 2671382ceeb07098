"""'Can't decide' answers where a study allows them: stored as winner = tie, refused elsewhere,
wrong on pairs with a right answer, exported in the contract and read by the analysis."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import fit_elo
from analysis.elo import SamplerOptions
from evalsite.rating import results, services
from evalsite.rating.errors import RatingError
from evalsite.rating.models import Judgment, Rater, Trial
from evalsite.studies.exports import write_judgments

pytestmark = pytest.mark.django_db


@pytest.fixture
def tie_study(make_rated_study):
    return make_rated_study("ties", allow_ties=True, practice_trials=0, attention_rate=0.0, attention_min=0)


def _answer(rater: Rater, choice: str) -> services.JudgmentResult:
    trial = services.issue_trial(rater=rater)
    assert trial is not None
    return services.record_judgment(rater=rater, trial_token=trial.token, choice=choice, response_ms=1500)


def test_a_tie_is_stored_where_the_study_allows_it_and_its_retry_is_idempotent(tie_study, walk_rater):
    rater = walk_rater(tie_study)
    first = _answer(rater, "tie")
    assert first.created and first.judgment.winner == Judgment.Winner.TIE
    again = services.record_judgment(
        rater=rater, trial_token=first.judgment.trial.token, choice="tie", response_ms=1600
    )
    assert not again.created and again.judgment.pk == first.judgment.pk


def test_a_tie_is_refused_where_the_study_does_not_allow_it(make_rated_study, walk_rater):
    rater = walk_rater(make_rated_study(practice_trials=0, attention_rate=0.0, attention_min=0))
    with pytest.raises(RatingError) as caught:
        _answer(rater, "tie")
    assert caught.value.code == "bad_choice"
    assert not Judgment.objects.exists()


def test_a_tie_on_an_attention_check_counts_as_a_failure(make_rated_study, walk_rater):
    study = make_rated_study("ties-checked", allow_ties=True, practice_trials=0, attention_rate=0.49, attention_min=1)
    rater = walk_rater(study)
    for _ in range(study.trials_per_rater):
        trial = services.issue_trial(rater=rater)
        if trial is None or trial.kind == Trial.Kind.ATTENTION:
            break
        services.record_judgment(rater=rater, trial_token=trial.token, choice="left", response_ms=1500)
    assert trial is not None and trial.kind == Trial.Kind.ATTENTION
    result = services.record_judgment(rater=rater, trial_token=trial.token, choice="tie", response_ms=1500)
    assert result.correct is False
    rater.refresh_from_db()
    assert rater.attention_failures == 1


def test_ties_are_exported_in_the_contract_and_read_by_the_analysis(
    tie_study, walk_rater, add_codec, judge_by_elo, tmp_path
):
    add_codec(tie_study)
    judge_by_elo(
        tie_study,
        {("jpeg", 0): 0, ("jpeg", 1): 200, ("jpeg", 2): 400, ("other", 0): 100, ("other", 1): 300, ("other", 2): 500},
        n=200,
        seed=3,
    )
    rater = walk_rater(tie_study)
    for _ in range(5):
        _answer(rater, "tie")
    path = tmp_path / "judgments.csv"
    write_judgments(tie_study, path)
    exported = pd.read_csv(path)
    assert (exported["winner"] == "tie").sum() == 5
    judgments, manifest = results.study_frames(tie_study)
    fit = fit_elo(judgments, manifest, anchor="jpeg", method="map", sampling=SamplerOptions(draws=50))
    assert fit.data.n_ties == 5


def test_agreement_leaves_ties_out_and_a_tie_repeated_is_consistent(make_rated_study, walk_rater):
    study = make_rated_study(
        "ties-repeated",
        allow_ties=True,
        practice_trials=0,
        attention_rate=0.0,
        attention_min=0,
        trials_per_rater=10,
        repeat_share=0.3,
    )
    rater = walk_rater(study)
    while (trial := services.issue_trial(rater=rater)) is not None:
        services.record_judgment(rater=rater, trial_token=trial.token, choice="tie", response_ms=1500)
    row = next(r for r in results.rater_rows(study) if r["pk"] == rater.pk)
    assert row["agreement"] is None  # a tie agrees or disagrees with no one
    assert row["repeats"] >= 1 and row["consistency"] == 1.0
