"""judgments.csv: one row per judgment (contract in docs/contracts.md).

Required columns ``rater, image, a_codec, a_level, b_codec, b_level, winner`` with
``winner`` in {a, b, tie} (``tie``: the rater could not decide, where the study allows it); optional telemetry ``study, shown_left, kind, response_ms, switches,
crop_x, crop_y, crop_w, crop_h, created_at``.
"""

from __future__ import annotations

import os
from datetime import datetime

import pandas as pd

from analysis.errors import JudgmentsError
from pico.csvtable import Schema, choice, name, nonneg_int, optional, read_table, text
from pico.errors import Problem


def _timestamp(value: str) -> str:
    """An ISO 8601 timestamp."""
    try:
        datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"expected an ISO 8601 timestamp such as 2026-11-25T09:30:00+00:00, got {value!r}") from None
    return value.strip()


SCHEMA = Schema(
    required={
        "rater": text,
        "image": name,
        "a_codec": name,
        "a_level": nonneg_int,
        "b_codec": name,
        "b_level": nonneg_int,
        "winner": choice("a", "b", "tie"),
    },
    optional={
        "study": optional(text),
        "shown_left": optional(choice("a", "b")),
        "kind": optional(choice("trial", "attention", "practice")),
        "response_ms": optional(nonneg_int),
        "switches": optional(nonneg_int),
        "crop_x": optional(nonneg_int),
        "crop_y": optional(nonneg_int),
        "crop_w": optional(nonneg_int),
        "crop_h": optional(nonneg_int),
        "created_at": optional(_timestamp),
    },
)
COLUMNS = SCHEMA.columns


def read_judgments(path: str | os.PathLike, manifest: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read and validate judgments; raise :class:`JudgmentsError` listing every bad row.

    A row must compare two different conditions; with ``manifest`` (see
    :func:`pico.manifest.read_manifest`) each (image, codec, level) must be in it.
    """
    frame = read_table(path, SCHEMA, JudgmentsError)
    validate_judgments(frame, manifest, source=str(path))
    return frame


def validate_judgments(frame: pd.DataFrame, manifest: pd.DataFrame | None = None, *, source: str) -> None:
    """Cross-row checks of a parsed judgments frame; raise :class:`JudgmentsError` listing every bad row.

    Shared by :func:`read_judgments` and callers that already hold a frame (the site's export,
    notebooks): A and B must differ, and with ``manifest`` each (image, codec, level) must be in it.
    Line numbers come from ``frame.attrs["lines"]`` when present, else count the header as line 1.
    """
    missing = [c for c in SCHEMA.required if c not in frame.columns]
    if missing:
        raise JudgmentsError([Problem(source, 1, c, "required column missing") for c in missing])
    lines = frame.attrs.get("lines")
    if not lines or len(lines) != len(frame):  # a filtered frame keeps stale attrs
        lines = list(range(2, len(frame) + 2))
    problems: list[Problem] = []
    known = None
    if manifest is not None:
        known = set(zip(manifest["image"], manifest["codec"], manifest["level"], strict=True))
    for line, row in zip(lines, frame.itertuples(index=False), strict=True):
        if row.winner not in ("a", "b", "tie"):
            problems.append(Problem(source, line, "winner", f"expected one of a, b, tie, got {row.winner!r}"))
        if (row.a_codec, row.a_level) == (row.b_codec, row.b_level):
            problems.append(
                Problem(source, line, "b_level", f"A and B are the same condition ({row.a_codec}, level {row.a_level})")
            )
        if known is None:
            continue
        for side in ("a", "b"):
            codec, level = getattr(row, f"{side}_codec"), getattr(row, f"{side}_level")
            if (row.image, codec, level) not in known:
                problems.append(
                    Problem(
                        source,
                        line,
                        f"{side}_codec",
                        f"condition ({codec}, level {level}) on image {row.image!r} is not in the manifest; "
                        "pass the manifest this study was built from",
                    )
                )
    if problems:
        raise JudgmentsError(problems)
