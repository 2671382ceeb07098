"""Other platforms' answer files (CLIC-style) -> judgments.csv + manifest.csv.

A CLIC-style answers CSV has one row per answer: ``methodA, methodB, originalName,
answerValue``, where ``answerValue`` names one of the two methods, either the one the rater
preferred or the one the rater found more distorted (the file does not say which, so the caller
must). A table of methods gives each method's codec, level and bpp, either as columns
``method, codec, level, bpp`` or as ``method, bpp`` plus a regular expression whose named groups
``codec`` and ``quality`` split the method name (levels are then numbered by bpp within each
codec). No image files are needed: the manifest's ``path`` is the placeholder
:data:`pico.manifest.NO_IMAGE` (docs/contracts.md), which analysis accepts and which tools that
need the decoded images refuse by name.

Every problem is reported as ``FILE:LINE: column 'NAME': message`` (header = line 1), all at once.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError, AnswersError
from analysis.judgments import COLUMNS as JUDGMENT_COLUMNS
from analysis.judgments import validate_judgments
from pico.csvtable import Schema, name, nonneg_int, optional, parse_table, positive_float, text, write_table_atomic
from pico.errors import Problem
from pico.manifest import NO_IMAGE, write_manifest

ANSWER_MEANINGS = ("preferred", "distorted")
"""What ``answerValue`` names: the image the rater preferred, or the one judged more distorted."""

ONE_RATER = "all"
"""Rater id given to every judgment when the answers file has no rater column."""


@dataclass(frozen=True)
class AnswerColumns:
    """Column names of an answers file (CLIC's by default); ``rater`` is optional in the file."""

    method_a: str = "methodA"
    method_b: str = "methodB"
    image: str = "originalName"
    answer: str = "answerValue"
    rater: str = "rater"


@dataclass(frozen=True)
class ImportedAnswers:
    """Judgments and manifest frames following the contracts, and what the import decided."""

    judgments: pd.DataFrame
    manifest: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def read_methods(path: str | os.PathLike, *, method_regex: str | None = None) -> pd.DataFrame:
    """Read a table of methods; return ``method, codec, level, bpp, param`` (one row per method).

    Parameters
    ----------
    path
        CSV with ``method, codec, level, bpp`` (level 0..L-1 in ascending bitrate within a codec;
        bpp in bits per pixel, > 0), or with ``method, bpp`` when ``method_regex`` is given.
    method_regex
        Regular expression with named groups ``codec`` and ``quality`` that must match each whole
        method name (e.g. ``(?P<codec>[a-z]+)_q(?P<quality>\\d+)``); levels are numbered by
        ascending bpp within each codec and ``param`` keeps the quality text.

    Raises
    ------
    AnswersError
        Listing every bad cell or row with file, line and column.
    """
    pattern = None
    if method_regex is not None:
        try:
            pattern = re.compile(method_regex)
        except re.error as exc:
            raise AnalysisError(f"--method-regex {method_regex!r} is not a regular expression: {exc}") from None
        missing_groups = {"codec", "quality"} - set(pattern.groupindex)
        if missing_groups:
            raise AnalysisError(
                f"--method-regex {method_regex!r} needs named groups (?P<codec>...) and (?P<quality>...); "
                f"missing {', '.join(sorted(missing_groups))}"
            )
        schema = Schema(required={"method": text, "bpp": positive_float}, optional={"param": optional(text)})
    else:
        schema = Schema(
            required={"method": text, "codec": name, "level": nonneg_int, "bpp": positive_float},
            optional={"param": optional(text)},
        )
    table = parse_table(path, schema, AnswersError)
    source = table.source
    problems: list[Problem] = []
    rows: list[dict[str, Any]] = []
    first_line: dict[str, int] = {}
    for line, record in zip(table.lines, table.records, strict=True):
        method = record["method"]
        if method in first_line:
            problems.append(
                Problem(source, line, "method", f"method {method!r} already defined on line {first_line[method]}")
            )
            continue
        first_line[method] = line
        row = {"method": method, "bpp": record["bpp"], "line": line, "param": record.get("param")}
        if pattern is not None:
            match = pattern.fullmatch(method)
            if match is None:
                problems.append(
                    Problem(source, line, "method", f"{method!r} does not match --method-regex {pattern.pattern!r}")
                )
                continue
            try:
                row["codec"] = name(match["codec"])
            except ValueError as exc:
                problems.append(Problem(source, line, "method", f"codec part of {method!r}: {exc}"))
                continue
            row["quality"] = match["quality"]
            row["param"] = row["param"] or match["quality"]
        else:
            row["codec"], row["level"] = record["codec"], record["level"]
        rows.append(row)
    if problems:
        raise AnswersError(problems)
    methods = pd.DataFrame(rows)
    if pattern is not None:
        methods["level"] = _levels_by_bpp(methods)
    problems = _check_levels(methods, source)
    if problems:
        raise AnswersError(problems)
    methods.attrs["source"] = source
    return methods[["method", "codec", "level", "bpp", "param", "line"]].reset_index(drop=True)


def _levels_by_bpp(methods: pd.DataFrame) -> np.ndarray:
    """Level = rank of bpp within the codec (ties broken by the quality number, then text)."""

    def quality_key(q: str) -> tuple[float, str]:
        try:
            return float(q), q
        except ValueError:
            return float("nan"), q

    keyed = methods.assign(_q=[quality_key(q)[0] for q in methods["quality"]])
    order = keyed.sort_values(["codec", "bpp", "_q", "quality"], kind="stable")
    levels = order.groupby("codec").cumcount()
    return levels.reindex(methods.index).to_numpy()


def _check_levels(methods: pd.DataFrame, source: str) -> list[Problem]:
    """Levels of a codec run 0..L-1 and bpp does not fall as the level rises."""
    problems: list[Problem] = []
    for codec, group in methods.groupby("codec", sort=True):
        group = group.sort_values("level")
        levels = list(group["level"])
        if levels != list(range(len(levels))):
            problems.append(
                Problem(
                    source,
                    int(group["line"].iloc[-1]),
                    "level",
                    f"levels of codec {codec!r} must be 0..{len(levels) - 1}, each once; got {sorted(levels)}",
                )
            )
            continue
        for (_, low), (_, high) in zip(group.iloc[:-1].iterrows(), group.iloc[1:].iterrows(), strict=True):
            if high["bpp"] < low["bpp"]:
                problems.append(
                    Problem(
                        source,
                        int(high["line"]),
                        "bpp",
                        f"level {high['level']} of codec {codec!r} has a lower bpp ({high['bpp']:g}) than level "
                        f"{low['level']} ({low['bpp']:g}, line {low['line']}); levels must ascend in bitrate",
                    )
                )
    return problems


def import_answers(
    answers_path: str | os.PathLike,
    methods: pd.DataFrame,
    *,
    answer_names: str,
    columns: AnswerColumns = AnswerColumns(),
    tie_values: tuple[str, ...] = (),
) -> ImportedAnswers:
    """Turn a CLIC-style answers file into judgments and manifest frames.

    Parameters
    ----------
    answers_path
        CSV with one row per answer (columns named by ``columns``; extra columns are ignored).
    methods
        :func:`read_methods` output: each method's codec, level and bpp.
    answer_names
        ``"preferred"`` if the answer value names the image the rater preferred (it wins),
        ``"distorted"`` if it names the more distorted image (the other one wins). Required:
        the two conventions give opposite Elo scales.
    columns
        Column names in the answers file. Without the rater column every judgment gets the
        rater id :data:`ONE_RATER` (``fit`` then fits one shared lapse, see
        :mod:`analysis.ratermodel`).
    tie_values
        Answer values meaning "can't decide" (e.g. ``("tie",)``): they become ``winner = tie``.

    Returns
    -------
    ImportedAnswers
        ``judgments`` (``rater, image, a_codec, a_level, b_codec, b_level, winner``, A = methodA)
        and ``manifest`` (one row per image and method, bpp from the methods table, ``path`` the
        placeholder :data:`pico.manifest.NO_IMAGE`).

    Raises
    ------
    AnswersError
        Every unknown method, unreadable answer or missing column, with file, line and column.
    """
    if answer_names not in ANSWER_MEANINGS:
        raise AnalysisError(f"answer meaning must be one of {', '.join(ANSWER_MEANINGS)}, got {answer_names!r}")
    required = {columns.method_a: text, columns.method_b: text, columns.image: name, columns.answer: text}
    table = parse_table(answers_path, Schema(required=required, optional={columns.rater: text}), AnswersError)
    source = table.source
    has_rater = columns.rater in table.header
    known = {m: (c, int(lv)) for m, c, lv in zip(methods["method"], methods["codec"], methods["level"], strict=True)}
    methods_source = methods.attrs.get("source", "the methods table")
    ties = {t.strip() for t in tie_values}
    problems: list[Problem] = []
    rows: list[dict[str, Any]] = []
    for line, record in zip(table.lines, table.records, strict=True):
        a, b, answer = record[columns.method_a], record[columns.method_b], record[columns.answer]
        bad = False
        for column, method in ((columns.method_a, a), (columns.method_b, b)):
            if method not in known:
                problems.append(Problem(source, line, column, f"method {method!r} is not in {methods_source}"))
                bad = True
        if a == b:
            problems.append(Problem(source, line, columns.method_b, f"both sides show method {a!r}"))
            bad = True
        if answer == a:
            named = "a"
        elif answer == b:
            named = "b"
        elif answer in ties:
            named = "tie"
        else:
            expected = f"{a!r} or {b!r}" + (f" or a tie value ({', '.join(sorted(ties))})" if ties else "")
            problems.append(
                Problem(
                    source,
                    line,
                    columns.answer,
                    f"expected the name of one of the two methods, {expected}; got {answer!r}",
                )
            )
            bad = True
        if bad:
            continue
        winner = named if named == "tie" or answer_names == "preferred" else {"a": "b", "b": "a"}[named]
        (a_codec, a_level), (b_codec, b_level) = known[a], known[b]
        rows.append(
            {
                "rater": str(record[columns.rater]) if has_rater else ONE_RATER,
                "image": record[columns.image],
                "a_codec": a_codec,
                "a_level": a_level,
                "b_codec": b_codec,
                "b_level": b_level,
                "winner": winner,
            }
        )
    if problems:
        raise AnswersError(problems)
    if not rows:
        raise AnswersError([Problem(source, None, None, "no answers in the file")])
    judgments = pd.DataFrame(rows, columns=[c for c in JUDGMENT_COLUMNS if c in rows[0]])
    judgments.attrs["source"] = source
    judgments.attrs["lines"] = list(table.lines)
    images = sorted(judgments["image"].unique())
    manifest = pd.DataFrame(
        [
            {"image": image, "codec": codec, "level": int(level), "bpp": float(bpp), "path": NO_IMAGE, "param": param}
            for image in images
            for codec, level, bpp, param in zip(
                methods["codec"], methods["level"], methods["bpp"], methods["param"], strict=True
            )
        ]
    )
    validate_judgments(judgments, manifest, source=source)
    notes = []
    if not has_rater:
        notes.append(f"{source} has no {columns.rater!r} column: every judgment is by one rater, {ONE_RATER!r}")
    notes.append(
        f"{len(judgments)} judgments, {judgments['rater'].nunique()} rater(s), {len(images)} images, "
        f"{len(methods)} methods ({methods['codec'].nunique()} codecs); answer = the {answer_names} image"
    )
    return ImportedAnswers(judgments, manifest, notes)


def write_imported(
    imported: ImportedAnswers, judgments_out: str | os.PathLike, manifest_out: str | os.PathLike
) -> None:
    """Write the imported judgments and manifest atomically, per the contracts (docs/contracts.md)."""
    write_manifest(
        manifest_out, imported.manifest.astype(object).where(imported.manifest.notna(), None).to_dict("records")
    )
    frame = imported.judgments
    write_table_atomic(Path(judgments_out), list(frame.columns), frame.to_dict("records"))


def to_answers(
    judgments: pd.DataFrame,
    manifest: pd.DataFrame,
    *,
    answer_names: str = "preferred",
    keep_rater: bool = False,
    method_format: str = "{codec}_q{level}",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write a study the way a CLIC-style platform publishes it (the inverse of :func:`import_answers`).

    Used to test the import on simulated studies and to make the documented example.

    Parameters
    ----------
    judgments, manifest
        Frames following the contracts (e.g. :func:`analysis.simulate.simulate_study` output).
    answer_names
        ``"preferred"``: ``answerValue`` names the winner; ``"distorted"``: the loser.
    keep_rater
        Keep a ``rater`` column (published files usually have none).
    method_format
        Method name from ``codec`` and ``level``.

    Returns
    -------
    (answers, methods)
        ``methodA, methodB, originalName, answerValue[, rater]`` and ``method, codec, level, bpp``
        (bpp: geometric mean over the manifest's images, bits per pixel).
    """
    if answer_names not in ANSWER_MEANINGS:
        raise AnalysisError(f"answer meaning must be one of {', '.join(ANSWER_MEANINGS)}, got {answer_names!r}")
    frame = manifest.assign(log_bpp=np.log(manifest["bpp"].astype(float)), level=manifest["level"].astype(int))
    methods = frame.groupby(["codec", "level"], as_index=False)["log_bpp"].mean()
    methods["bpp"] = np.exp(methods.pop("log_bpp")).round(6)
    methods.insert(
        0,
        "method",
        [method_format.format(codec=c, level=lv) for c, lv in zip(methods["codec"], methods["level"], strict=True)],
    )
    a = [
        method_format.format(codec=c, level=int(lv))
        for c, lv in zip(judgments["a_codec"], judgments["a_level"], strict=True)
    ]
    b = [
        method_format.format(codec=c, level=int(lv))
        for c, lv in zip(judgments["b_codec"], judgments["b_level"], strict=True)
    ]
    a_named = (judgments["winner"] == "a").to_numpy() == (answer_names == "preferred")
    answers = pd.DataFrame({"methodA": a, "methodB": b, "originalName": judgments["image"].to_numpy()})
    answers["answerValue"] = np.where(a_named, answers["methodA"], answers["methodB"])
    if keep_rater:
        answers["rater"] = judgments["rater"].to_numpy()
    return answers, methods
