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


def write_scores(scores: Scores, folder: Path) -> list[Path]:
    """Write elo.csv, bdrate.csv and raters.csv (the analysis output contract) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in (("elo.csv", scores.elo), ("bdrate.csv", scores.bdrate), ("raters.csv", scores.raters)):
        path = folder / name
        frame.to_csv(path, index=False)
        written.append(path)
    return written


def write_report(study: Study, folder: Path) -> Path:
    """Full analysis into ``folder``: elo.csv, bdrate.csv, raters.csv, curves.png and report.html.

    The posterior is sampled with NUTS (setting STUDY_REPORT_METHOD = "map" gives a quick Laplace
    fit instead, e.g. in tests).
    """
    from django.conf import settings

    method = getattr(settings, "STUDY_REPORT_METHOD", "nuts")
    options = {"draws": 500, "tune": 500, "chains": 2} if method == "nuts" else {}
    scores = fit_scores(study, method=method, **options)
    if scores is None:
        raise AnalysisError(f"study {study.slug!r} has no judgments that connect its conditions yet; nothing to fit")
    write_scores(scores, folder)
    _curves_figure(scores).savefig(folder / "curves.png", dpi=120, bbox_inches="tight")
    html = REPORT_TEMPLATE.format(
        title=study.title,
        slug=study.slug,
        method=scores.method,
        anchor=scores.anchor,
        elo=scores.elo.to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep=""),
        bdrate=scores.bdrate.to_html(index=False, float_format=lambda v: f"{v:.1f}", na_rep=""),
        raters=scores.raters.to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep=""),
    )
    (folder / "report.html").write_text(html, encoding="utf-8")
    return folder


def _curves_figure(scores: Scores):
    """Rate–Elo curves: Elo (with its 95% interval) against bpp on a log axis, one line per codec."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4.5))
    axes = figure.subplots()
    for codec, rows in scores.elo.sort_values(["codec", "bpp"]).groupby("codec"):
        axes.plot(rows["bpp"], rows["elo"], marker="o", label=codec)
        axes.fill_between(rows["bpp"], rows["elo_lo"], rows["elo_hi"], alpha=0.2)
    axes.set_xscale("log")
    axes.set_xlabel("bits per pixel (geometric mean over images)")
    axes.set_ylabel(f"Elo (0 = lowest {scores.anchor} level)")
    axes.legend()
    axes.grid(alpha=0.3)
    return figure


REPORT_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}: analysis report</title>
<style>body{{font:15px system-ui,sans-serif;max-width:1000px;margin:2rem auto}}table{{border-collapse:collapse}}
td,th{{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:right}}</style></head>
<body><h1>{title} <small>({slug})</small></h1>
<p>Bayesian Elo fit ({method}); excluded raters, practice trials and attention checks left out.
Elo is relative to the lowest level of <b>{anchor}</b>; intervals are 95% credible intervals.</p>
<h2>Rate–Elo curves</h2><img src="curves.png" alt="rate-Elo curves" width="700">
<h2>Elo per condition</h2>{elo}
<h2>BD-rate against {anchor}</h2><p>Percent bits saved at equal Elo (negative = fewer bits).</p>{bdrate}
<h2>Raters</h2>{raters}
</body></html>
"""
