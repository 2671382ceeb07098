"""Artifact-discrimination items: which of two images differs from the reference, and scoring.

Each item shows the reference and, side by side, the reference again and a reconstruction
with artifacts of a graded strength (``screening-jpeg`` stimuli, level 0 = strongest). The
rater picks the one that differs. Levels below ``clear_levels`` are clearly visible to anyone
with a working display and attention; the pass mark counts only those, the subtler items
measure acuity for the researcher.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SIDES = ("left", "right")


@dataclass(frozen=True)
class ArtifactSpec:
    """One item: which reference, which artifact level and on which side the artifacts are."""

    image_index: int
    level: int
    odd: str
    clear: bool


def clear_item_count(items: int, pass_mark: int) -> int:
    """How many of ``items`` are clearly visible: at least three quarters, and one more than the pass mark."""
    return min(items, max(pass_mark + 1, math.ceil(items * 0.75)))


def plan_items(
    *, items: int, pass_mark: int, levels: int, clear_levels: int, images: int, seed: int
) -> list[ArtifactSpec]:
    """A shuffled test of ``items`` items over ``images`` references and ``levels`` artifact levels."""
    if items < 1 or levels < 1 or images < 1:
        raise ValueError(f"an artifact test needs items, levels and images (got {items}, {levels}, {images})")
    if not 0 < clear_levels <= levels:
        raise ValueError(f"clear_levels must be in 1..{levels}, got {clear_levels}")
    rng = random.Random(seed)
    n_clear = clear_item_count(items, pass_mark)
    subtle = list(range(clear_levels, levels)) or list(range(levels))
    specs = [
        ArtifactSpec(
            image_index=rng.randrange(images),
            level=(i % clear_levels) if i < n_clear else subtle[(i - n_clear) % len(subtle)],
            odd=rng.choice(SIDES),
            clear=i < n_clear,
        )
        for i in range(items)
    ]
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
