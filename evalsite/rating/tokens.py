"""Opaque image URLs: the stored image's name, sealed to the study and browser session that were shown it.

A page that shows an image puts in its URL the image's study-files name, encrypted and
authenticated with AES-SIV (RFC 5297, deterministic authenticated encryption), the study and the
session key as associated data, and a digest of the owner (a trial, a screening item, the
rater's worked example) and slot inside. So the URL says nothing about the stimulus behind it,
differs per trial and slot, stays the same when the page is shown again (the browser may keep
the image), cannot be forged, and opens in no other session or study. Serving it needs no
database: the request unseals the name and streams the stored file.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from django.conf import settings
from django.utils.crypto import salted_hmac
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

_SALT = "evalsite.rating.tokens.image"
_OWNER_DIGEST = 8  # bytes of sha256(owner, slot): enough to tell a rater's images apart, short in the URL


@lru_cache(maxsize=8)
def _cipher(secret: str) -> AESSIV:
    """AES-256-SIV under a key derived from ``secret`` (a SECRET_KEY) for this purpose only."""
    return AESSIV(salted_hmac(_SALT, "aes-siv", secret=secret, algorithm="sha512").digest())


def _context(study_slug: str, session_key: str) -> list[bytes]:
    return [study_slug.encode(), session_key.encode()]


def seal(name: str, *, owner: str, slot: str, study_slug: str, session_key: str | None) -> str:
    """The URL token (base64url) of the stored image ``name``, shown as ``slot`` of ``owner`` in this study and session."""
    if not session_key:
        raise ValueError("an image URL is sealed to the rater's session, and this request has none")
    digest = hashlib.sha256(f"{owner}\n{slot}".encode()).digest()[:_OWNER_DIGEST]
    sealed = _cipher(settings.SECRET_KEY).encrypt(digest + name.encode(), _context(study_slug, session_key))
    return urlsafe_base64_encode(sealed)


def unseal(token: str, *, study_slug: str, session_key: str | None) -> str | None:
    """The stored image's name that ``token`` seals for this study and session, or None (forged, or sealed elsewhere).

    Tokens sealed under a SECRET_KEY_FALLBACKS key still open, as Django's signed values do.
    """
    if not session_key:
        return None
    try:
        sealed = urlsafe_base64_decode(token)
    except ValueError:
        return None
    for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        try:
            data = _cipher(secret).decrypt(sealed, _context(study_slug, session_key))
        except (InvalidTag, ValueError):
            continue
        return data[_OWNER_DIGEST:].decode()
    return None
