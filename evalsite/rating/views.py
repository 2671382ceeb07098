"""Rater pages: thin views over rating services."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from evalsite.studies.models import Study


def study_entry(request: HttpRequest, slug: str) -> HttpResponse:
    """The study link raters arrive on."""
    study = get_object_or_404(Study, slug=slug, state=Study.State.LIVE)
    return render(request, "rating/entry.html", {"study": study})
