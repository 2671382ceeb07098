"""Read-only queries behind the researcher pages and exports: who may see a study, and its raters as a table.

Judgments, the manifest and progress come from ``evalsite.rating.results`` and screening scores
from ``evalsite.screening.results``: the researcher side reads the rater side only through them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet
from django.http import Http404

from evalsite.rating import results
from evalsite.screening.results import screening_outcomes
from evalsite.studies.models import Study

SCREENING_TESTS = ("colour", "artifact")


def visible_studies(user: User | AnonymousUser) -> QuerySet[Study]:
    """Studies ``user`` owns or that were shared with them (the only ones they may see or change)."""
    return Study.objects.filter(Q(owner=user) | Q(shared_with=user)).distinct()


def study_for(user: User | AnonymousUser, slug: str) -> Study:
    """The study ``slug`` if ``user`` may see it; 404 otherwise, so other studies' slugs do not leak."""
    study = visible_studies(user).filter(slug=slug).first()
    if study is None:
        raise Http404("No such study")
    return study


def rater_rows(study: Study) -> list[dict[str, Any]]:
    """One row per rater: stage, screening scores, attention failures, timing and agreement with the majority."""
    outcomes = screening_outcomes(study)
    rows = []
    for row in results.rater_rows(study):
        scores = {test: outcomes.get((row["pk"], test), "") for test in SCREENING_TESTS}
        rows.append({**row, **scores})
    return rows
