"""Opaque image keys: stable, slot-specific and unforgeable without the secret key."""

from __future__ import annotations

from evalsite.rating.tokens import image_key, resolve_slot

SLOTS = ("reference", "left", "right")


def test_a_key_names_exactly_one_slot_of_one_owner():
    key = image_key("owner-1", "left")
    assert resolve_slot("owner-1", key, SLOTS) == "left"
    assert resolve_slot("owner-2", key, SLOTS) is None


def test_keys_differ_by_slot_and_owner_and_reveal_neither():
    keys = {image_key(owner, slot) for owner in ("o1", "o2") for slot in SLOTS}
    assert len(keys) == 6
    assert all("left" not in k and "o1" not in k and len(k) == 32 for k in keys)


def test_a_forged_key_resolves_to_nothing():
    assert resolve_slot("owner-1", "0" * 32, SLOTS) is None


def test_keys_change_with_the_secret_key(settings):
    before = image_key("owner-1", "left")
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert image_key("owner-1", "left") != before
