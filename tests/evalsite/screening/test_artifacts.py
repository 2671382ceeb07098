"""Artifact items: graded levels, mostly clearly visible ones, scored on those."""

from __future__ import annotations

import pytest

from evalsite.screening.artifacts import ArtifactSpec, clear_item_count, plan_items, score_items


def test_most_items_are_clearly_visible_and_one_more_than_the_pass_mark():
    assert clear_item_count(8, 6) == 7
    assert clear_item_count(12, 4) == 9
    assert clear_item_count(3, 6) == 3


def test_a_plan_uses_clear_levels_for_clear_items_and_subtle_ones_for_the_rest():
    specs = plan_items(items=8, pass_mark=6, levels=5, clear_levels=2, images=3, seed=7)
    assert len(specs) == 8
    assert sum(s.clear for s in specs) == 7
    assert all((s.level < 2) == s.clear for s in specs)
    assert {s.odd for s in specs} <= {"left", "right"} and all(0 <= s.image_index < 3 for s in specs)


def test_plans_differ_between_attempts():
    layouts = {
        tuple(
            (s.odd, s.image_index)
            for s in plan_items(items=8, pass_mark=6, levels=5, clear_levels=2, images=3, seed=seed)
        )
        for seed in range(10)
    }
    assert len(layouts) == 10


def test_only_clear_items_count_towards_the_pass_mark():
    specs = [ArtifactSpec(0, 0, "left", True), ArtifactSpec(0, 1, "right", True), ArtifactSpec(0, 4, "left", False)]
    result = score_items(specs, ["left", "right", "right"], pass_mark=2)
    assert (result.clear_correct, result.all_correct, result.passed) == (2, 2, True)
    failed = score_items(specs, ["right", "right", "left"], pass_mark=2)
    assert (failed.clear_correct, failed.all_correct, failed.passed) == (1, 2, False)


def test_scoring_needs_one_answer_per_item():
    with pytest.raises(ValueError):
        score_items([ArtifactSpec(0, 0, "left", True)], [], pass_mark=1)
