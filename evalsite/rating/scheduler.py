"""Which pair a rater judges next: the pair design and the sampler interface.

Pure: no database. Services snapshot the study and the rater into ``StudyState`` and
``RaterState`` and ask a ``Sampler`` for the next ``Pair``; an active sampler (one that picks
informative pairs from the current Elo posterior) implements the same ``next_pair``.

Pair design (per image, as in CLIC/PICO-style studies):

- same codec, neighbouring levels (level l against l+1), which pins the shape of each
  rate-quality curve;
- across codecs, each stimulus against the stimulus of every other codec whose bpp is closest
  to it, if the two are within a factor ``max_bpp_ratio`` of each other, which ties the curves
  together where BD-rates are read.

Both stimuli of a pair always show the same image, so only the codecs differ.

An adaptive study instead offers every same-image pair of conditions, each with a target share
of the judgments (``StudyState.targets``, from ``analysis.design``), and ``AdaptiveSampler``
issues pairs in proportion to those targets.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import combinations
from typing import Protocol

from evalsite.attention import most_attention_checks


@dataclass(frozen=True)
class Condition:
    """One stimulus of the study as the scheduler sees it (server side only)."""

    stimulus_id: int
    image: int
    codec: str
    level: int
    bpp: float


@dataclass(frozen=True, order=True)
class Pair:
    """Two stimuli of the same image, ``first`` < ``second`` so a pair has one spelling."""

    image: int
    first: int
    second: int

    @classmethod
    def of(cls, image: int, x: int, y: int) -> Pair:
        """The canonical pair of stimuli ``x`` and ``y`` on ``image``."""
        if x == y:
            raise ValueError(f"a pair needs two different stimuli, got {x} twice")
        return cls(image, min(x, y), max(x, y))


def design_pairs(conditions: Iterable[Condition], *, max_bpp_ratio: float = 2.0) -> list[Pair]:
    """Every pair the study compares: neighbouring levels within a codec, and close-bpp pairs across codecs."""
    by_image: dict[int, dict[str, list[Condition]]] = {}
    for condition in conditions:
        by_image.setdefault(condition.image, {}).setdefault(condition.codec, []).append(condition)
    pairs: set[Pair] = set()
    for image, codecs in by_image.items():
        for ladder in codecs.values():
            ladder.sort(key=lambda c: c.level)
            pairs.update(
                Pair.of(image, lo.stimulus_id, hi.stimulus_id) for lo, hi in zip(ladder, ladder[1:], strict=False)
            )
        for codec_x, codec_y in combinations(sorted(codecs), 2):
            for here, there in ((codecs[codec_x], codecs[codec_y]), (codecs[codec_y], codecs[codec_x])):
                for condition in here:
                    nearest = min(there, key=lambda c: abs(math.log(c.bpp / condition.bpp)))
                    if abs(math.log(nearest.bpp / condition.bpp)) <= math.log(max_bpp_ratio):
                        pairs.add(Pair.of(image, condition.stimulus_id, nearest.stimulus_id))
    return sorted(pairs)


def pair_targets(
    conditions: Iterable[Condition], shares: Iterable[tuple[str, int, str, int, float]]
) -> dict[Pair, float]:
    """Target share per same-image pair, from shares per pair of conditions; the targets sum to 1.

    Each ``(codec_a, level_a, codec_b, level_b, share)`` is spread evenly over the images that have
    both conditions; pairs without a positive share are left out.
    """
    by_image: dict[int, list[Condition]] = {}
    for condition in conditions:
        by_image.setdefault(condition.image, []).append(condition)
    grouped: dict[frozenset[tuple[str, int]], list[Pair]] = {}
    for image, here in by_image.items():
        for x, y in combinations(here, 2):
            key = frozenset([(x.codec, x.level), (y.codec, y.level)])
            grouped.setdefault(key, []).append(Pair.of(image, x.stimulus_id, y.stimulus_id))
    targets: dict[Pair, float] = {}
    for codec_a, level_a, codec_b, level_b, share in shares:
        pairs = grouped.get(frozenset([(codec_a, level_a), (codec_b, level_b)]), [])
        for pair in pairs:
            targets[pair] = share / len(pairs)
    total = sum(targets.values())
    return {pair: target / total for pair, target in targets.items() if target > 0} if total > 0 else {}


@dataclass(frozen=True)
class StudyState:
    """The pair design and how often each pair and image has been issued so far, over all raters.

    ``targets`` (adaptive studies) is the share of all judgments each pair should get.
    """

    pairs: tuple[Pair, ...]
    pair_counts: Mapping[Pair, int] = field(default_factory=dict)
    image_counts: Mapping[int, int] = field(default_factory=dict)
    targets: Mapping[Pair, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RaterState:
    """What one rater has already been shown, and a seed that makes the choice reproducible."""

    seen: frozenset[Pair]
    image_counts: Mapping[int, int]
    seed: str


class Sampler(Protocol):
    """Picks the next pair for a rater; ``None`` when the rater has seen every pair."""

    def next_pair(self, study: StudyState, rater: RaterState) -> Pair | None: ...


class BalancedSampler:
    """Spreads judgments evenly: least-issued pair first, then the image this rater saw least.

    Never repeats a pair for a rater. Ties are broken at random (seeded by the rater's state),
    so concurrent raters do not all walk the design in the same order.
    """

    def next_pair(self, study: StudyState, rater: RaterState) -> Pair | None:
        """The least-issued unseen pair, preferring images this rater and the study saw least."""
        rng = random.Random(rater.seed)
        candidates = [pair for pair in study.pairs if pair not in rater.seen]
        if not candidates:
            return None
        return min(
            candidates,
            key=lambda pair: (
                study.pair_counts.get(pair, 0),
                rater.image_counts.get(pair.image, 0),
                study.image_counts.get(pair.image, 0),
                rng.random(),
            ),
        )


class AdaptiveSampler:
    """Issues pairs in proportion to ``StudyState.targets``: the unseen pair furthest behind its share.

    The deficit of a pair is ``target * (issued + 1) - issued(pair)`` where ``issued`` counts every
    pair issued so far, so each pick goes where the study lags its design most (as seats are
    apportioned by largest remainder). Pairs with no target are never issued, a pair is never
    repeated for a rater, and ties are broken as in :class:`BalancedSampler`.
    """

    def next_pair(self, study: StudyState, rater: RaterState) -> Pair | None:
        """The unseen pair with the largest deficit, preferring images this rater and the study saw least."""
        rng = random.Random(rater.seed)
        expected = sum(study.pair_counts.values()) + 1
        candidates = [pair for pair in study.pairs if study.targets.get(pair, 0.0) > 0 and pair not in rater.seen]
        if not candidates:
            return None
        return min(
            candidates,
            key=lambda pair: (
                study.pair_counts.get(pair, 0) - study.targets[pair] * expected,
                rater.image_counts.get(pair.image, 0),
                study.image_counts.get(pair.image, 0),
                rng.random(),
            ),
        )


@dataclass(frozen=True)
class SessionPlan:
    """The main trials one rater will make, and which of them are attention checks and repeats (0-based).

    ``length`` counts compared trials, attention checks and repeats together: ``trials_per_rater``,
    or fewer when the pair design runs out of pairs first.
    """

    length: int
    attention: frozenset[int]
    repeats: frozenset[int]

    @property
    def compared(self) -> int:
        """Main trials that show a new pair of the design."""
        return self.length - len(self.attention) - len(self.repeats)


def _counts(length: int, rate: float, minimum: int, repeat_share: float) -> tuple[int, int]:
    """(attention checks, repeats) in a session of ``length`` main trials; at least one new pair comes first."""
    if length < 2:
        return 0, 0
    checks = most_attention_checks(trials_per_rater=length, attention_rate=rate, attention_min=minimum)
    repeats = max(1, round(length * repeat_share)) if repeat_share > 0 else 0
    # A repeat shows an earlier compared pair again, so there are never more repeats than new pairs.
    return checks, min(repeats, (length - checks) // 2)


def _spread(slots: list[int], count: int, rng: random.Random) -> list[int]:
    """``count`` of ``slots``, one at a random place in each of ``count`` equal strides."""
    count = min(count, len(slots))
    if count <= 0:
        return []
    stride = len(slots) / count
    return [slots[int(i * stride) + rng.randrange(max(1, int(stride)))] for i in range(count)]


def plan_session(
    *, trials_per_rater: int, attention_rate: float, attention_min: int, repeat_share: float, pairs: int, seed: str
) -> SessionPlan:
    """Where a rater's attention checks and repeats go, over the session they will actually make.

    A full session has ``max(attention_min, round(trials x attention_rate))`` checks and
    ``round(trials x repeat_share)`` repeats (at least one when the share is positive). When the
    design has fewer ``pairs`` than that leaves for new comparisons, the session is shortened to
    every pair plus the checks and repeats of a session that long, so a short session still gets
    ``attention_min`` checks. Checks sit one in each equal stride, never first; repeats one in each
    stride of the session's second half, where earlier pairs exist to repeat.
    """
    length = trials_per_rater
    checks, repeats = _counts(length, attention_rate, attention_min, repeat_share)
    if length - checks - repeats > pairs:
        length = next(
            n
            for n in range(pairs, trials_per_rater + 1)
            if n - sum(_counts(n, attention_rate, attention_min, repeat_share)) >= pairs
        )
        checks, repeats = _counts(length, attention_rate, attention_min, repeat_share)
    if pairs == 0 or length < 2:
        return SessionPlan(length=min(length, pairs), attention=frozenset(), repeats=frozenset())
    rng = random.Random(seed)
    attention = frozenset(_spread(list(range(1, length)), checks, rng))
    later = [i for i in range(max(2, length // 2), length) if i not in attention]
    return SessionPlan(length=length, attention=attention, repeats=frozenset(_spread(later, repeats, rng)))
