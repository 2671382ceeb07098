"""The ladder: every image x codec x target bpp, planned, run in parallel, and written as a manifest.

Planning hashes each reference and keys each unit of work by image, codec name + version +
settings and target (:mod:`pico.cache`); work already in the cache is not redone, so a
rerun does nothing and a killed run resumes. Running happens on a process pool or, with
``dask_address``, on a Dask cluster whose workers see the same paths. Assembly orders each
codec's results on an image by target and numbers them by target, so that a level means the
same target on every image; it drops (and reports) unreachable targets, targets that gave the
same bitstream as a lower one, and rates that fall as the target rises, leaving that level out
for that image, and writes ``<image>/<codec>-<level>.png`` and ``manifest.csv``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pico.cache import Cache, cache_key
from pico.codecs import get_codec
from pico.codecs.base import Codec
from pico.csvtable import write_table_atomic
from pico.images import file_sha256, load_reference, save_png
from pico.manifest import COLUMNS, MANIFEST_NAME, read_manifest_records, write_manifest
from pico.metrics import all_metrics
from pico.ratecontrol import DEFAULT_TOLERANCE, find_param

log = logging.getLogger(__name__)

REPORT_NAME = "ratecontrol.csv"
REPORT_COLUMNS = [
    "image",
    "codec",
    "target_bpp",
    "status",
    "level",
    "param",
    "bpp",
    "error",
    "n_encodes",
    "encode_s",
    "cached",
    "reason",
]


@dataclass(frozen=True)
class CodecRef:
    """How a worker finds a codec: its registry name, or the TOML recipe that defines it."""

    name: str
    recipe: str | None = None

    def load(self) -> Codec:
        return _codec(self.name, self.recipe)


@functools.cache
def _codec(name: str, recipe: str | None) -> Codec:
    return get_codec(name, recipe)


@dataclass(frozen=True)
class Task:
    """One unit of work: one image, one codec, one target bpp."""

    image_path: str
    image_name: str
    codec: CodecRef
    target_bpp: float
    tolerance: float
    key: str
    cache_dir: str


@dataclass
class LadderResult:
    """What a ladder run produced: manifest rows, the rate-control report, and work counts."""

    manifest: Path
    rows: list[dict[str, Any]]
    report: list[dict[str, Any]]
    computed: int
    cached: int

    @property
    def skipped(self) -> list[dict[str, Any]]:
        return [r for r in self.report if r["status"] != "ok"]


def plan(
    images: list[Path],
    codecs: list[CodecRef],
    targets: Callable[[str], list[float]],
    out: Path,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
) -> list[Task]:
    """Tasks for every image x codec x target; the codecs must be available here."""
    tasks = []
    cache_dir = str((out / ".cache").resolve())
    identities = {}
    for ref in codecs:
        codec = ref.load()
        codec.require_available()
        identities[ref] = (codec.version(), codec.settings())
    for path in images:
        sha = file_sha256(path)
        for ref in codecs:
            version, settings = identities[ref]
            for target in targets(path.stem):
                key = cache_key(
                    image_sha256=sha,
                    codec=ref.name,
                    version=version,
                    settings=settings,
                    target_bpp=target,
                    tolerance=tolerance,
                )
                tasks.append(Task(str(path.resolve()), path.stem, ref, float(target), tolerance, key, cache_dir))
    return tasks


def run_task(task: Task) -> dict[str, Any]:
    """Do one task (or return its cached record): rate control, decode, metrics, store in the cache."""
    cache = Cache(task.cache_dir)
    done = cache.get(task.key)
    if done is not None:
        return {**done, "cached": True}
    codec = task.codec.load()
    reference = load_reference(task.image_path)
    result = find_param(codec, reference.pixels, task.target_bpp, tolerance=task.tolerance)
    record: dict[str, Any] = {
        "image": task.image_name,
        "codec": task.codec.name,
        "target_bpp": task.target_bpp,
        "status": result.status,
        "reason": result.reason,
        "param": result.param,
        "bpp": result.bpp,
        "error": result.error,
        "n_encodes": result.n_encodes,
        "encode_s": result.encode_s / result.n_encodes,
        "bytes": len(result.data),
        "width": reference.width,
        "height": reference.height,
        "extension": codec.extension,
        "bitstream_sha256": _sha256(result.data),
        "notes": reference.notes,
    }
    if result.status == "ok":
        started = time.perf_counter()
        decoded = codec.reconstruct(result.data, reference.width, reference.height)
        record["decode_s"] = time.perf_counter() - started
        record.update(all_metrics(reference.pixels, decoded))
        cache.write_bytes(task.key, "bin", result.data)
        png = save_png(decoded, cache.path(task.key, "png"))
        record["png_sha256"] = file_sha256(png)
    cache.put(task.key, record)
    return {**record, "cached": False}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def execute(
    tasks: list[Task], *, jobs: int = 1, dask_address: str | None = None
) -> Iterator[tuple[Task, dict[str, Any]]]:
    """Run tasks, yielding (task, record) as each finishes; cached ones first, without a worker."""
    pending = []
    for task in tasks:
        done = Cache(task.cache_dir).get(task.key)
        if done is not None:
            yield task, {**done, "cached": True}
        else:
            pending.append(task)
    if not pending:
        return
    if dask_address:
        yield from _execute_dask(pending, dask_address)
    elif jobs <= 1:
        for task in pending:
            yield task, run_task(task)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(run_task, task): task for task in pending}
            for future in as_completed(futures):
                yield futures[future], future.result()


def _execute_dask(tasks: list[Task], address: str) -> Iterator[tuple[Task, dict[str, Any]]]:
    """The same work on a Dask cluster; its workers must reach the image and output paths."""
    from distributed import Client
    from distributed import as_completed as dask_completed

    with Client(address) as client:
        futures = {client.submit(run_task, task, key=f"pico-{task.key}", pure=False): task for task in tasks}
        for future in dask_completed(list(futures)):
            yield futures[future], future.result()


def assemble(
    out: Path, records: Iterable[dict[str, Any]], *, keep_bitstreams: bool = False
) -> tuple[list[dict], list[dict]]:
    """Keep each codec's usable results and number them by target rank, copy their files into ``out``.

    Level k is the k-th target (counting only targets usable on at least one image) on every
    image, so a condition (codec, level) means the same target across images. Returns (rows, report).
    """
    cache = Cache(out / ".cache")
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault((record["image"], record["codec"]), []).append(record)
    judged: list[tuple[dict[str, Any], str, str, int]] = []
    used_ranks: dict[str, set[int]] = {}
    for (_image, codec), group in sorted(groups.items()):
        last_bpp, seen = 0.0, set()
        for rank, record in enumerate(sorted(group, key=lambda r: r["target_bpp"])):
            status, reason = record["status"], record.get("reason", "")
            if status == "ok" and (record["bitstream_sha256"] in seen or record["bpp"] == last_bpp):
                status, reason = (
                    "duplicate",
                    f"same rate as a lower target ({record['bpp']:.4g} bpp); the codec cannot tell these targets apart here",
                )
            elif status == "ok" and record["bpp"] < last_bpp:
                status, reason = (
                    "non-monotone",
                    f"{record['bpp']:.4g} bpp is below the previous level's {last_bpp:.4g} bpp",
                )
            if status == "ok":
                seen.add(record["bitstream_sha256"])
                last_bpp = record["bpp"]
                used_ranks.setdefault(codec, set()).add(rank)
            judged.append((record, status, reason, rank))
    levels = {codec: {rank: level for level, rank in enumerate(sorted(ranks))} for codec, ranks in used_ranks.items()}
    rows, report = [], []
    for record, status, reason, rank in judged:
        image, codec = record["image"], record["codec"]
        level = levels[codec][rank] if status == "ok" else None
        entry = {c: record.get(c) for c in REPORT_COLUMNS if c not in ("level", "status", "reason")}
        report.append({**entry, "status": status, "reason": reason, "level": level})
        if level is None:
            continue
        rel = f"{image}/{codec}-{level}.png"
        _copy(cache.path(record["key"], "png"), out / rel)
        if keep_bitstreams:
            _copy(cache.path(record["key"], "bin"), out / f"{image}/{codec}-{level}.{record['extension']}")
        rows.append(_manifest_row(record, level, rel))
    return rows, report


def _manifest_row(record: dict[str, Any], level: int, rel: str) -> dict[str, Any]:
    param = record["param"]
    return {
        "image": record["image"],
        "codec": record["codec"],
        "level": level,
        "bpp": record["bpp"],
        "path": rel,
        "target_bpp": record["target_bpp"],
        "bytes": record["bytes"],
        "width": record["width"],
        "height": record["height"],
        "param": f"{param:g}",
        "encode_s": record["encode_s"],
        "decode_s": record["decode_s"],
        "psnr": record["psnr"],
        "psnr_y": record["psnr_y"],
        "ms_ssim": record["ms_ssim"],
        "ssimulacra2": record["ssimulacra2"],
        "sha256": record["png_sha256"],
    }


def _copy(source: Path, target: Path) -> None:
    """Copy via a temporary name and a rename, so a reader never sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def run_ladder(
    images: list[Path],
    codecs: list[CodecRef],
    targets: Callable[[str], list[float]],
    out: str | os.PathLike,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    jobs: int = 1,
    dask_address: str | None = None,
    keep_bitstreams: bool = False,
    progress: Callable[[int], Any] | None = None,
) -> LadderResult:
    """Plan, run and assemble a ladder into ``out``; rows of other codecs already in its manifest are kept."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tasks = plan(images, codecs, targets, out, tolerance=tolerance)
    bar = progress(len(tasks)) if progress else None
    records, computed, cached = [], 0, 0
    for task, record in execute(tasks, jobs=jobs, dask_address=dask_address):
        records.append({**record, "key": task.key})
        if record.get("cached"):
            cached += 1
        else:
            computed += 1
        for note in record.get("notes", []) if not record.get("cached") else []:
            log.info("%s", note)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    rows, report = assemble(out, records, keep_bitstreams=keep_bitstreams)
    manifest = out / MANIFEST_NAME
    names = {ref.name for ref in codecs}
    if manifest.is_file():
        # Only contract columns: write_manifest refuses any other a hand-edited file may have.
        kept = [
            {k: v for k, v in row.items() if k in COLUMNS}
            for row in read_manifest_records(manifest)
            if row["codec"] not in names
        ]
        rows = kept + rows
    write_manifest(manifest, rows)
    write_table_atomic(out / REPORT_NAME, REPORT_COLUMNS, report)
    return LadderResult(manifest=manifest, rows=rows, report=report, computed=computed, cached=cached)
