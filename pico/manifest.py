"""manifest.csv: one row per reconstruction (contract in docs/contracts.md).

Required columns ``image, codec, level, bpp, path``; ``pico ladder`` also writes
``target_bpp, bytes, width, height, param, encode_s, decode_s, psnr, ms_ssim, ssimulacra2,
sha256``. ``level`` counts 0..L-1 in ascending bitrate within a codec and means the same
target on every image (an image may lack a level its codec could not reach); ``path`` is
the decoded PNG relative to the manifest's folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from pico.csvtable import (
    Schema,
    Table,
    name,
    nonneg_int,
    optional,
    parse_table,
    positive_float,
    text,
    write_table_atomic,
)
from pico.errors import ManifestError, Problem

MANIFEST_NAME = "manifest.csv"
NO_IMAGE = "-"
"""``path`` of a row without a decoded image (a study imported from another platform's answers):
enough for analysis, refused wherever the files are needed (``check_files``)."""


def _relative_path(value: str) -> str:
    """A relative POSIX path inside the manifest's folder."""
    value = text(value)
    posix = PurePosixPath(value.replace("\\", "/"))
    if posix.is_absolute() or ".." in posix.parts:
        raise ValueError(f"expected a path relative to the manifest's folder without '..', got {value!r}")
    return str(posix)


def _nonneg_float(value: str) -> float:
    """A finite number >= 0."""
    number = float(value)
    if not number >= 0 or number == float("inf"):
        raise ValueError(f"expected a number >= 0, got {value!r}")
    return number


def _hex64(value: str) -> str:
    """A SHA-256 digest in lowercase hex."""
    value = value.strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ValueError(f"expected 64 hex digits (SHA-256), got {value!r}")
    return value


def _number(value: str) -> float:
    """Any number (metrics may be negative or infinite, e.g. PSNR of a lossless decode)."""
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"expected a number, got {value!r}") from None


SCHEMA = Schema(
    required={"image": name, "codec": name, "level": nonneg_int, "bpp": positive_float, "path": _relative_path},
    optional={
        "target_bpp": optional(positive_float),
        "bytes": optional(nonneg_int),
        "width": optional(nonneg_int),
        "height": optional(nonneg_int),
        "param": optional(text),
        "encode_s": optional(_nonneg_float),
        "decode_s": optional(_nonneg_float),
        "psnr": optional(_number),
        "psnr_y": optional(_number),
        "ms_ssim": optional(_number),
        "ssimulacra2": optional(_number),
        "sha256": optional(_hex64),
    },
)
COLUMNS = SCHEMA.columns


def read_manifest(path: str | os.PathLike, *, check_files: bool = False) -> pd.DataFrame:
    """Read and validate a manifest; raise :class:`ManifestError` listing every bad row.

    Besides each cell, checks that (image, codec, level) is unique, that the levels of a codec
    run 0..L-1 over the manifest, and that bpp does not fall as the level rises on an image. With
    ``check_files`` every ``path`` must exist beside the manifest (the placeholder
    :data:`NO_IMAGE` of an imported manifest is then refused too).
    """
    return _read_checked(path, check_files=check_files)[1]


def read_manifest_records(path: str | os.PathLike, *, check_files: bool = False) -> list[dict[str, Any]]:
    """The rows of a manifest, checked as by :func:`read_manifest`, as dicts :func:`write_manifest` takes back.

    Values are as parsed (``level``, ``bytes``, ``width`` and ``height`` are ints even where
    other rows leave them empty) and every empty cell is ``None``, where a DataFrame would hold
    NaN and turn a partly empty integer column into floats. Columns outside the contract are
    kept as text; ``write_manifest`` refuses them.
    """
    table = _read_checked(path, check_files=check_files)[0]
    return [{k: None if v == "" else v for k, v in record.items()} for record in table.records]


