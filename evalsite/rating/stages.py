"""The order of a rater's steps, skipping tests a study switches off (pure)."""

from __future__ import annotations

from evalsite.rating.models import Rater
from evalsite.studies.models import Study

ORDER = (
    Rater.Stage.CONSENT,
    Rater.Stage.INSTRUCTIONS,
    Rater.Stage.DISPLAY,
    Rater.Stage.COLOUR,
    Rater.Stage.ARTIFACT,
    Rater.Stage.PRACTICE,
    Rater.Stage.TRIALS,
    Rater.Stage.DONE,
)


def is_enabled(study: Study, stage: str) -> bool:
    """Whether ``study`` has this step at all (a test with zero items is skipped)."""
    if stage == Rater.Stage.COLOUR:
        return study.colour_plates > 0
    if stage == Rater.Stage.ARTIFACT:
        return study.artifact_items > 0
    if stage == Rater.Stage.PRACTICE:
        return study.practice_trials > 0
    return True


def stage_after(study: Study, stage: str) -> str:
    """The step that follows ``stage`` in ``study``."""
    index = ORDER.index(stage)
    return next(s for s in ORDER[index + 1 :] if is_enabled(study, s))
