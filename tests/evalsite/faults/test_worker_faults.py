"""A background worker killed in the middle of a study's generation: restarted, it resumes the generation.

``manage.py run_worker`` puts the task the killed worker left marked running back in the queue,
and the ladder's cache skips every reconstruction finished before the kill.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.evalsite.faults.stack import Stack, wait_for

pytestmark = pytest.mark.slow


def finished(cache: Path) -> dict[Path, float]:
    """The ladder's finished reconstructions (a JSON record is renamed into place last) and their mtimes."""
    return {path: path.stat().st_mtime for path in cache.glob("*/*.json")}


def test_a_killed_worker_resumes_generation_without_redoing_finished_reconstructions(stack: Stack, fault_study):
    # 3 images x (5 JPEG targets + WebP matched to each): 30 reconstructions, long enough to interrupt.
    slug = stack.world("draft", str(fault_study("workerfaults", images=3, bpp=(0.5, 0.8, 1.2, 1.8, 2.6))))["slug"]
    cache = Path(stack.env["PICO_VAR_DIR"]) / "studies" / slug / "ladder" / ".cache"
    stack.start_worker("generation")
    wait_for(lambda: len(finished(cache)) >= 3, "the first reconstructions", timeout=300)
    stack.kill_worker("generation")
    before = finished(cache)
    interrupted = stack.world("generation", slug)
    assert interrupted["generation"] == "running", "the killed worker's generation is left running"
    assert len(before) < interrupted["total"], "the worker must be killed part-way"

    stack.start_worker("generation")
    done = wait_for(
        lambda: (state := stack.world("generation", slug))["generation"] != "running" and state,
        "the generation to finish",
        timeout=300,
        every=1,
    )
    assert done["generation"] == "done", done["message"]
    total = done["total"]
    assert f"({total - len(before)} reconstructions made, {len(before)} reused)" in done["message"]
    assert {path: finished(cache)[path] for path in before} == before, "a finished reconstruction was redone"
    assert "re-queued evalsite.studies.tasks.generate_study_task" in stack.log.read_text()
