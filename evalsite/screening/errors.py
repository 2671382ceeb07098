"""Errors raised by screening services, with stable codes and the message a rater sees."""

from __future__ import annotations

from evalsite.errors import CodedError

MESSAGES: dict[str, str] = {
    "wrong_stage": "That test is not available now; you have been taken to where you left off.",
    "already_finished": "You have already completed this test.",
    "incomplete": "Please answer every item before continuing.",
    "not_a_number": "Please type only digits (0-9) for each plate, or leave it empty if you see no number.",
    "no_screening_stimuli": "This study has no artifact test images yet; please contact the researcher.",
}


class ScreeningError(CodedError):
    """A screening request that cannot be carried out; ``code`` is stable, ``message`` is for the rater."""

    MESSAGES = MESSAGES
