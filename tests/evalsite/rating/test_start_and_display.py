"""Starting from the study link, resuming, and the display check."""

from __future__ import annotations

import pytest

from evalsite.rating import geometry, results, services
from evalsite.rating.errors import RatingError
from evalsite.rating.models import Rater
from evalsite.studies.models import Study
from tests.evalsite.conftest import desktop_display

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148 Safari/604.1"


def _display(rater: Rater, **overrides) -> None:
    services.record_display(rater=rater, display=desktop_display(**overrides))


@pytest.mark.django_db
def test_the_link_is_the_study_slug_under_s(make_rated_study):
    assert results.rater_link(make_rated_study("linked")) == "/s/linked/"


@pytest.mark.django_db
def test_prolific_parameters_are_kept_and_the_pid_identifies_the_rater(make_rated_study):
    study = make_rated_study()
    params = {"PROLIFIC_PID": "p-123", "STUDY_ID": "s-9", "SESSION_ID": "x-1", "other": "dropped"}
    rater = services.start_rater(study=study, params=params)
    assert rater.crowd_id == "p-123"
    assert rater.crowd_params == {"PROLIFIC_PID": "p-123", "STUDY_ID": "s-9", "SESSION_ID": "x-1"}


@pytest.mark.django_db
def test_a_returning_crowd_id_resumes_instead_of_starting_over(make_rated_study, walk_rater):
    study = make_rated_study()
    first = walk_rater(study, Rater.Stage.COLOUR, pid="same")
    again = services.start_rater(study=study, params={"pid": "same"})
    assert again.pk == first.pk and again.stage == Rater.Stage.COLOUR
    assert Rater.objects.filter(study=study).count() == 1


@pytest.mark.django_db
def test_a_crowd_id_that_failed_screening_stays_screened_out(make_rated_study, walk_rater):
    study = make_rated_study()
    rater = walk_rater(study, Rater.Stage.COLOUR, pid="failer")
    Rater.objects.filter(pk=rater.pk).update(stage=Rater.Stage.SCREENED_OUT)
    assert services.start_rater(study=study, params={"PROLIFIC_PID": "failer"}).stage == Rater.Stage.SCREENED_OUT


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("state", "code"), [("paused", "study_paused"), ("closed", "study_closed"), ("draft", "study_not_live")]
)
def test_new_raters_cannot_join_a_study_that_is_not_live(make_rated_study, state, code):
    study = make_rated_study(state=state)
    with pytest.raises(RatingError) as caught:
        services.start_rater(study=study, params={})
    assert caught.value.code == code


@pytest.mark.django_db
def test_the_display_check_records_the_device_pixel_ratio(make_rated_study, walk_rater):
    rater = walk_rater(make_rated_study(), Rater.Stage.DISPLAY)
    _display(rater, device_pixel_ratio=2.0, window_width=1440, window_height=900)
    rater.refresh_from_db()
    assert (rater.device_pixel_ratio, rater.window_width, rater.window_height) == (2.0, 1440, 900)
    assert rater.stage == Rater.Stage.COLOUR


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"user_agent": PHONE}, "mobile"),
        ({"coarse_pointer": True}, "mobile"),
        ({"zoom_ok": False}, "zoom"),
        ({"window_width": 200}, "window_too_small"),
        ({"device_pixel_ratio": 0.0}, "bad_display"),
    ],
)
def test_the_display_check_refuses_phones_zoom_and_small_windows(make_rated_study, walk_rater, overrides, code):
    rater = walk_rater(make_rated_study(), Rater.Stage.DISPLAY)
    with pytest.raises(RatingError) as caught:
        _display(rater, **overrides)
    assert caught.value.code == code
    rater.refresh_from_db()
    assert rater.stage == Rater.Stage.DISPLAY


@pytest.mark.django_db
def test_the_window_must_fit_three_crops_side_by_side_at_one_to_one_device_pixels(make_study):
    study = make_study(images=1, qualities=(50,), size=(520, 260), crop_width=512, crop_height=256)
    assert geometry.required_window(study, 1.0) == (3 * 512 + 4 * geometry.GAP_CSS_PX, 256 + geometry.CONTROLS_CSS_PX)
    assert geometry.required_window(study, 2.0)[0] == 3 * 256 + 4 * geometry.GAP_CSS_PX
    study.mode = Study.Mode.FLICKER
    assert geometry.required_window(study, 1.0)[0] == 512 + 2 * geometry.GAP_CSS_PX


@pytest.mark.django_db
def test_a_study_that_reached_its_target_takes_no_new_raters_but_lets_others_finish(make_rated_study, walk_rater):
    study = make_rated_study(target_judgments=1, practice_trials=0, attention_rate=0.0, attention_min=0)
    first, second = walk_rater(study, pid="first"), walk_rater(study, pid="second")
    trial = services.issue_trial(rater=first)
    services.record_judgment(rater=first, trial_token=trial.token, choice="left", response_ms=1500)
    with pytest.raises(RatingError) as caught:
        services.start_rater(study=study, params={"pid": "third"})
    assert caught.value.code == "study_full"
    assert services.start_rater(study=study, params={"pid": "second"}).pk == second.pk
    assert services.issue_trial(rater=second) is not None
