"""Errors raised by rating services, with stable codes and the message a rater sees."""

from __future__ import annotations

from evalsite.errors import CodedError

MESSAGES: dict[str, str] = {
    "study_not_live": "This study is not open for new participants right now.",
    "study_paused": "This study is paused. Please come back a little later; your progress is kept.",
    "study_closed": "This study has closed. Thank you for your interest.",
    "study_full": "This study has all the answers it needs. Thank you for your interest.",
    "screened_out": "Thank you. Your answers to the screening tests mean you cannot take part in this study.",
    "excluded": "Your session has ended. Thank you for your time.",
    "wrong_stage": "That step is not available now; you have been taken to where you left off.",
    "mobile": "This study needs a desktop or laptop computer with a large screen; phones and tablets cannot take part.",
    "window_too_small": "Your browser window is too small to show the images at full resolution.",
    "zoom": "Please set your browser zoom to 100% (Ctrl+0 or Cmd+0) and try again.",
    "bad_display": "We could not measure your display. Please enable JavaScript and try again.",
    "unknown_trial": "That comparison does not exist. Please continue with the current one.",
    "not_your_trial": "That comparison was not issued to you.",
    "already_judged": "You have already answered this comparison.",
    "bad_choice": "Please choose one of the two images.",
    "too_fast": "Please look at the images a little longer before answering.",
    "rate_limited": "You are answering faster than anyone can look at the images. Please slow down.",
    "no_trials": "There are no comparisons left for you in this study.",
    "crowd_id_required": (
        "This link is missing your participant id. Please open the study from the crowd platform's page "
        "(for example Prolific's 'Open study in a new window' button), not from a copied address."
    ),
    "already_taken_part": "You have already taken part in this study. Thank you for your interest.",
    "too_many_entries": (
        "Many people are opening this study from your network right now. Please wait a minute and open the link again."
    ),
    "high_density": "This study cannot show its images correctly on this screen (its pixel density is too high).",
    "view_both": "Please look at both copies, A and B, before answering.",
    "study_not_closed": "Identifiers are purged only from closed studies.",
}


class RatingError(CodedError):
    """A rater's request that cannot be carried out; ``code`` is stable, ``message`` is for the rater."""

    MESSAGES = MESSAGES
