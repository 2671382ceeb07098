"""Typed exceptions of the pico package; their messages name the file or field and the fix.

Library code raises these; only ``pico.cli`` turns them into exit codes.
"""

from __future__ import annotations

from dataclasses import dataclass


class PicoError(Exception):
    """Base class of every error pico raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one cell, row or file of a table."""

    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.column:
            where += f": column '{self.column}'"
        return f"{where}: {self.message}"


class TableError(PicoError):
    """A CSV contract file is malformed; ``problems`` lists every bad cell or row."""

    def __init__(self, problems: list[Problem], limit: int = 20) -> None:
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:limit])
        more = len(problems) - limit
        if more > 0:
            shown += f"\n  ... and {more} more"
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{len(problems)} {noun}:\n{shown}")


class ManifestError(TableError):
    """manifest.csv does not follow the contract in docs/contracts.md."""


class CodecUnavailable(PicoError):
    """A codec cannot run on this machine; the message says why and how to fix it."""


class BitstreamError(PicoError):
    """A bitstream is corrupt, truncated or from another model/format version."""


class CodecFailed(PicoError):
    """An encoder or decoder failed, timed out or produced unusable output; the message quotes it."""


class RecipeError(PicoError):
    """An external codec's TOML recipe is malformed; the message names the file, the key and the fix."""
