"""Researcher pages: thin views over services and selectors."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from evalsite.studies.models import Study


@login_required
def study_list(request: HttpRequest) -> HttpResponse:
    """Studies the researcher owns or that were shared with them."""
    studies = Study.objects.filter(Q(owner=request.user) | Q(shared_with=request.user)).distinct()
    return render(request, "studies/list.html", {"studies": studies})
