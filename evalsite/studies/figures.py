"""The study page's live figure: rate–Elo curves with their bands from the MAP preview, as a PNG.

Drawn by ``analysis.plots.curves_figure`` and rendered with matplotlib's Agg canvas (no pyplot
state, safe in a web worker); cached with the preview, so a page refresh redraws nothing until a
judgment arrives or a rater is excluded or included.
"""

from __future__ import annotations

import io

import pandas as pd
from django.core.cache import cache

from analysis.plots import curves_figure
from evalsite.studies.models import Study
from evalsite.studies.scores import PREVIEW_CACHE_S, preview_key, preview_scores

FIGURE_DPI = 100


def curves_png(study: Study) -> bytes | None:
    """The rate–Elo curves of the study's MAP preview as PNG bytes; None while there is not enough data."""
    key = f"studies:curves:{preview_key(study)}"
    cached = cache.get(key)
    if cached is None:
        scores = preview_scores(study)
        cached = (_png(scores.elo, scores.anchor) if scores is not None else None,)
        cache.set(key, cached, PREVIEW_CACHE_S)
    return cached[0]


def _png(elo: pd.DataFrame, anchor: str) -> bytes:
    buffer = io.BytesIO()
    curves_figure(elo, anchor=anchor).savefig(buffer, format="png", dpi=FIGURE_DPI)  # Agg, chosen by the format
    return buffer.getvalue()
