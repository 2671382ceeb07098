"""A study's plan before launch: judgments for a target BD-rate interval, minutes, pay, cost and time to finish."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from evalsite.studies import planning
from evalsite.studies.models import Study
from evalsite.studies.planning import PlanInputs


def test_costs_add_setup_screening_trials_and_breaks_and_pay_by_the_hour():
    inputs = PlanInputs(hourly_rate=12.0, arrivals_per_hour=10.0)
    costs = planning.costs(
        raters=20, trials_per_session=103, seconds_per_trial=4.0, inputs=inputs, screening_seconds=80.0, breaks=2
    )
    seconds = planning.SETUP_SECONDS + 80 + 103 * 4 + 2 * planning.BREAK_SECONDS
    assert costs.minutes_per_rater == pytest.approx(seconds / 60)
    assert costs.pay_per_rater == pytest.approx(seconds / 3600 * 12)
    assert costs.total_cost == pytest.approx(20 * costs.pay_per_rater)
    assert costs.raters_to_start == 20
    assert costs.hours_to_finish == pytest.approx(20 / 10 + seconds / 3600)


def test_a_pilots_sessions_and_losses_replace_the_estimate():
    inputs = PlanInputs(hourly_rate=9.0, arrivals_per_hour=5.0)
    costs = planning.costs(
        raters=8,
        trials_per_session=50,
        seconds_per_trial=3.0,
        inputs=inputs,
        screening_seconds=0,
        breaks=0,
        session_minutes=20.0,
        completed_share=0.8,
    )
    assert costs.minutes_per_rater == 20.0
    assert costs.pay_per_rater == pytest.approx(3.0)
    assert costs.raters_to_start == 10
    assert costs.hours_to_finish == pytest.approx(10 / 5 + 20 / 60)


def widths(sizes, values, codec="webp"):
    return pd.DataFrame({"judgments": sizes, "raters": sizes, "codec": codec, "width_median": values})


def test_judgments_are_interpolated_on_log_log_axes_between_simulated_sizes():
    # width = 400 / sqrt(n): 20 points at 400, 10 at 1600, so 12 points at 400 * (400/12)^2 / 400...
    table = pd.concat([widths([400, 1600, 6400], [20.0, 10.0, 5.0]), widths([400, 1600, 6400], [8, 4, 2], "avif")])
    needed, extrapolated = planning.judgments_needed(table, 12.0)
    assert not extrapolated
    assert needed == math.ceil(400 * (20 / 12) ** 2)


def test_beyond_the_simulated_sizes_the_width_follows_one_over_the_square_root():
    needed, extrapolated = planning.judgments_needed(widths([400, 1600], [20.0, 10.0]), 5.0)
    assert extrapolated and needed == 6400
    needed, extrapolated = planning.judgments_needed(widths([400, 1600], [20.0, 10.0]), 40.0)
    assert extrapolated and needed == 100


def test_an_undefined_bd_rate_gives_no_number():
    assert planning.judgments_needed(widths([400, 1600], [np.inf, 10.0]), 5.0) == (None, False)


def test_objective_metrics_set_each_codecs_rate_factor_on_the_typical_curve():
    rows = []
    for level, bpp in enumerate((0.25, 0.5, 1.0)):
        quality = 10 + 15 * np.log(bpp / 0.02)
        rows.append({"image": "a", "codec": "jpeg", "level": level, "bpp": bpp, "ssimulacra2": quality})
        # Half the bits for the same quality: a BD-rate of -50 %.
        rows.append({"image": "a", "codec": "pico", "level": level, "bpp": bpp / 2, "ssimulacra2": quality})
    curves = planning.objective_curves(pd.DataFrame(rows), "jpeg")
    assert "ssimulacra2" in curves.source
    table = curves.table.set_index(["codec", "level"])
    assert len(table) == 6
    # pico at half the bpp reaches jpeg's Elo, level by level.
    for level in range(3):
        assert table.loc[("pico", level), "elo"] == pytest.approx(table.loc[("jpeg", level), "elo"], abs=1e-6)
    assert table.loc[("jpeg", 2), "elo"] > table.loc[("jpeg", 0), "elo"]


@pytest.fixture
def small_plan(settings):
    settings.STUDY_PLAN_GRID = (200, 800)
    settings.STUDY_PLAN_REPS = 1


@pytest.fixture
def draft(make_study, add_codec):
    study = make_study("planned", state=Study.State.DRAFT, trials_per_rater=40, practice_trials=3, break_every=20)
    add_codec(study, "webp", bpp_factor=0.8)
    return study


@pytest.mark.django_db
def test_a_draft_is_planned_from_its_reconstructions_and_the_widths_are_stored(draft, small_plan):
    plan = planning.study_plan(draft, PlanInputs(target_width=30.0, hourly_rate=10.0), compute=True)
    assert plan.judgments is not None and plan.judgments > 0
    assert plan.anchor == "jpeg" and "objective metrics" in plan.curves_source
    assert {row["codec"] for row in plan.widths} == {"webp"}
    assert plan.costs is not None
    assert plan.costs.raters == math.ceil(plan.judgments / plan.judgments_per_rater)
    assert plan.costs.seconds_per_trial == planning.DEFAULT_SECONDS_PER_TRIAL
    assert plan.costs.total_cost == pytest.approx(plan.costs.raters * plan.costs.pay_per_rater)
    assert plan.trials_per_session == plan.judgments_per_rater + 3 + 2  # + practice + attention checks (min 2)
    assert any("default" in note for note in plan.notes)
    assert list((planning.study_dir(draft) / "plan").glob("*.json"))

    # Another target or pay rate reuses the stored widths: nothing is simulated or queued again.
    queued = []
    again = planning.study_plan(draft, PlanInputs(target_width=60.0), queue=lambda *a: queued.append(a))
    assert not queued and again.judgments is not None and again.judgments < plan.judgments


@pytest.mark.django_db
def test_pages_queue_the_simulation_once_and_say_it_is_computing(draft, small_plan):
    queued = []
    plan = planning.study_plan(draft, PlanInputs(), queue=lambda *a: queued.append(a))
    assert plan.computing and plan.judgments is None and len(queued) == 1
    planning.study_plan(draft, PlanInputs(), queue=lambda *a: queued.append(a))
    assert len(queued) == 1


@pytest.mark.django_db
def test_a_study_without_reconstructions_one_codec_or_too_few_bitrates_says_why_there_is_no_plan(
    make_study, add_codec, small_plan
):
    study = make_study("onecodec", state=Study.State.DRAFT)
    plan = planning.study_plan(study, PlanInputs(), compute=True)
    assert plan.judgments is None and "one codec" in plan.notes[0]
    add_codec_levels = make_study("twolevels", state=Study.State.DRAFT, qualities=(20, 80))
    add_codec(add_codec_levels, "webp")
    plan = planning.study_plan(add_codec_levels, PlanInputs(), compute=True)
    assert plan.judgments is None and "at least 3 bitrates per codec (jpeg has 2, webp has 2)" in plan.notes[0]
    study.stimuli.all().delete()
    plan = planning.study_plan(study, PlanInputs(), compute=True)
    assert plan.judgments is None and "no reconstructions yet" in plan.notes[0]


@pytest.mark.django_db
def test_a_pilots_judgments_give_the_curves_and_the_time_per_trial(make_study, add_codec, judge, small_plan):
    pilot = make_study("pilot", state=Study.State.LIVE)
    add_codec(pilot, "webp")
    for seed in range(3):
        judge(pilot, n=30, seed=seed)
    study = make_study("main", state=Study.State.DRAFT)
    add_codec(study, "webp")
    plan = planning.study_plan(study, PlanInputs(pilot="pilot"), visible=[pilot], compute=True)
    assert "90 judgments of study pilot" in plan.curves_source
    assert plan.costs is not None
    assert 1.5 <= plan.costs.seconds_per_trial <= 6.0  # judge() answers in 1.5-6 s
    assert any("median of study pilot" in note for note in plan.notes)


@pytest.mark.django_db
def test_a_pilot_the_researcher_cannot_see_is_not_used(draft, make_study, bob, small_plan):
    make_study("bobs", owner=bob)
    plan = planning.study_plan(draft, PlanInputs(pilot="bobs"), visible=[], compute=True)
    assert plan.judgments is None and "bobs" in plan.notes[0]


@pytest.mark.django_db
def test_the_command_prints_the_plan_and_names_a_wrong_option(draft, small_plan, capsys):
    call_command("plan_study", "planned", "--hourly-rate", "15", "--currency", "USD")
    out = capsys.readouterr().out
    plan = planning.study_plan(draft, PlanInputs(hourly_rate=15.0, currency="USD"))
    assert f"judgments: {plan.judgments} for a 10-point 95% BD-rate interval" in out
    assert f"total pay: USD {plan.costs.total_cost:.2f}" in out
    assert "time to finish: " in out
    with pytest.raises(CommandError, match="--target-width: Ensure this value is greater than or equal to 0.5"):
        call_command("plan_study", "planned", "--target-width", "0")
    with pytest.raises(CommandError, match="no study with slug 'nope'"):
        call_command("plan_study", "nope")
