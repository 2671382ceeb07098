"""Elo scores of a study from ``analysis``: a quick MAP preview for the study page, and the full report on demand."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.errors import AnalysisError
from evalsite.studies import selectors
from evalsite.studies.models import Stimulus, Study

PREVIEW_DRAWS = 200  # Laplace draws: enough for a 95% interval on a page
PREVIEW_CACHE_S = 3600


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


def fit_study_elo(study: Study, *, method: str = "map", **fit_options):
    """An :class:`analysis.elo.EloFit` of the study's judgments; ``None`` while there is not yet enough data.

    ``method="map"`` is the live preview (MAP + Laplace, fast); ``"nuts"`` is the full posterior.
    """
    from analysis.fitting import fit_elo

    anchor = anchor_codec(study)
    judgments, manifest = study_frames(study)
    if anchor is None or judgments.empty:
        return None
    if method == "map":
        fit_options.setdefault("draws", PREVIEW_DRAWS)
    try:
        return fit_elo(judgments, manifest, anchor=anchor, method=method, **fit_options)
    except AnalysisError:
        return None  # e.g. conditions not yet connected by any comparison: the page says "not enough data"


def fit_scores(study: Study, *, method: str = "map", **fit_options) -> Scores | None:
    """Tables of a fit of the study (see :func:`fit_study_elo`); ``None`` while there is not enough data."""
    from analysis.elo import elo_table
    from analysis.raters import rater_table
    from analysis.summaries import bdrate_table

    fit = fit_study_elo(study, method=method, **fit_options)
    if fit is None:
        return None
    return Scores(fit.anchor, elo_table(fit), bdrate_table(fit), rater_table(fit), method)


def preview_scores(study: Study) -> Scores | None:
    """The MAP preview of the study page, cached until a judgment arrives or a rater is excluded or included.

    A fit of a large study takes seconds; without the cache every page view would pay for it.
    """
    from django.core.cache import cache
    from django.db.models import Count, Max

    from evalsite.rating.models import Judgment

    stamp = Judgment.objects.filter(trial__rater__study=study).aggregate(n=Count("pk"), last=Max("pk"))
    excluded = ",".join(map(str, study.raters.filter(excluded=True).order_by("pk").values_list("pk", flat=True)))
    digest = hashlib.sha256(excluded.encode()).hexdigest()[:16]
    key = f"studies:preview:{study.pk}:{study.created_at.timestamp()}:{stamp['n']}:{stamp['last']}:{digest}"
    cached = cache.get(key)
    if cached is None:
        cached = (fit_scores(study),)  # a tuple, so that "not enough data" (None) is cached too
        cache.set(key, cached, PREVIEW_CACHE_S)
    return cached[0]


def write_report(study: Study, folder: Path) -> Path:
    """The full analysis of ``analysis.report`` in ``folder``: elo.csv, bdrate.csv, raters.csv, figures, report.html.

    The posterior is sampled with NUTS (setting STUDY_REPORT_METHOD = "map" gives the quick
    Laplace fit instead, e.g. in tests).
    """
    from django.conf import settings

    from analysis.report import write_report as write_analysis_report

    method = getattr(settings, "STUDY_REPORT_METHOD", "nuts")
    options = {"draws": 500, "tune": 500, "chains": 2} if method == "nuts" else {}
    fit = fit_study_elo(study, method=method, **options)
    if fit is None:
        raise AnalysisError(f"study {study.slug!r} has no judgments that connect its conditions yet; nothing to fit")
    write_analysis_report(fit, folder)
    return folder
