"""Strict readers for settings taken from environment variables.

Each rejects a malformed value with ``ImproperlyConfigured`` naming the variable and the fix.
A ``NAME_FILE`` variable (a path whose content is the value) is read when ``NAME`` is unset,
for secrets mounted as files.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envstr(name: str, default: str | None = None) -> str | None:
    """The variable's text, or the content of the file named by ``NAME_FILE``, or ``default``."""
    if name in os.environ:
        return os.environ[name]
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read ({exc}); fix the path") from None
    return default


def envbool(name: str, default: bool = False) -> bool:
    """A boolean written as 1/0, true/false, yes/no or on/off."""
    value = envstr(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use 1/0, true/false, yes/no or on/off")


def envint(name: str, default: int) -> int:
    """An integer."""
    value = envstr(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None


def envlist(name: str, default: list[str]) -> list[str]:
    """A comma-separated list, blanks dropped."""
    value = envstr(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]
