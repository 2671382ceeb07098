"""Project-wide views: health check and home page."""

from __future__ import annotations

from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect


def health(request: HttpRequest) -> JsonResponse:
    """200 with ``{"status": "ok"}`` when the database answers, 503 otherwise (for load balancers)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return JsonResponse({"status": "error", "database": str(exc)}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})


def home(request: HttpRequest) -> HttpResponse:
    """Researchers land on their studies; everyone else on the login page."""
    return redirect("studies:list" if request.user.is_authenticated else "login")
