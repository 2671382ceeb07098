"""Artifact-discrimination items: which of two images differs from the reference, and scoring.

Each item shows the reference and, side by side, the reference again and a degraded copy; the
rater picks the one that differs. The copies are the study's own conditions, drawn across their
difficulty (lowest bitrate of a codec = easiest, highest = hardest), so the test measures what
the study asks raters to see. Items are either **clear** (artifacts anyone with a working display
and attention sees: the study's own strongest conditions when measured as clearly degraded,
else strong ``screening-jpeg`` copies) or **graded**. The pass mark counts only the clear items;
the graded ones measure acuity for the researcher. No candidate is used twice in one attempt.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SIDES = ("left", "right")


@dataclass(frozen=True)
class Candidate:
    """A degraded copy the test may show: ``key`` names it for the caller (e.g. a stimulus id).

    ``difficulty`` runs from 0 (strongest artifacts of its ladder) to 1 (the subtlest); ``own``
    marks the study's own conditions, preferred over ``screening-jpeg`` copies.
    """

    key: int
    image: int
    difficulty: float
    clear: bool
    own: bool


@dataclass(frozen=True)
class ArtifactSpec:
    """One item: which candidate, on which side the artifacts are, and whether the pass mark counts it."""

    key: int
    image: int
    difficulty: float
    odd: str
    clear: bool


def clear_item_count(items: int, pass_mark: int) -> int:
    """How many of ``items`` are clearly visible: at least half, and one more than the pass mark."""
    return min(items, max(pass_mark + 1, math.ceil(items / 2)))


def _take(pool: list[Candidate], count: int, used_images: Counter[int], rng: random.Random) -> list[Candidate]:
    """``count`` of ``pool`` (which keeps the rest): the study's own first, then images used least."""
    chosen = []
    for _ in range(min(count, len(pool))):
        best = min(pool, key=lambda c: (not c.own, used_images[c.image], rng.random()))
        pool.remove(best)
        used_images[best.image] += 1
        chosen.append(best)
    return chosen


def _spread(pool: list[Candidate], count: int, used_images: Counter[int], rng: random.Random) -> list[Candidate]:
    """``count`` of ``pool`` (which keeps the rest) spread evenly over its range of difficulty."""
    chosen = []
    for i in range(min(count, len(pool))):
        target = (i + 0.5) / count
        best = min(pool, key=lambda c: (abs(c.difficulty - target), used_images[c.image], rng.random()))
        pool.remove(best)
        used_images[best.image] += 1
        chosen.append(best)
    return chosen


def plan_items(candidates: Iterable[Candidate], *, items: int, pass_mark: int, seed: int) -> list[ArtifactSpec]:
    """A shuffled test of up to ``items`` distinct candidates: clear ones for the pass mark, graded ones spread.

    ``clear_item_count`` items are clear (the study's own first); the rest are graded, drawn
    from the study's own non-clear conditions across their difficulty (``screening-jpeg``
    copies only when the study has none). When a pool runs short the other fills in; with
    fewer candidates than ``items`` the test is shorter, never repeated.
    """
    if items < 1:
        raise ValueError(f"an artifact test needs at least one item, got {items}")
    rng = random.Random(seed)
    pool = sorted(candidates, key=lambda c: c.key)
    if not pool:
        raise ValueError("an artifact test needs candidates")
    clear = [c for c in pool if c.clear]
    graded = [c for c in pool if not c.clear and c.own] or [c for c in pool if not c.clear]
    n_clear = clear_item_count(items, pass_mark)
    used: Counter[int] = Counter()
    chosen = _take(clear, n_clear, used, rng)
    chosen += _spread(graded, items - len(chosen), used, rng)
    chosen += _take(clear, items - len(chosen), used, rng)
    specs = [ArtifactSpec(c.key, c.image, c.difficulty, odd=rng.choice(SIDES), clear=c.clear) for c in chosen]
    rng.shuffle(specs)
    return specs


@dataclass(frozen=True)
class ArtifactScore:
    """Correct answers on the clear items (what the pass mark counts), on all items, and the verdict."""

    clear_correct: int
    all_correct: int
    passed: bool


def score_items(specs: Sequence[ArtifactSpec], answers: Iterable[str], *, pass_mark: int) -> ArtifactScore:
    """Score answers ('left'/'right', anything else is wrong) against the items, in order."""
    right = [answer == spec.odd for spec, answer in zip(specs, answers, strict=True)]
    clear_correct = sum(ok for ok, spec in zip(right, specs, strict=True) if spec.clear)
    return ArtifactScore(clear_correct=clear_correct, all_correct=sum(right), passed=clear_correct >= pass_mark)
