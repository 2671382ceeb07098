"""Which rater model a study can support: rater classes, one shared lapse, or pooled raters.

The rater-class model (attentive raters with a shared lapse λ₀, or spammers; see
:mod:`analysis.elo`) estimates the spammer share w from the raters themselves and each rater's
class from that rater's judgments. Both need raters: a published answer file without rater ids
(every judgment under one id) gives w one observation, "the only rater is a spammer" then means
"the whole study is noise", and with two raters the model cannot tell which one is careless. :func:`choose_rater_model` keeps the classes only where the
study has enough raters, and enough judgments per rater, to tell the classes apart (the limits
below come from the simulation in docs/analysis.md, "Studies with few or no rater ids");
otherwise it fits one shared lapse λ₀ for every judgment, which lopsided pairs identify
whatever the number of raters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.data import StudyData
from analysis.errors import AnalysisError

RATER_MODELS = ("auto", "classes", "shared", "pooled")
"""``auto`` chooses by :func:`choose_rater_model`; the others force a model."""

MIN_RATERS = 3
"""Fewest raters for rater classes. With one rater id "the spammer" would be the whole study;
with two, the model cannot tell which of them flips coins (in simulation it missed 4 of 10
spammers at 100 judgments per rater, 2 of 11 at 400); from three raters on, a majority shows
what careful answers look like (0 of 10 missed at 100 judgments per rater)."""

MIN_JUDGMENTS_PER_RATER = 50
"""Fewest judgments of the median rater for rater classes: at 25 per rater the simulations missed
a fifth to a half of the spammers, at any number of raters; at 50 most (4 of 11 missed with 3
raters, at most 3 of 21 with more), from 100 on all of them (docs/analysis.md,
``benchmarks/bench_raters.py``)."""

DESCRIPTIONS = {
    "classes": "rater classes (attentive raters with a shared lapse, or spammers)",
    "shared": "one shared lapse for every judgment (no spammer class)",
    "pooled": "pooled raters (no lapse)",
}


@dataclass(frozen=True)
class RaterModelChoice:
    """The rater model to fit (``classes``, ``shared`` or ``pooled``) and why."""

    model: str
    reason: str

    @property
    def note(self) -> str:
        """One sentence for the report and the command line."""
        return f"rater model: {DESCRIPTIONS[self.model]}; {self.reason}"


def choose_rater_model(data: StudyData, requested: str = "auto") -> RaterModelChoice:
    """Pick the rater model a study can identify, or confirm a forced one.

    Parameters
    ----------
    data
        The prepared study; only its raters and their judgment counts are used.
    requested
        ``"auto"`` (rater classes with at least :data:`MIN_RATERS` raters whose median rater
        judged at least :data:`MIN_JUDGMENTS_PER_RATER` pairs, else one shared lapse), or
        ``"classes"``, ``"shared"``, ``"pooled"`` to force one.

    Returns
    -------
    RaterModelChoice
        ``model`` and a ``reason`` naming the counts it was decided from.
    """
    if requested not in RATER_MODELS:
        raise AnalysisError(f"unknown rater model {requested!r}; use one of {', '.join(RATER_MODELS)}")
    per_rater = data.judgments.groupby("rater_code").size().to_numpy()
    n_raters = len(per_rater)
    median = float(np.median(per_rater))
    counts = f"{n_raters} rater id{'s' if n_raters != 1 else ''}, median {median:g} judgments per rater"
    if requested != "auto":
        return RaterModelChoice(requested, f"as requested ({counts})")
    if n_raters < MIN_RATERS:
        why = "one rater id (an answer file without rater ids?)" if n_raters == 1 else counts
        return RaterModelChoice(
            "shared",
            f"{why}: with fewer than {MIN_RATERS} raters the model cannot tell which rater is careless, "
            "so rater classes are not identifiable",
        )
    if median < MIN_JUDGMENTS_PER_RATER:
        return RaterModelChoice(
            "shared",
            f"{counts}: under {MIN_JUDGMENTS_PER_RATER} judgments a rater's class cannot be told from the data",
        )
    return RaterModelChoice("classes", f"{counts}: enough to estimate the classes")
