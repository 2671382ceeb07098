"""Typed exceptions of the analysis package; only ``analysis.cli`` turns them into exit codes."""

from __future__ import annotations

from pico.errors import TableError


class AnalysisError(Exception):
    """Base class of every error analysis raises on purpose."""


class JudgmentsError(TableError, AnalysisError):
    """judgments.csv does not follow the contract in docs/contracts.md."""


class AnswersError(TableError, AnalysisError):
    """Another platform's answers file or its table of methods cannot be imported (``import-answers``)."""
