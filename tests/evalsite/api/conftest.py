"""Tokens for Alice and Bob, and a client that sends one."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from evalsite.api.services import issue_token


@pytest.fixture
def api_client(alice, bob) -> Callable[..., Client]:
    """Factory: a test client whose requests carry ``who``'s token (``None``: no token; a string: that header)."""
    tokens = {"alice": issue_token(user=alice, name="tests")[1], "bob": issue_token(user=bob, name="tests")[1]}

    def make(who: str | None = "alice") -> Client:
        if who is None:
            return Client()
        header = f"Bearer {tokens[who]}" if who in tokens else who
        return Client(HTTP_AUTHORIZATION=header)

    return make
