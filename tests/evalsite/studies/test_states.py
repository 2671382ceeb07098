"""A study moves draft -> live <-> paused -> closed, and only through allowed steps."""

from __future__ import annotations

import pytest

from evalsite.studies.models import Study, StudyEvent
from evalsite.studies.services import StudyError, close_study, launch_study, pause_study

pytestmark = pytest.mark.django_db


def test_a_draft_study_with_stimuli_can_be_launched(make_study, alice):
    study = make_study(state=Study.State.DRAFT)
    launch_study(study=study, actor=alice)
    assert study.state == Study.State.LIVE
    assert study.launched_at is not None
    assert StudyEvent.objects.filter(study=study, action="launched", actor=alice).exists()


def test_a_live_study_pauses_resumes_and_closes(make_study):
    study = make_study(state=Study.State.LIVE)
    assert pause_study(study=study).state == Study.State.PAUSED
    assert launch_study(study=study).state == Study.State.LIVE
    assert close_study(study=study).state == Study.State.CLOSED
    assert study.closed_at is not None


def test_a_closed_study_cannot_reopen(make_study):
    study = make_study(state=Study.State.CLOSED)
    with pytest.raises(StudyError) as caught:
        launch_study(study=study)
    assert caught.value.code == "bad_transition"


def test_a_draft_cannot_be_paused(make_study):
    with pytest.raises(StudyError) as caught:
        pause_study(study=make_study(state=Study.State.DRAFT))
    assert caught.value.code == "bad_transition"


def test_a_study_without_reconstructions_cannot_launch(make_study):
    study = make_study(state=Study.State.DRAFT, images=0)
    with pytest.raises(StudyError) as caught:
        launch_study(study=study)
    assert caught.value.code == "no_stimuli"
    study.refresh_from_db()
    assert study.state == Study.State.DRAFT


def test_a_study_still_generating_cannot_launch(make_study):
    study = make_study(state=Study.State.DRAFT, generation=Study.Generation.RUNNING)
    with pytest.raises(StudyError) as caught:
        launch_study(study=study)
    assert caught.value.code == "generation_running"
