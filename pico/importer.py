"""Reconstructions made elsewhere (HiFiC, MRIC, DCVC-RT, JPEG-AI, PICO outputs of others) into a manifest.

A listing names, per row, the reference image, codec, level, bpp and the reconstruction's
path (relative to the listing). Every row is checked before anything is written: the
reference exists, the reconstruction decodes, has the reference's size and a plausible
bpp; one bad row fails the whole import with every problem listed, and the output folder
is only created, complete, by a final rename.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from pico.csvtable import Schema, name, nonneg_int, positive_float, read_table, text
from pico.errors import ManifestError, PicoError, Problem
from pico.images import IMAGE_SUFFIXES, ImageRefused, file_sha256, load_reference, save_png
from pico.manifest import MANIFEST_NAME, read_manifest_records, write_manifest
from pico.metrics import all_metrics

LISTING = Schema(
    required={"image": name, "codec": name, "level": nonneg_int, "bpp": positive_float, "path": text}, optional={}
)
MAX_BPP = 24.0  # 8-bit RGB stored raw; a lossy reconstruction claiming more is a listing error


def _references(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise PicoError(f"{folder}: references folder not found")
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}


def import_reconstructions(listing: str | os.PathLike, references: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Validate every row of ``listing`` and write ``out``/manifest.csv with PNG copies and metrics."""
    listing, out = Path(listing), Path(out)
    if out.exists() and any(out.iterdir()):
        raise PicoError(f"{out}: output folder is not empty; give a new folder so no earlier files mix in")
    frame = read_table(listing, LISTING, ManifestError)
    refs = _references(Path(references))
    problems: list[Problem] = []
    rows: list[dict[str, Any]] = []
    decoded: list[tuple[str, Any]] = []
    loaded: dict[str, Any] = {}
    for line, record in zip(frame.attrs["lines"], frame.to_dict("records"), strict=True):
        image, codec, level, bpp = record["image"], record["codec"], record["level"], record["bpp"]
        if image not in refs:
            problems.append(Problem(str(listing), line, "image", f"no reference named {image!r} in {references}"))
            continue
        if bpp > MAX_BPP:
            problems.append(
                Problem(
                    str(listing),
                    line,
                    "bpp",
                    f"{bpp:g} bpp is implausible for an 8-bit RGB reconstruction (max {MAX_BPP:g})",
                )
            )
            continue
        if image not in loaded:
            loaded[image] = load_reference(refs[image])
        reference = loaded[image]
        source = (listing.parent / record["path"]).resolve()
        try:
            reconstruction = load_reference(source)
        except ImageRefused as exc:
            problems.append(Problem(str(listing), line, "path", f"reconstruction unreadable: {exc}"))
            continue
        if reconstruction.pixels.shape != reference.pixels.shape:
            problems.append(
                Problem(
                    str(listing),
                    line,
                    "path",
                    f"{source} is {reconstruction.width}x{reconstruction.height}, the reference {image!r} is {reference.width}x{reference.height}",
                )
            )
            continue
        rel = f"{image}/{codec}-{level}.png"
        decoded.append((rel, reconstruction.pixels))
        metrics = all_metrics(reference.pixels, reconstruction.pixels)
        rows.append(
            {
                "image": image,
                "codec": codec,
                "level": level,
                "bpp": bpp,
                "path": rel,
                "width": reference.width,
                "height": reference.height,
                **metrics,
            }
        )
    if problems:
        raise ManifestError(problems)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for row, (rel, pixels) in zip(rows, decoded, strict=True):
            row["sha256"] = file_sha256(save_png(pixels, staging / rel))
        write_manifest(staging / MANIFEST_NAME, rows)
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out / MANIFEST_NAME


def refresh_metrics(manifest: str | os.PathLike, references: str | os.PathLike) -> Path:
    """Recompute PSNR, PSNR-Y, MS-SSIM and SSIMULACRA2 of every row of ``manifest`` in place."""
    manifest = Path(manifest)
    refs = _references(Path(references))
    rows = []
    for record in read_manifest_records(manifest, check_files=True):
        if record["image"] not in refs:
            raise PicoError(f"{references}: no reference named {record['image']!r} (needed by {manifest})")
        reference = load_reference(refs[record["image"]])
        reconstruction = load_reference(manifest.parent / record["path"])
        rows.append({**record, **all_metrics(reference.pixels, reconstruction.pixels)})
    return write_manifest(manifest, rows)
