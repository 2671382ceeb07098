"""Project-wide test configuration; each area keeps its own fixtures in tests/<area>/conftest.py."""

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """Researchers are made per test; the production hasher's 10^6 rounds would dominate the site's suite."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
