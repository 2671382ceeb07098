"""The bridge to pico's ladder: making a study's reconstructions (codec checks live in ``config.py``).

Nothing here touches the database. The ladder writes decoded PNGs and ``manifest.csv`` into
the output folder and keeps a content-addressed cache there, so running it again after an
interruption redoes no finished reconstruction.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from evalsite.studies.config import CodecSpec, StudyConfig
from pico.importer import import_reconstructions
from pico.ladder import CodecRef, run_ladder
from pico.manifest import MANIFEST_NAME, read_manifest_records, write_manifest
from pico.ratecontrol import matched_targets


@dataclass
class Outcome:
    """What a generation produced: the manifest, work done and reused, and targets the ladder dropped."""

    manifest: Path
    computed: int = 0
    cached: int = 0
    skipped: list[str] = field(default_factory=list)


class _Bar:
    """The progress-bar object pico's ladder expects (``update``/``close``), reporting study-wide counts.

    The ladder makes one with its own task count, which is ignored: ``counter`` counts the whole study.
    """

    def __init__(self, counter: _Counter, codec: str, ladder_total: int = 0) -> None:
        self.counter, self.codec = counter, codec

    def update(self, n: int = 1) -> None:
        self.counter.done += n
        self.counter.report(f"{self.codec}: {self.counter.done} of {self.counter.total} reconstructions")

    def close(self) -> None:
        return None


@dataclass
class _Counter:
    total: int
    progress: Callable[[int, int, str], None] | None
    done: int = 0

    def report(self, note: str) -> None:
        if self.progress:
            self.progress(self.done, self.total, note)


def _targets(spec: CodecSpec, rows: list[dict[str, Any]]) -> Callable[[str], list[float]]:
    """Per image stem, the bpp targets of ``spec``: its own ladder, or what its matched codec achieved in ``rows``."""
    if spec.match:
        matched = matched_targets(rows, spec.match)
        return lambda stem: matched.get(stem, [])
    return lambda stem: list(spec.bpp)


def reconstruct(
    config: StudyConfig, out_dir: Path, *, jobs: int = 1, progress: Callable[[int, int, str], None] | None = None
) -> Outcome:
    """Make every reconstruction of ``config`` in ``out_dir`` (one manifest.csv for all codecs).

    Codecs with bpp targets run first, then codecs matched to another codec's achieved bpp
    per image, then imported listings are validated and copied in. ``progress(done, total, note)``
    counts ladder tasks (image x codec x target).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    images = list(config.images)
    ladder_codecs = [c for c in config.codecs if c.kind != "imported"]
    per_codec = {c.name: len(c.bpp) if not c.match else len(config.codecs_by_name[c.match].bpp) for c in ladder_codecs}
    counter = _Counter(total=len(images) * sum(per_codec.values()), progress=progress)
    counter.report("starting the ladder")
    outcome = Outcome(manifest=out_dir / MANIFEST_NAME)
    rows: list[dict[str, Any]] = []
    for spec in sorted(ladder_codecs, key=lambda c: c.match is not None):  # matched codecs after their targets
        ref = CodecRef(spec.name, str(spec.definition) if spec.definition else None)
        result = run_ladder(
            images, [ref], _targets(spec, rows), out_dir, jobs=jobs, progress=partial(_Bar, counter, spec.name)
        )
        rows = result.rows
        outcome.computed += result.computed
        outcome.cached += result.cached
        outcome.skipped += [
            f"{r['image']} {r['codec']} {r['target_bpp']:g} bpp: {r['status']} ({r['reason']})" for r in result.skipped
        ]
    imported = [c for c in config.codecs if c.kind == "imported"]
    if imported:
        names = {c.name for c in imported}
        rows = [row for row in rows if row["codec"] not in names]
        for spec in imported:
            counter.report(f"{spec.name}: importing {spec.listing}")
            folder = out_dir / f"imported-{spec.name}"
            if folder.exists():
                shutil.rmtree(folder)  # imports are cheap and must not mix with an earlier listing's files
            assert spec.listing is not None  # config.py gives every imported codec its listing
            import_reconstructions(spec.listing, config.images_dir, folder)
            for row in read_manifest_records(folder / MANIFEST_NAME):
                if row["codec"] == spec.name and row["image"] in config.image_names:
                    rows.append(row | {"path": f"{folder.name}/{row['path']}"})
        write_manifest(outcome.manifest, rows)
    counter.report("reconstructions done")
    return outcome
