"""Opaque, unguessable image URLs: a random owner token plus an HMAC of (owner, slot).

An owner is a trial, a screening item or a rater (for the worked example); a slot names one
image it shows (``reference``, ``left``, ``right``, ``plate`` ...). The URL carries only the
owner's random token and a keyed MAC, so it says nothing about the stimulus behind it, and a
rater cannot forge the URL of a slot that was not issued to them.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "evalsite.rating.tokens.image"
KEY_LENGTH = 32


def image_key(owner: str, slot: str) -> str:
    """The MAC that names ``slot`` of ``owner`` in an image URL (hex, 128 bits)."""
    return salted_hmac(_SALT, f"{owner}:{slot}", algorithm="sha256").hexdigest()[:KEY_LENGTH]


def resolve_slot(owner: str, key: str, slots: Iterable[str]) -> str | None:
    """The slot of ``owner`` that ``key`` names, or None when it names none (forged or stale)."""
    found = None
    for slot in slots:
        # Compare against every slot in constant time so timing does not reveal which one matched.
        if constant_time_compare(image_key(owner, slot), key):
            found = slot
    return found
