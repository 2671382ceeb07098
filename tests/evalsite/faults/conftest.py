"""The fault tests run the production stack on a local PostgreSQL: evalsite/deploy/postgres.sh starts one.

That needs root and Debian's PostgreSQL. Where it cannot be had, the tests fail in CI (CI=true)
and are skipped elsewhere, saying why.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.evalsite.conftest import synthetic_photo
from tests.evalsite.faults.stack import DEPLOY, Stack

DATABASE = "pico_faults"

FAULT_STUDY = """
slug = "{slug}"
title = "Fault study"
[images]
folder = "images"
[ladder]
bpp = {bpp}
[[codecs]]
name = "jpeg"
[[codecs]]
name = "webp"
match = "jpeg"
[presentation]
crop = 64
min_view_ms = 0
[screening]
colour_plates = 0
colour_pass = 0
artifact_items = 0
artifact_pass = 0
[rating]
trials_per_rater = 200
practice_trials = 0
break_every = 1000
attention_rate = 0.0
attention_min = 0
"""


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the fault tests need a local PostgreSQL, which CI must provide: {reason}")
    pytest.skip(f"no local PostgreSQL for the fault tests: {reason}")


@pytest.fixture(scope="session")
def prepared_stack(tmp_path_factory) -> Iterator[Stack]:
    """The stack on a fresh database (evalsite/deploy/postgres.sh), prepared as `make serve` does, once."""
    if os.geteuid() != 0:
        _unavailable("evalsite/deploy/postgres.sh starts Debian's server, which needs root")
    script = str(DEPLOY / "postgres.sh")
    made = subprocess.run([script, "--fresh", DATABASE], capture_output=True, text=True, timeout=600)
    if made.returncode != 0:
        _unavailable(f"{script} failed: {made.stderr.strip()}")
    try:
        running = Stack(made.stdout.strip(), tmp_path_factory.mktemp("faults") / "var")
        running.prepare()
        yield running
    finally:
        subprocess.run([script, "--drop", DATABASE], capture_output=True, timeout=120)


@pytest.fixture
def stack(prepared_stack) -> Iterator[Stack]:
    """The prepared stack; every process a test started in it is killed at the end of the test."""
    try:
        yield prepared_stack
    finally:
        prepared_stack.close()


@pytest.fixture
def fault_study(tmp_path):
    """Factory: study ``slug`` over ``images`` synthetic photos, JPEG at ``bpp`` and WebP matched to it."""

    def make(slug: str, *, images: int = 2, bpp: tuple[float, ...] = (1.0, 2.0)) -> Path:
        folder = tmp_path / "study"
        (folder / "images").mkdir(parents=True)
        for index in range(images):
            synthetic_photo(128, 96, seed=index + 1).save(folder / "images" / f"photo{index}.png")
        path = folder / f"{slug}.toml"
        path.write_text(FAULT_STUDY.format(slug=slug, bpp=list(bpp)))
        return path

    return make
