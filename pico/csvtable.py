"""Validating reader for the project's CSV contracts (manifest.csv, judgments.csv).

Each column has a parser that turns the cell text into a value or raises ``ValueError``
with what was expected; every bad cell becomes one :class:`~pico.errors.Problem` naming
file, line and column, and all of them are raised together.
"""

from __future__ import annotations

import csv
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pico.errors import Problem, TableError

Parser = Callable[[str], Any]

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def text(value: str) -> str:
    """A non-empty string."""
    if not value.strip():
        raise ValueError("expected a non-empty value")
    return value.strip()


def name(value: str) -> str:
    """A registry-style name: letters, digits, '.', '_', '+', '-'; no spaces."""
    value = value.strip()
    if not NAME_RE.match(value):
        raise ValueError(f"expected a name of letters, digits, '._+-' (no spaces), got {value!r}")
    return value


def nonneg_int(value: str) -> int:
    """An integer >= 0."""
    try:
        number = int(value.strip())
    except ValueError:
        raise ValueError(f"expected an integer >= 0, got {value!r}") from None
    if number < 0:
        raise ValueError(f"expected an integer >= 0, got {number}")
    return number


def positive_float(value: str) -> float:
    """A finite number > 0."""
    try:
        number = float(value.strip())
    except ValueError:
        raise ValueError(f"expected a positive number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"expected a positive finite number, got {value!r}")
    return number


def optional(parser: Parser) -> Parser:
    """Wrap ``parser`` so that an empty cell reads as ``None``."""

    def parse(value: str) -> Any:
        return None if value.strip() == "" else parser(value)

    parse.__doc__ = f"empty, or {parser.__doc__}"
    return parse


def choice(*allowed: str) -> Parser:
    """A parser accepting exactly one of ``allowed`` (case-insensitive)."""

    def parse(value: str) -> str:
        lowered = value.strip().lower()
        if lowered not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {value!r}")
        return lowered

    return parse


@dataclass(frozen=True)
class Schema:
    """Columns of one CSV contract: required and optional, each with its parser."""

    required: Mapping[str, Parser]
    optional: Mapping[str, Parser]

    @property
    def columns(self) -> list[str]:
        return [*self.required, *self.optional]


@dataclass(frozen=True)
class Table:
    """Rows of one validated CSV file, each cell as its column's parser returned it.

    Empty cells of optional columns are ``None``; columns outside the schema are kept as text.
    ``lines`` holds each row's line number in the file (the header is line 1).
    """

    source: str
    header: list[str]
    records: list[dict[str, Any]]
    lines: list[int]

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame (``None`` becomes NaN), with ``source`` and ``lines`` in ``attrs``."""
        frame = pd.DataFrame.from_records(self.records, columns=self.header)
        frame.attrs["source"] = self.source
        frame.attrs["lines"] = self.lines
        return frame


def parse_table(path: str | os.PathLike, schema: Schema, error: type[TableError]) -> Table:
    """Read and validate ``path`` against ``schema``; raise ``error`` listing every bad cell.

    Unknown columns are kept as text. Line numbers count the header as line 1.
    """
    path = Path(path)
    label = str(path)
    if not path.is_file():
        raise error([Problem(label, None, None, "file not found; check the path")])
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        missing = [c for c in schema.required if c not in header]
        if missing:
            raise error(
                [
                    Problem(label, 1, c, f"required column missing (header has: {', '.join(header) or 'nothing'})")
                    for c in missing
                ]
            )
        parsers = {**schema.required, **{c: p for c, p in schema.optional.items() if c in header}}
        problems: list[Problem] = []
        records: list[dict[str, Any]] = []
        lines: list[int] = []
        for raw in reader:
            line = reader.line_num
            if None in raw:
                problems.append(Problem(label, line, None, f"more cells than the {len(header)} header columns"))
                continue
            record: dict[str, Any] = {}
            for column in header:
                cell = raw.get(column)
                if cell is None:
                    problems.append(Problem(label, line, column, "row ends before this column"))
                    continue
                parser = parsers.get(column)
                if parser is None:
                    record[column] = cell
                    continue
                try:
                    record[column] = parser(cell)
                except ValueError as exc:
                    problems.append(Problem(label, line, column, str(exc)))
            records.append(record)
            lines.append(line)
    if problems:
        raise error(problems)
    return Table(label, header, records, lines)


def read_table(path: str | os.PathLike, schema: Schema, error: type[TableError]) -> pd.DataFrame:
    """:func:`parse_table` as a DataFrame (see :meth:`Table.frame`)."""
    return parse_table(path, schema, error).frame()


def write_table_atomic(path: str | os.PathLike, columns: list[str], rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write rows to ``path`` via a temporary file and a rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="raise")
            writer.writeheader()
            for row in rows:
                writer.writerow({c: _cell(row.get(c)) for c in columns})
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return repr(float(value))  # NumPy 2 scalars are floats whose repr is 'np.float64(...)'
    return value
