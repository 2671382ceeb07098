"""The pair design and the balanced and adaptive samplers, without a database."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import pytest

from evalsite.rating.scheduler import (
    AdaptiveSampler,
    BalancedSampler,
    Condition,
    Pair,
    RaterState,
    StudyState,
    design_pairs,
    pair_targets,
    plan_session,
)


def _conditions() -> list[Condition]:
    """Two images, codec x at 0.2/0.5/1.0 bpp and codec y at 0.25/0.6/3.0 bpp; ids unique."""
    rows, next_id = [], 1
    for image in (10, 20):
        for codec, bpps in (("x", (0.2, 0.5, 1.0)), ("y", (0.25, 0.6, 3.0))):
            for level, bpp in enumerate(bpps):
                rows.append(Condition(stimulus_id=next_id, image=image, codec=codec, level=level, bpp=bpp))
                next_id += 1
    return rows


def _by_id() -> dict[int, Condition]:
    return {c.stimulus_id: c for c in _conditions()}


def test_pairs_stay_within_one_image():
    by_id = _by_id()
    pairs = design_pairs(_conditions())
    assert {pair.image for pair in pairs} == {10, 20}
    assert all(by_id[pair.first].image == by_id[pair.second].image == pair.image for pair in pairs)


def test_same_codec_pairs_are_neighbouring_levels_only():
    by_id = _by_id()
    same = [p for p in design_pairs(_conditions()) if by_id[p.first].codec == by_id[p.second].codec]
    assert len(same) == 2 * 2 * 2  # images x codecs x (levels - 1)
    assert all(abs(by_id[p.first].level - by_id[p.second].level) == 1 for p in same)


def test_cross_codec_pairs_have_similar_bpp():
    by_id = _by_id()
    cross = [p for p in design_pairs(_conditions()) if by_id[p.first].codec != by_id[p.second].codec]
    ratios = [
        max(by_id[p.first].bpp, by_id[p.second].bpp) / min(by_id[p.first].bpp, by_id[p.second].bpp) for p in cross
    ]
    assert cross and max(ratios) <= 2.0
    # y at 3.0 bpp is more than twice x's best (1.0), so it has no cross-codec partner.
    assert not any(by_id[p.first].bpp == 3.0 or by_id[p.second].bpp == 3.0 for p in cross)


def test_a_pair_has_one_spelling():
    assert Pair.of(1, 5, 3) == Pair.of(1, 3, 5)
    with pytest.raises(ValueError):
        Pair.of(1, 4, 4)


def test_sampler_never_repeats_a_pair_for_a_rater_and_stops_when_all_are_seen():
    pairs = tuple(design_pairs(_conditions()))
    seen: set[Pair] = set()
    sampler = BalancedSampler()
    for step in range(len(pairs)):
        pair = sampler.next_pair(
            StudyState(pairs=pairs), RaterState(seen=frozenset(seen), image_counts=Counter(), seed=f"r:{step}")
        )
        assert pair is not None and pair not in seen
        seen.add(pair)
    assert sampler.next_pair(StudyState(pairs=pairs), RaterState(frozenset(seen), Counter(), "r:end")) is None


def test_sampler_spreads_judgments_evenly_over_pairs_and_images_across_raters():
    pairs = tuple(design_pairs(_conditions()))
    counts: Counter[Pair] = Counter()
    images: Counter[int] = Counter()
    sampler = BalancedSampler()
    for rater in range(12):
        seen: set[Pair] = set()
        mine: Counter[int] = Counter()
        for step in range(5):
            pair = sampler.next_pair(
                StudyState(pairs=pairs, pair_counts=counts, image_counts=images),
                RaterState(seen=frozenset(seen), image_counts=mine, seed=f"{rater}:{step}"),
            )
            seen.add(pair)
            counts[pair] += 1
            images[pair.image] += 1
            mine[pair.image] += 1
    assert max(counts[p] for p in pairs) - min(counts[p] for p in pairs) <= 1
    assert abs(images[10] - images[20]) <= 2


def _plan(trials: int = 100, rate: float = 0.05, minimum: int = 2, repeats: float = 0.0, pairs: int = 1000):
    return plan_session(
        trials_per_rater=trials,
        attention_rate=rate,
        attention_min=minimum,
        repeat_share=repeats,
        pairs=pairs,
        seed="seed",
    )


def test_attention_checks_follow_the_rate_with_a_floor_and_skip_the_first_trial():
    plan = _plan()
    assert plan.length == 100 and len(plan.attention) == 5
    assert 0 not in plan.attention and max(plan.attention) < 100
    assert _plan() == plan
    assert len(_plan(rate=0.01).attention) == 2  # round(100 x 0.01) = 1, below attention_min
    assert _plan(rate=0.0, minimum=0).attention == frozenset()


def test_a_session_the_design_cuts_short_still_gets_attention_min_checks_spread_over_it():
    # trials_per_rater = 20 but only 8 pairs: 8 comparisons and 2 checks, not 1 check at index 19.
    plan = _plan(trials=20, pairs=8)
    assert (plan.length, plan.compared, len(plan.attention)) == (10, 8, 2)
    assert all(0 < i < 10 for i in plan.attention)
    assert min(plan.attention) < 5 <= max(plan.attention)  # one in each half
    assert _plan(trials=10, pairs=20).length == 10
    assert _plan(trials=10, pairs=0).length == 0


def test_repeats_come_in_the_second_half_apart_from_the_checks():
    plan = _plan(trials=40, repeats=0.1)
    assert len(plan.repeats) == 4 and not plan.repeats & plan.attention
    assert min(plan.repeats) >= 20
    assert plan.compared == 40 - 4 - len(plan.attention)
    short = _plan(trials=40, repeats=0.1, pairs=6)
    assert short.compared == 6 and len(short.repeats) >= 1 and len(short.attention) == 2


def _targets() -> dict[Pair, float]:
    """Uneven targets over every same-image pair of ``_conditions()``: pair k gets a share in proportion to k % 5."""
    by_image: dict[int, list[int]] = {}
    for condition in _conditions():
        by_image.setdefault(condition.image, []).append(condition.stimulus_id)
    pairs = sorted(Pair.of(image, x, y) for image, ids in by_image.items() for x, y in combinations(ids, 2))
    weights = {pair: k % 5 for k, pair in enumerate(pairs)}
    total = sum(weights.values())
    return {pair: weight / total for pair, weight in weights.items()}


def test_adaptive_sampler_issues_pairs_in_proportion_to_their_targets():
    targets = _targets()
    pairs = tuple(sorted(targets))
    counts: Counter[Pair] = Counter()
    images: Counter[int] = Counter()
    sampler = AdaptiveSampler()
    for rater in range(200):
        seen: set[Pair] = set()
        mine: Counter[int] = Counter()
        for step in range(10):
            pair = sampler.next_pair(
                StudyState(pairs=pairs, pair_counts=counts, image_counts=images, targets=targets),
                RaterState(seen=frozenset(seen), image_counts=mine, seed=f"{rater}:{step}"),
            )
            assert pair is not None and pair not in seen
            seen.add(pair)
            counts[pair] += 1
            images[pair.image] += 1
            mine[pair.image] += 1
    total = sum(counts.values())
    assert total == 2000
    assert all(counts[pair] == 0 for pair in pairs if targets[pair] == 0)
    assert max(abs(counts[pair] / total - targets[pair]) for pair in pairs) < 0.002


def test_adaptive_sampler_never_repeats_a_pair_and_stops_when_none_with_a_target_is_left():
    targets = _targets()
    pairs = tuple(sorted(targets))
    wanted = {pair for pair in pairs if targets[pair] > 0}
    seen: set[Pair] = set()
    sampler = AdaptiveSampler()
    for step in range(len(wanted)):
        pair = sampler.next_pair(
            StudyState(pairs=pairs, targets=targets), RaterState(frozenset(seen), Counter(), f"r:{step}")
        )
        assert pair in wanted and pair not in seen
        seen.add(pair)
    assert seen == wanted
    assert (
        sampler.next_pair(StudyState(pairs=pairs, targets=targets), RaterState(frozenset(seen), Counter(), "end"))
        is None
    )


def test_targets_spread_each_condition_pair_over_the_images_that_have_both():
    conditions = [c for c in _conditions() if not (c.image == 20 and c.codec == "y" and c.level == 0)]
    targets = pair_targets(conditions, [("x", 0, "y", 0, 0.6), ("y", 1, "x", 0, 0.2), ("x", 0, "x", 1, 0.2)])
    by_id = {c.stimulus_id: c for c in conditions}
    assert sum(targets.values()) == pytest.approx(1.0)
    cross = [t for p, t in targets.items() if {by_id[p.first].codec, by_id[p.second].codec} == {"x", "y"}]
    assert len(targets) == 1 + 2 + 2  # x0-y0 exists on image 10 only
    assert sorted(cross) == pytest.approx([0.1, 0.1, 0.6])
    assert pair_targets(conditions, []) == {}
