"""Who a request comes from, for the limits per client address (django-axes for logins,
``rating.entry_limit`` for the study link), and the database cache's table."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.http import HttpRequest


def create_cache_table(using: str = "default", **kwargs: object) -> None:
    """Create the database cache's table where it is missing (run after ``migrate``; ``createcachetable`` does the same)."""
    call_command("createcachetable", database=using, verbosity=0)


def client_ip(request: HttpRequest) -> str:
    """The client's address: from CLIENT_IP_HEADER when a trusted proxy sets it, else REMOTE_ADDR."""
    header = getattr(settings, "CLIENT_IP_HEADER", "")
    forwarded = request.META.get(header, "") if header else ""
    # A proxy that appends to X-Forwarded-For puts the address it saw last.
    return forwarded.split(",")[-1].strip() or request.META.get("REMOTE_ADDR", "")
