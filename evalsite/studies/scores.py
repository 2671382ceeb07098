"""Elo scores of a study from ``analysis``: a quick MAP preview for the study page, and the full report on demand."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.errors import AnalysisError
from evalsite.studies import selectors
from evalsite.studies.models import Stimulus, Study

PREVIEW_DRAWS = 200  # Laplace draws: enough for a 95% interval on a page, milliseconds to compute


@dataclass(frozen=True)
class Scores:
    """Tables of one fit: Elo per condition, BD-rate per codec, reliability per rater (keyed by export label)."""

    anchor: str
    elo: pd.DataFrame
    bdrate: pd.DataFrame
    raters: pd.DataFrame
    method: str


def anchor_codec(study: Study) -> str | None:
    """The codec Elo and BD-rates are reported against: ``jpeg`` when compared, else the first codec by name."""
    codecs = sorted(set(study.stimuli.filter(role=Stimulus.Role.CONDITION).values_list("codec", flat=True)))
    if not codecs:
        return None
    return "jpeg" if "jpeg" in codecs else codecs[0]


def study_frames(study: Study) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The study's judgments (excluded raters left out) and manifest as contract frames."""
    judgments = pd.DataFrame(selectors.judgment_rows(study), columns=selectors.JUDGMENT_COLUMNS)
    manifest = pd.DataFrame(selectors.manifest_rows(study))
    judgments.attrs["source"] = f"study {study.slug}"
    return judgments, manifest


def fit_scores(study: Study, *, method: str = "map", **fit_options) -> Scores | None:
    """Fit Elo to the study's judgments; ``None`` while there is not yet enough data to fit.

    ``method="map"`` is the live preview (MAP + Laplace, milliseconds); ``"nuts"`` is the full posterior.
    """
    from analysis.elo import elo_table
    from analysis.fitting import fit_elo
    from analysis.raters import rater_table
    from analysis.summaries import bdrate_table

    anchor = anchor_codec(study)
    judgments, manifest = study_frames(study)
    if anchor is None or judgments.empty:
        return None
    if method == "map":
        fit_options.setdefault("draws", PREVIEW_DRAWS)
    try:
        fit = fit_elo(judgments, manifest, anchor=anchor, method=method, **fit_options)
    except AnalysisError:
        return None  # e.g. conditions not yet connected by any comparison: the page says "not enough data"
    return Scores(anchor, elo_table(fit), bdrate_table(fit), rater_table(fit), method)


def write_scores(scores: Scores, folder: Path) -> list[Path]:
    """Write elo.csv, bdrate.csv and raters.csv (the analysis output contract) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in (("elo.csv", scores.elo), ("bdrate.csv", scores.bdrate), ("raters.csv", scores.raters)):
        path = folder / name
        frame.to_csv(path, index=False)
        written.append(path)
    return written
