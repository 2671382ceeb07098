"""Screening outcomes read as plain values: the one module through which the researcher side
reads what the screening tests found."""

from __future__ import annotations

from evalsite.screening.models import ScreeningAttempt
from evalsite.studies.models import Study


def screening_outcomes(study: Study) -> dict[tuple[int, str], str]:
    """Per (rater id, test kind): the score and outcome as shown to researchers, e.g. ``"7 (passed)"``."""
    outcomes: dict[tuple[int, str], str] = {}
    rows = ScreeningAttempt.objects.filter(rater__study=study).values_list("rater_id", "kind", "score", "passed")
    for rater_id, kind, score, passed in rows:
        outcome = "pending" if passed is None else ("passed" if passed else "failed")
        outcomes[(rater_id, kind)] = f"{score if score is not None else '-'} ({outcome})"
    return outcomes
