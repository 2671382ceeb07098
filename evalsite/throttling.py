"""Request limits per client address, counted in Django's cache (rater entry; researcher logins use django-axes).

A fixed one-minute window per (scope, address): simple and cheap, one cache add and one increment
per request. The database cache's increment is not atomic, so under a race a window may let a
request or two more through; the limit is a brake on floods, not an exact quota.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

WINDOW_S = 60


def create_cache_table(using: str = "default", **kwargs: object) -> None:
    """Create the database cache's table where it is missing (run after ``migrate``; ``createcachetable`` does the same)."""
    call_command("createcachetable", database=using, verbosity=0)


def client_ip(request: HttpRequest) -> str:
    """The client's address: from CLIENT_IP_HEADER when a trusted proxy sets it, else REMOTE_ADDR."""
    header = getattr(settings, "CLIENT_IP_HEADER", "")
    forwarded = request.META.get(header, "") if header else ""
    # A proxy that appends to X-Forwarded-For puts the address it saw last.
    return forwarded.split(",")[-1].strip() or request.META.get("REMOTE_ADDR", "")


def over_limit(scope: str, request: HttpRequest, *, per_minute: int) -> bool:
    """Count this request in its address's current window of ``scope``; True once past ``per_minute``.

    The cache key holds a keyed hash of the address, not the address itself.
    """
    address = salted_hmac("pico.throttling", client_ip(request), algorithm="sha256").hexdigest()[:32]
    key = f"throttle:{scope}:{address}:{int(time.time() // WINDOW_S)}"
    cache.add(key, 0, timeout=2 * WINDOW_S)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=2 * WINDOW_S)
        count = 1
    return count > per_minute
