"""Writes of the API app: issuing and revoking researchers' tokens."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from evalsite.api.models import ApiToken, token_digest

TOKEN_PREFIX = "pico_"


def issue_token(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user``: the stored row, and the token itself (shown once, never stored)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(user=user, name=name[:100], digest=token_digest(token), hint=token[:12])
    return row, token


def token_user(token: str) -> User | None:
    """The active researcher a bearer token belongs to, or None; records when the token was last used."""
    row = ApiToken.objects.select_related("user").filter(digest=token_digest(token), revoked=False).first()
    if row is None or not row.user.is_active:
        return None
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
    return row.user


def revoke_tokens(*, user: User, name: str | None = None) -> int:
    """Revoke ``user``'s tokens (only those called ``name``, if given); how many were revoked."""
    with transaction.atomic():
        tokens = ApiToken.objects.filter(user=user, revoked=False)
        if name is not None:
            tokens = tokens.filter(name=name)
        return tokens.update(revoked=True)
