"""The adaptive pair design of a study: which pairs of conditions raters compare, and how often.

``analysis.design`` chooses the shares; this module stores them on the study
(``Study.design_shares``) and decides when they are due for a refresh. The refresh runs in the
background (``tasks.refresh_design_task``), never in a rater's request, because it fits the MAP
preview (seconds on a large study).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from analysis.design import base_allocation, optimal_allocation
from analysis.design import refresh_due as analysis_refresh_due
from analysis.elo import elo_table
from evalsite.rating import results, selectors
from evalsite.studies.models import Study, StudyEvent

ShareRow = list[str | int | float]  # [codec_a, level_a, codec_b, level_b, share]


def refresh_due(*, judged: int, requested: int, n_conditions: int) -> bool:
    """Whether a refresh should be queued, on the schedule the simulations use
    (``analysis.design.refresh_due``), counted from the last one queued (``requested``, 0: none)."""
    return analysis_refresh_due(judged, requested or None, n_conditions)


def _rows(allocation: pd.DataFrame) -> list[ShareRow]:
    return [
        [str(row.codec_a), int(row.level_a), str(row.codec_b), int(row.level_b), float(row.share)]
        for row in allocation.itertuples()
    ]


def base_shares(conditions: Iterable[tuple[str, int]]) -> list[ShareRow]:
    """The pilot design over ``(codec, level)`` conditions (``analysis.design.base_allocation``)."""
    frame = pd.DataFrame(sorted(set(conditions)), columns=["codec", "level"])
    return _rows(base_allocation(frame))


def refresh_design(study: Study) -> int:
    """Recompute and store an adaptive study's shares from its MAP preview; the judgments used (0: base design).

    While the fit is not possible yet (too few judgments, or a condition never judged), the base
    design is stored and the next refresh tries again. Raises whatever the fit raises; the
    caller keeps the old shares then.
    """
    conditions = selectors.condition_levels(study)
    fit = results.fit_study_elo(study, method="map")
    table = elo_table(fit) if fit is not None else None
    if fit is None or table is None or set(zip(table["codec"], table["level"].astype(int), strict=True)) != conditions:
        shares, judged, note = base_shares(conditions), 0, "base design (not enough judgments to fit every condition)"
    else:
        judged = len(fit.data.judgments)
        shares, note = _rows(optimal_allocation(table, fit.anchor)), f"optimal design from {judged} judgments"
    Study.objects.filter(pk=study.pk).update(design_shares=shares, design_judgments=judged)
    StudyEvent.objects.create(study=study, action="design", detail=note)
    return judged
