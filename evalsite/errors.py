"""One base for the errors services raise to people: a stable ``code`` and the message shown for it.

Each app keeps its own table of messages (``MESSAGES``, keyed by code) and subclasses
:class:`CodedError` with it; views show ``exc.message`` and tests assert ``exc.code``.
"""

from __future__ import annotations

from typing import ClassVar


class CodedError(Exception):
    """A request that cannot be carried out. ``message`` is the table's text for ``code``, filled in
    with ``params`` and followed by ``detail``; an unknown code is a programming error (ValueError)."""

    MESSAGES: ClassVar[dict[str, str]] = {}

    def __init__(self, code: str, detail: str = "", **params: object) -> None:
        if code not in self.MESSAGES:
            raise ValueError(f"unknown {type(self).__name__} code {code!r}; add it to {type(self).__module__}.MESSAGES")
        self.code = code
        self.message = self.MESSAGES[code].format(**params) + (f" {detail}" if detail else "")
        super().__init__(self.message)
