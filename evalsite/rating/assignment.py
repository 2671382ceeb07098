"""Which pair a rater compares next: the study's pair design, snapshots of the study and the
rater for the pure scheduler (``scheduler.py``), and the attention-check pair.

Every read goes through ``selectors``, the one module that sees stimulus metadata; what leaves
here is a :class:`~evalsite.rating.scheduler.Pair` of stimulus ids.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from django.conf import settings
from django.utils.module_loading import import_string

from evalsite.rating import selectors
from evalsite.rating.design import base_shares
from evalsite.rating.errors import RatingError
from evalsite.rating.models import Rater, Trial
from evalsite.rating.scheduler import (
    AdaptiveSampler,
    Condition,
    Pair,
    RaterState,
    Sampler,
    StudyState,
    attention_positions,
    design_pairs,
    pair_targets,
    planned_trials,
)
from evalsite.studies.models import Study

MAIN_KINDS = (Trial.Kind.TRIAL, Trial.Kind.ATTENTION)
History = list[tuple[str, int, int, int]]  # selectors.rater_history: (kind, reference, a, b) per trial


def sampler_for(study: Study) -> Sampler:
    """AdaptiveSampler for an adaptive study (whatever RATING_SAMPLER says), else the configured sampler."""
    if study.design == Study.Design.ADAPTIVE:
        return AdaptiveSampler()
    return import_string(getattr(settings, "RATING_SAMPLER", "evalsite.rating.scheduler.BalancedSampler"))()


@lru_cache(maxsize=32)
def _design(conditions: tuple[Condition, ...]) -> tuple[Pair, ...]:
    # A live study's stimuli are frozen, so its design is computed once per process
    # (about 0.2 s for 1,440 conditions, see benchmarks/bench_rating.py), not once per trial.
    return tuple(design_pairs(conditions))


@lru_cache(maxsize=32)
def _adaptive_design(
    conditions: tuple[Condition, ...], shares: tuple[tuple[str, int, str, int, float], ...]
) -> tuple[tuple[Pair, ...], Mapping[Pair, float]]:
    """Pairs with a target, and the targets; the base design while no shares are stored.

    Cached like ``_design`` (per stored design): 30 images x 20 conditions give 5,700 pairs.
    """
    if not shares:
        shares = tuple(
            (str(a), int(la), str(b), int(lb), float(s))
            for a, la, b, lb, s in base_shares((c.codec, c.level) for c in conditions)
        )
    targets = pair_targets(conditions, shares)
    return tuple(sorted(targets)), MappingProxyType(targets)


def study_design(study: Study) -> tuple[tuple[Pair, ...], Mapping[Pair, float]]:
    """The pairs the study's raters may get and, for an adaptive study, their target shares."""
    conditions = tuple(selectors.study_conditions(study))
    if study.design == Study.Design.ADAPTIVE:
        shares = tuple((a, int(la), b, int(lb), float(share)) for a, la, b, lb, share in study.design_shares)
        return _adaptive_design(conditions, shares)
    return _design(conditions), MappingProxyType({})


def study_state(study: Study) -> StudyState:
    """The scheduler's snapshot of the study: its pairs, targets and the trials issued per pair and image."""
    pairs, targets = study_design(study)
    pair_counts: Counter[Pair] = Counter()
    image_counts: Counter[int] = Counter()
    for ref, a, b, n in selectors.issued_pairs(study):
        pair_counts[Pair.of(ref, a, b)] += n
        image_counts[ref] += n
    return StudyState(pairs=pairs, pair_counts=pair_counts, image_counts=image_counts, targets=targets)


def rater_state(rater: Rater, history: History) -> RaterState:
    """The scheduler's snapshot of the rater: pairs already compared and images already seen."""
    seen = frozenset(Pair.of(ref, a, b) for kind, ref, a, b in history if kind == Trial.Kind.TRIAL)
    image_counts = Counter(ref for _, ref, _, _ in history)
    return RaterState(seen=seen, image_counts=image_counts, seed=f"{rater.token}:{len(history)}")


def attention_pair(rater: Rater, history: History, rng: random.Random) -> Pair:
    """An attention pair (near-lossless vs heavily degraded) on the image this rater saw least."""
    golden = selectors.attention_pairs(rater.study)
    if not golden:
        raise RatingError("no_trials", "(The study has no attention-check images.)")
    used = Counter(ref for _, ref, _, _ in history)
    ref = min(golden, key=lambda r: (used[r], rng.random()))
    return Pair.of(ref, *golden[ref])


def next_trial(rater: Rater, history: History, rng: random.Random, *, practice: bool) -> tuple[str, Pair | None]:
    """The kind and pair of the rater's next trial; the pair is None when the design has none left."""
    if practice:
        return Trial.Kind.PRACTICE, attention_pair(rater, history, rng)
    study = rater.study
    main_index = sum(1 for kind, *_ in history if kind in MAIN_KINDS)
    if main_index in attention_positions(study.trials_per_rater, study.attention_rate, rater.token):
        return Trial.Kind.ATTENTION, attention_pair(rater, history, rng)
    return Trial.Kind.TRIAL, sampler_for(study).next_pair(study_state(study), rater_state(rater, history))


def session_length(rater: Rater) -> int:
    """Main trials (compared and attention) this rater will make, for the progress bar."""
    study = rater.study
    attention = attention_positions(study.trials_per_rater, study.attention_rate, rater.token)
    pairs, _ = study_design(study)
    return planned_trials(study.trials_per_rater, attention, len(pairs))
