"""The bridge to pico: which codecs can run here, and making a study's reconstructions with the ladder.

Nothing here touches the database. The ladder writes decoded PNGs and ``manifest.csv`` into
the output folder and keeps a content-addressed cache there, so running it again after an
interruption redoes no finished reconstruction.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from evalsite.studies.config import StudyConfig
from pico.errors import PicoError


def codec_problem(name: str, definition: Path | None = None) -> str | None:
    """``None`` when pico can run codec ``name`` here (from its TOML ``definition`` if given), else why not."""
    from pico.codecs import get_codec

    try:
        codec = get_codec(name, definition)
    except PicoError as exc:
        return str(exc)
    return codec.available()


@dataclass
class Outcome:
    """What a generation produced: the manifest, work done and reused, and targets the ladder dropped."""

    manifest: Path
    computed: int = 0
    cached: int = 0
    skipped: list[str] = field(default_factory=list)


class _Bar:
    """The progress-bar object pico's ladder expects (``update``/``close``), reporting study-wide counts."""

    def __init__(self, counter: _Counter, codec: str) -> None:
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


def reconstruct(
    config: StudyConfig, out_dir: Path, *, jobs: int = 1, progress: Callable[[int, int, str], None] | None = None
) -> Outcome:
    """Make every reconstruction of ``config`` in ``out_dir`` (one manifest.csv for all codecs).

    Codecs with bpp targets run first, then codecs matched to another codec's achieved bpp
    per image, then imported listings are validated and copied in. ``progress(done, total, note)``
    counts ladder tasks (image x codec x target).
    """
    from pico.importer import import_reconstructions
    from pico.ladder import CodecRef, run_ladder
    from pico.manifest import MANIFEST_NAME, read_manifest, write_manifest
    from pico.ratecontrol import matched_targets

    out_dir.mkdir(parents=True, exist_ok=True)
    images = list(config.images)
    ladder_codecs = [c for c in config.codecs if c.kind != "imported"]
    per_codec = {c.name: len(c.bpp) if not c.match else len(config.codecs_by_name[c.match].bpp) for c in ladder_codecs}
    counter = _Counter(total=len(images) * sum(per_codec.values()), progress=progress)
    counter.report("starting the ladder")
    outcome = Outcome(manifest=out_dir / MANIFEST_NAME)
    rows: list[dict] = []
    for spec in sorted(ladder_codecs, key=lambda c: c.match is not None):  # matched codecs after their targets
        if spec.match:
            matched = matched_targets(rows, spec.match)

            def targets(stem: str, matched: dict = matched) -> list[float]:
                return matched.get(stem, [])
        else:

            def targets(stem: str, bpp: tuple[float, ...] = spec.bpp) -> list[float]:
                return list(bpp)

        ref = CodecRef(spec.name, str(spec.definition) if spec.definition else None)
        result = run_ladder(
            images, [ref], targets, out_dir, jobs=jobs, progress=lambda total, name=spec.name: _Bar(counter, name)
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
            import_reconstructions(spec.listing, config.images_dir, folder)
            for row in read_manifest(folder / MANIFEST_NAME).to_dict("records"):
                if row["codec"] == spec.name and row["image"] in config.image_names:
                    rows.append(
                        {k: None if _blank(v) else v for k, v in row.items()} | {"path": f"{folder.name}/{row['path']}"}
                    )
        write_manifest(outcome.manifest, rows)
    counter.report("reconstructions done")
    return outcome


def _blank(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)
