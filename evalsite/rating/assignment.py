"""Which pair a rater compares next: the study's pair design, snapshots of the study and the
rater for the pure scheduler (``scheduler.py``), the session plan (where attention checks and
repeats go), the attention-check pair, practice pairs and repeated pairs.

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
    SessionPlan,
    StudyState,
    design_pairs,
    pair_targets,
    plan_session,
)
from evalsite.studies.models import Study

MAIN_KINDS = (Trial.Kind.TRIAL, Trial.Kind.ATTENTION, Trial.Kind.REPEAT)
REPEAT_GAP = 3  # a repeat shows a pair judged at least this many trials earlier
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
    conditions = selectors.study_conditions(study)
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


def practice_pair(rater: Rater, history: History, rng: random.Random) -> Pair:
    """A practice pair from the study's own conditions with a right answer, new to this rater.

    Same codec, levels far apart (``selectors.practice_pairs``), so it is never the attention
    pair; on the image this rater saw least. Studies without such pairs (one level per codec)
    practise on the attention pair.
    """
    seen = {Pair.of(ref, a, b) for kind, ref, a, b in history if kind == Trial.Kind.PRACTICE}
    candidates = [
        Pair.of(ref, good, bad)
        for ref, pairs in selectors.practice_pairs(rater.study).items()
        for good, bad in pairs
        if Pair.of(ref, good, bad) not in seen
    ]
    if not candidates:
        return attention_pair(rater, history, rng)
    used = Counter(ref for _, ref, _, _ in history)
    return min(candidates, key=lambda pair: (used[pair.image], rng.random()))


def repeat_pair(history: History, rng: random.Random) -> Pair | None:
    """A pair this rater compared at least ``REPEAT_GAP`` trials ago and has not seen repeated; None if none."""
    repeated = {Pair.of(ref, a, b) for kind, ref, a, b in history if kind == Trial.Kind.REPEAT}
    earlier = [
        Pair.of(ref, a, b)
        for kind, ref, a, b in history[: max(0, len(history) - REPEAT_GAP + 1)]
        if kind == Trial.Kind.TRIAL
    ]
    candidates = [pair for pair in earlier if pair not in repeated]
    return rng.choice(candidates) if candidates else None


def next_trial(rater: Rater, history: History, rng: random.Random, *, practice: bool) -> tuple[str, Pair | None]:
    """The kind and pair of the rater's next trial; the pair is None when the session is over.

    The session plan places attention checks and repeats; when the design runs out of new pairs
    sooner than planned (an adaptive design that shrank, another sampler), the checks and
    repeats still owed come before the end, so every rater meets ``attention_min``.
    """
    if practice:
        return Trial.Kind.PRACTICE, practice_pair(rater, history, rng)
    study = rater.study
    plan = session_plan(rater)
    kinds = Counter(kind for kind, *_ in history)
    index = sum(kinds[kind] for kind in MAIN_KINDS)
    if index in plan.attention and kinds[Trial.Kind.ATTENTION] < len(plan.attention):
        return Trial.Kind.ATTENTION, attention_pair(rater, history, rng)
    if index in plan.repeats and kinds[Trial.Kind.REPEAT] < len(plan.repeats):
        repeat = repeat_pair(history, rng)
        if repeat is not None:
            return Trial.Kind.REPEAT, repeat
    pair = sampler_for(study).next_pair(study_state(study), rater_state(rater, history))
    if pair is None and index < study.trials_per_rater:
        if kinds[Trial.Kind.ATTENTION] < len(plan.attention):
            return Trial.Kind.ATTENTION, attention_pair(rater, history, rng)
        repeat = repeat_pair(history, rng) if kinds[Trial.Kind.REPEAT] < len(plan.repeats) else None
        if repeat is not None:
            return Trial.Kind.REPEAT, repeat
    return Trial.Kind.TRIAL, pair


def study_plan(study: Study, seed: str) -> SessionPlan:
    """The session plan of a rater of ``study`` whose token is ``seed`` (the same for every call)."""
    pairs, _ = study_design(study)
    return plan_session(
        trials_per_rater=study.trials_per_rater,
        attention_rate=study.attention_rate,
        attention_min=study.attention_min,
        repeat_share=study.repeat_share,
        pairs=len(pairs),
        seed=seed,
    )


def session_plan(rater: Rater) -> SessionPlan:
    """This rater's session: its length and where the attention checks and repeats go."""
    return study_plan(rater.study, rater.token)


def session_length(rater: Rater) -> int:
    """Main trials (compared, attention and repeats) this rater will make, for the progress bar."""
    return session_plan(rater).length
