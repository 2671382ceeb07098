"""Exports for analysts: judgments.csv and manifest.csv in the shared contracts, and a zip bundle of everything.

Files are written atomically (temporary file, then rename), so a reader never sees half an export.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from evalsite.rating import results
from evalsite.studies import selectors
from evalsite.studies.models import Study
from pico.csvtable import write_table_atomic
from pico.manifest import write_manifest

RATER_COLUMNS = [
    "rater",
    "crowd_id",
    "stage",
    "screened_out",
    "colour",
    "artifact",
    "excluded",
    "excluded_reason",
    "judgments",
    "attention_checks",
    "attention_failures",
    "median_response_ms",
    "agreement",
    "started_at",
    "completed_at",
]


def write_judgments(study: Study, path: str | Path, *, include_excluded: bool = False) -> int:
    """Write judgments.csv for ``study``; returns the number of rows.

    Excluded raters are left out unless ``include_excluded``, which adds an ``excluded`` column
    (``yes``/``no``) so analysts can still tell them apart.
    """
    rows = results.judgment_rows(study, include_excluded=include_excluded)
    columns = results.JUDGMENT_COLUMNS + (["excluded"] if include_excluded else [])
    write_table_atomic(path, columns, rows)
    return len(rows)


def write_manifest_csv(study: Study, path: str | Path) -> int:
    """Write manifest.csv of the study's conditions (validated by pico); returns the number of rows."""
    rows = results.manifest_rows(study)
    write_manifest(path, rows)
    return len(rows)


def write_raters(study: Study, path: str | Path) -> int:
    """Write raters.csv: one row per rater with screening, attention, timing and agreement."""
    rows = selectors.rater_rows(study)
    write_table_atomic(path, RATER_COLUMNS, rows)
    return len(rows)


def build_bundle(study: Study, folder: Path, *, analysis_dir: Path | None = None) -> Path:
    """Write ``<slug>-bundle.zip`` in ``folder``: study file, manifest, judgments, raters and analysis outputs.

    ``analysis_dir`` holds elo.csv, bdrate.csv, curves.png, report.html (whatever exists) and is
    stored under ``analysis/`` in the zip.
    """
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / f".{study.slug}-bundle"
    staging.mkdir(exist_ok=True)
    write_manifest_csv(study, staging / "manifest.csv")
    write_judgments(study, staging / "judgments.csv")
    write_raters(study, staging / "raters.csv")
    target = folder / f"{study.slug}-bundle.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("study.toml", study.study_file)
        for name in ("manifest.csv", "judgments.csv", "raters.csv"):
            bundle.write(staging / name, name)
        if analysis_dir is not None and analysis_dir.is_dir():
            for item in sorted(analysis_dir.iterdir()):
                if item.is_file():
                    bundle.write(item, f"analysis/{item.name}")
    tmp = target.with_suffix(".zip.tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(target)
    return target
