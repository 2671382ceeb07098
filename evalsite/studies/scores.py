"""Elo scores of a study from ``analysis``: a quick MAP preview for the study page, and the full report on demand."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from django.conf import settings
from django.core.cache import cache

from analysis.elo import SamplerOptions, elo_table
from analysis.errors import AnalysisError
from analysis.raters import rater_table
from analysis.report import write_report as write_analysis_report
from analysis.summaries import bdrate_table
from evalsite.rating import results
from evalsite.studies.live import write_stamp
from evalsite.studies.models import Study

PREVIEW_CACHE_S = 3600
REPORT_SAMPLING = SamplerOptions(draws=500, tune=500, chains=2)  # the site's full report: 2 chains, one per core


@dataclass(frozen=True)
class Scores:
    """Tables of one fit: Elo per condition, BD-rate per codec, reliability per rater (keyed by export label)."""

    anchor: str
    elo: pd.DataFrame
    bdrate: pd.DataFrame
    raters: pd.DataFrame
    method: str


def fit_scores(study: Study, *, method: str = "map", sampling: SamplerOptions | None = None) -> Scores | None:
    """Tables of a fit of the study (``rating.results.fit_study_elo``); ``None`` while there is not enough data."""
    fit = results.fit_study_elo(study, method=method, sampling=sampling)
    if fit is None:
        return None
    return Scores(fit.anchor, elo_table(fit), bdrate_table(fit), rater_table(fit), method)


def preview_scores(study: Study) -> Scores | None:
    """The MAP preview of the study page, cached until a judgment arrives or a rater is excluded or included.

    A fit of a large study takes seconds; without the cache every page view would pay for it.
    """
    key = f"studies:preview:{preview_key(study)}"
    cached = cache.get(key)
    if cached is None:
        cached = (fit_scores(study),)  # a tuple, so that "not enough data" (None) is cached too
        cache.set(key, cached, PREVIEW_CACHE_S)
    return cached[0]


def preview_key(study: Study) -> str:
    """Names the study's data as of now: changes when a judgment arrives or a rater is excluded or included.

    Caches of what is drawn from the preview (the fit, the live figure) are keyed by it.
    """
    n, last, excluded = results.judgments_stamp(study)
    digest = hashlib.sha256(",".join(map(str, excluded)).encode()).hexdigest()[:16]
    return f"{study.pk}:{study.created_at.timestamp()}:{n}:{last}:{digest}"


def write_report(study: Study, folder: Path) -> Path:
    """The full analysis of ``analysis.report`` in ``folder``: elo.csv, bdrate.csv, raters.csv, figures, report.html.

    The posterior is sampled with NUTS (setting STUDY_REPORT_METHOD = "map" gives the quick
    Laplace fit instead, e.g. in tests). ``stamp.json`` records the judgments it was computed from.
    """
    method = getattr(settings, "STUDY_REPORT_METHOD", "nuts")
    fit = results.fit_study_elo(study, method=method, sampling=REPORT_SAMPLING if method == "nuts" else None)
    if fit is None:
        raise AnalysisError(f"study {study.slug!r} has no judgments that connect its conditions yet; nothing to fit")
    write_analysis_report(fit, folder)
    write_stamp(folder, fit.data.n_rows)
    return folder
