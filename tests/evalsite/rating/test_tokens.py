"""Sealed image tokens: opaque, the same on a reload, per owner and slot, and open only in their study and session."""

from __future__ import annotations

import base64

import pytest

from evalsite.rating.tokens import seal, unseal

NAME = "crops/ab/ab12cd34ef.png"
WHERE = {"study_slug": "study-1", "session_key": "s" * 32}


def _seal(name: str = NAME, owner: str = "owner-1", slot: str = "left", **where: str) -> str:
    return seal(name, owner=owner, slot=slot, **{**WHERE, **where})


def test_a_token_opens_to_its_name_in_its_study_and_session_only():
    token = _seal()
    assert unseal(token, **WHERE) == NAME
    assert unseal(token, study_slug="study-2", session_key=WHERE["session_key"]) is None
    assert unseal(token, study_slug="study-1", session_key="t" * 32) is None
    assert unseal(token, study_slug="study-1", session_key=None) is None


def test_tokens_are_stable_differ_by_owner_and_slot_and_reveal_nothing():
    assert _seal() == _seal()  # a page shown again names the same image: the browser's copy serves
    tokens = {_seal(owner=owner, slot=slot) for owner in ("o1", "o2") for slot in ("reference", "left", "right")}
    assert len(tokens) == 6
    raw = [base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)) for t in tokens]
    assert all(NAME.encode() not in r and b"o1" not in r and b"left" not in r for r in raw)  # encrypted, not encoded
    assert all(set(t) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") for t in tokens)


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"),  # a changed byte
        lambda t: t[:20],  # cut short
        lambda t: "",
        lambda t: "not base64 at all!",
        lambda t: base64.urlsafe_b64encode(b"\0" * 64).decode().rstrip("="),
    ],
)
def test_a_forged_or_damaged_token_opens_to_nothing(forge):
    assert unseal(forge(_seal()), **WHERE) is None


def test_sealing_needs_a_session():
    with pytest.raises(ValueError, match="session"):
        seal(NAME, owner="o", slot="left", study_slug="study-1", session_key=None)


def test_tokens_follow_the_secret_key_and_its_fallbacks(settings):
    token = _seal()
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert _seal() != token
    assert unseal(token, **WHERE) is None  # rotated away
    settings.SECRET_KEY_FALLBACKS = [old]
    assert unseal(token, **WHERE) == NAME  # still open during the rotation