def _read_checked(path: str | os.PathLike, *, check_files: bool) -> tuple[Table, pd.DataFrame]:
    table = parse_table(path, SCHEMA, ManifestError)
    frame = table.frame()
    problems = validate_rows(frame, source=str(path))
    if check_files:
        root = Path(path).parent
        for line, rel in zip(table.lines, frame["path"], strict=True):
            if rel == NO_IMAGE:
                problems.append(
                    Problem(
                        str(path),
                        line,
                        "path",
                        f"no decoded image ({NO_IMAGE!r}: a manifest imported from answers, for analysis only); "
                        "encode the images (pico ladder) to use it here",
                    )
                )
            elif not (root / rel).is_file():
                problems.append(Problem(str(path), line, "path", f"file {root / rel} does not exist"))
    if problems:
        raise ManifestError(problems)
    return table, frame


def validate_rows(frame: pd.DataFrame, *, source: str) -> list[Problem]:
    """Cross-row checks of a parsed manifest frame; returns the problems found."""
    problems: list[Problem] = []
    lines = frame.attrs.get("lines") or list(range(2, len(frame) + 2))
    seen: dict[tuple[str, str, int], int] = {}
    for line, key in zip(lines, zip(frame["image"], frame["codec"], frame["level"], strict=True), strict=True):
        if key in seen:
            problems.append(
                Problem(
                    source,
                    line,
                    "level",
                    f"duplicate of line {seen[key]} for image {key[0]!r}, codec {key[1]!r}, level {key[2]}",
                )
            )
        else:
            seen[key] = line
    if problems:
        return problems
    by_key = dict(zip(zip(frame["image"], frame["codec"], frame["level"], strict=True), lines, strict=True))
    for codec, group in frame.groupby("codec", sort=False):
        levels = sorted(set(group["level"]))
        if levels != list(range(len(levels))):
            missing = sorted(set(range(max(levels) + 1)) - set(levels))
            problems.append(
                Problem(
                    source,
                    by_key[(group["image"].iloc[-1], codec, group["level"].iloc[-1])],
                    "level",
                    f"levels of codec {codec!r} must run 0..L-1 over the manifest; no image has level(s) {missing}",
                )
            )
    for (image, codec), group in frame.groupby(["image", "codec"], sort=False):
        ordered = group.sort_values("level")
        bpps = list(ordered["bpp"])
        for lower, higher, level in zip(bpps, bpps[1:], list(ordered["level"])[1:], strict=False):
            if higher < lower:
                problems.append(
                    Problem(
                        source,
                        by_key[(image, codec, level)],
                        "bpp",
                        f"level {level} of codec {codec!r} on image {image!r} has a lower bpp ({higher:g}) than the level below ({lower:g}); levels must ascend in bitrate",
                    )
                )
    return problems


def write_manifest(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Validate ``rows`` and write them atomically (temporary file, then rename).

    Rows are sorted by image, codec and level; a bad row raises :class:`ManifestError`
    and leaves any existing file at ``path`` untouched.
    """
    rows = sorted((dict(r) for r in rows), key=lambda r: (str(r["image"]), str(r["codec"]), int(r["level"])))
    extra = sorted({k for r in rows for k in r} - set(COLUMNS))
    if extra:
        raise ManifestError(
            [Problem(str(path), None, c, "not a manifest column; see docs/contracts.md") for c in extra]
        )
    frame = pd.DataFrame.from_records(rows, columns=COLUMNS)
    problems = []
    for index, row in enumerate(rows, start=2):
        for column, parser in {**SCHEMA.required, **SCHEMA.optional}.items():
            value = row.get(column)
            if value is None and column in SCHEMA.optional:
                continue
            try:
                parser("" if value is None else str(value))
            except ValueError as exc:
                problems.append(Problem(str(path), index, column, str(exc)))
    if not problems:
        frame.attrs["lines"] = list(range(2, len(rows) + 2))
        problems = validate_rows(frame, source=str(path))
    if problems:
        raise ManifestError(problems)
    return write_table_atomic(path, COLUMNS, rows)
