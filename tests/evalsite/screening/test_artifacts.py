"""Artifact items: clear ones decide the pass mark, graded ones come from the study across difficulty, none twice."""

from __future__ import annotations

import pytest

from evalsite.screening.artifacts import ArtifactSpec, Candidate, clear_item_count, plan_items, score_items


def _pool() -> list[Candidate]:
    """Three images; a study codec with 5 levels (lowest one clear) and screening-jpeg copies (2 clear, 3 not)."""
    pool = []
    for image in range(3):
        pool += [Candidate(100 * image + lv, image, lv / 4, clear=lv == 0, own=True) for lv in range(5)]
        pool += [Candidate(100 * image + 50 + lv, image, lv / 4, clear=lv < 2, own=False) for lv in range(5)]
    return pool


def test_at_least_half_the_items_are_clear_and_one_more_than_the_pass_mark():
    assert clear_item_count(8, 4) == 5
    assert clear_item_count(8, 6) == 7
    assert clear_item_count(12, 2) == 6
    assert clear_item_count(3, 6) == 3


def test_graded_items_come_from_the_studys_own_conditions_spread_over_their_difficulty():
    specs = plan_items(_pool(), items=8, pass_mark=4, seed=7)
    graded = [s for s in specs if not s.clear]
    assert len(specs) == 8 and len(graded) == 3
    assert all(s.key % 100 < 50 for s in graded)  # the study's own, not screening-jpeg
    difficulties = sorted(s.difficulty for s in graded)
    assert difficulties[0] <= 0.25 and difficulties[-1] >= 0.75  # easy to hard, not all trivial
    # Clear items: the study's own clear conditions (one per image) first, then strong screening-jpeg copies.
    clear_own = [s for s in specs if s.clear and s.key % 100 < 50]
    assert len(clear_own) == 3


def test_no_item_is_repeated_in_an_attempt_even_when_the_pool_is_small():
    for seed in range(20):
        specs = plan_items(_pool(), items=12, pass_mark=4, seed=seed)
        assert len({s.key for s in specs}) == len(specs) == 12
    tiny = [Candidate(1, 0, 0.0, clear=True, own=False), Candidate(2, 0, 0.5, clear=False, own=True)]
    specs = plan_items(tiny, items=8, pass_mark=4, seed=1)
    assert sorted(s.key for s in specs) == [1, 2]  # a shorter test rather than a repeated item


def test_clear_items_spread_over_the_images():
    specs = plan_items(_pool(), items=8, pass_mark=4, seed=3)
    clear_images = [s.image for s in specs if s.clear]
    assert max(clear_images.count(i) for i in range(3)) - min(clear_images.count(i) for i in range(3)) <= 1


def test_plans_differ_between_attempts():
    layouts = {
        tuple((s.odd, s.key) for s in plan_items(_pool(), items=8, pass_mark=4, seed=seed)) for seed in range(10)
    }
    assert len(layouts) == 10


def test_only_clear_items_count_towards_the_pass_mark():
    specs = [
        ArtifactSpec(1, 0, 0.0, "left", True),
        ArtifactSpec(2, 0, 0.0, "right", True),
        ArtifactSpec(3, 0, 1.0, "left", False),
    ]
    result = score_items(specs, ["left", "right", "right"], pass_mark=2)
    assert (result.clear_correct, result.all_correct, result.passed) == (2, 2, True)
    failed = score_items(specs, ["right", "right", "left"], pass_mark=2)
    assert (failed.clear_correct, failed.all_correct, failed.passed) == (1, 2, False)


def test_scoring_needs_one_answer_per_item():
    with pytest.raises(ValueError):
        score_items([ArtifactSpec(1, 0, 0.0, "left", True)], [], pass_mark=1)
