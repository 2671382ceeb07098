"""Researcher-side benchmark: building the demo study, and the study page's queries at a large study's scale.

Run by ``make bench`` (or ``python benchmarks/bench_studies.py``). Uses a throwaway SQLite
database and data folder under a temporary directory.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TMP = tempfile.TemporaryDirectory(prefix="bench-studies-")
os.environ.update({"PICO_VAR_DIR": TMP.name, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "evalsite.settings"})

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402

from evalsite.rating import results  # noqa: E402
from evalsite.rating.models import Judgment, Rater, Trial  # noqa: E402
from evalsite.studies import exports, selectors  # noqa: E402
from evalsite.studies.models import Reference, Stimulus, Study  # noqa: E402
from evalsite.studies.scores import fit_scores  # noqa: E402
from evalsite.studies.services import create_study_from_file  # noqa: E402

DEMO = ROOT / "fixtures" / "studies" / "demo.toml"
T = TypeVar("T")


def timed(label: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    print(f"{label:<58} {time.perf_counter() - start:8.2f} s")
    return result


def large_study(
    owner: User, *, images: int = 20, codecs: int = 6, levels: int = 5, raters: int = 100, per_rater: int = 100
) -> Study:
    """Rows of a study with ``raters * per_rater`` judgments (no image files: only queries are timed)."""
    study = Study.objects.create(slug="large", title="large", owner=owner, state=Study.State.LIVE)
    stimuli: dict[int, list[Stimulus]] = {}
    for i in range(images):
        reference = Reference.objects.create(
            study=study, name=f"img{i}", path="x.png", width=768, height=512, sha256="0" * 64
        )
        stimuli[reference.pk] = Stimulus.objects.bulk_create(
            Stimulus(
                study=study,
                reference=reference,
                codec=f"codec{c}",
                level=lv,
                bpp=0.1 * (lv + 1) * (1 + c / 10),
                path="x.png",
            )
            for c in range(codecs)
            for lv in range(levels)
        )
    rng = random.Random(0)
    references = list(stimuli)
    for r in range(raters):
        rater = Rater.objects.create(study=study, crowd_id=f"p{r}", stage=Rater.Stage.DONE)
        trials = []
        for seq in range(per_rater):
            reference_id = rng.choice(references)
            a, b = rng.sample(stimuli[reference_id], 2)
            trials.append(
                Trial(
                    rater=rater,
                    seq=seq,
                    reference_id=reference_id,
                    a=a,
                    b=b,
                    shown_left="a",
                    crop_x=0,
                    crop_y=0,
                    crop_w=256,
                    crop_h=256,
                )
            )
        trials = Trial.objects.bulk_create(trials)
        Judgment.objects.bulk_create(
            Judgment(
                trial=t,
                winner="a" if (t.a.bpp > t.b.bpp) == (rng.random() < 0.85) else "b",
                response_ms=rng.randint(800, 6000),
            )
            for t in trials
        )
    return study


def main() -> None:
    call_command("migrate", verbosity=0)
    owner = get_user_model().objects.create_user("bench", password="bench-pass-1")
    study = timed("demo study from scratch (3 images x 3 codecs x 3 bpp)", create_study_from_file, DEMO, owner=owner)
    print(f"  {study.generation_message}")
    study = timed("demo study again (every reconstruction cached)", create_study_from_file, DEMO, owner=owner)
    print(f"  {study.generation_message}")

    large = timed("insert a study of 10,000 judgments (100 raters)", large_study, owner)
    timed("study progress (counts per condition and image)", results.study_progress, large)
    timed("rater table (agreement with the majority)", selectors.rater_rows, large)
    out = Path(TMP.name) / "judgments.csv"
    timed("export judgments.csv", exports.write_judgments, large, out)
    scores = timed("Elo preview (MAP + Laplace, 30 conditions)", fit_scores, large)
    if scores is None:
        raise SystemExit("the large study has too few judgments for a fit")
    print(f"  Elo range {scores.elo['elo'].min():.0f} .. {scores.elo['elo'].max():.0f}")
    timed("bundle zip", exports.build_bundle, large, Path(TMP.name) / "bundle")


if __name__ == "__main__":
    main()
