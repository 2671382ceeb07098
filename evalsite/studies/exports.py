"""Exports for analysts: judgments.csv and manifest.csv in the shared contracts, and a zip bundle of everything.

Files are written atomically (temporary file, then rename), so a reader never sees half an export.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

from evalsite import atomic
from evalsite.rating import results
from evalsite.studies import selectors
from evalsite.studies.live import report_stamp, stale_banner
from evalsite.studies.models import Study
from evalsite.studies.services import analysis_dir
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
    "repeats",
    "consistency",
    "started_at",
    "completed_at",
    # Viewing conditions, measured at the display check (docs/rating.md), and the consent given.
    "device_pixel_ratio",
    "window_width",
    "window_height",
    "browser",
    "zoom_hint",
    "consent_version",
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


def write_decisions(study: Study, path: str | Path) -> int:
    """Write prolific-decisions.csv: approve / reject / return / none per crowd id, with reason and code."""
    rows = results.decision_rows(study)
    write_table_atomic(path, results.DECISION_COLUMNS, rows)
    return len(rows)


def write_approve_list(study: Study, path: str | Path) -> int:
    """Write prolific-approve.txt: the participant ids to approve, one per line (Prolific's bulk approve)."""
    ids = [row["participant_id"] for row in results.decision_rows(study) if row["decision"] == "approve"]
    atomic.write_text(Path(path), "".join(f"{pid}\n" for pid in ids))
    return len(ids)


def build_bundle(study: Study, folder: Path, *, analysis_dir: Path | None = None) -> Path:
    """Write ``<slug>-bundle.zip`` in ``folder``: study file, manifest, judgments, raters and analysis outputs.

    ``analysis_dir`` holds elo.csv, bdrate.csv, curves.png, report.html (whatever exists) and is
    stored under ``analysis/`` in the zip; a report computed from other judgments than the bundle's
    (its ``stamp.json``) says so at its top.
    """
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / f".{study.slug}-bundle"
    staging.mkdir(exist_ok=True)
    write_manifest_csv(study, staging / "manifest.csv")
    n_judgments = write_judgments(study, staging / "judgments.csv")
    write_raters(study, staging / "raters.csv")
    target = folder / f"{study.slug}-bundle.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("study.toml", study.study_file)
        for name in ("manifest.csv", "judgments.csv", "raters.csv"):
            bundle.write(staging / name, name)
        if analysis_dir is not None and analysis_dir.is_dir():
            stamp = report_stamp(analysis_dir, n_judgments)
            for item in sorted(analysis_dir.iterdir()):
                if item.name == "report.html" and stamp is not None and stamp.stale:
                    bundle.writestr("analysis/report.html", stale_banner(item.read_text(encoding="utf-8"), stamp))
                elif item.is_file():
                    bundle.write(item, f"analysis/{item.name}")
    tmp = target.with_suffix(".zip.tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(target)
    return target


def _bundle(study: Study, path: Path) -> int:
    built = build_bundle(study, path.parent, analysis_dir=analysis_dir(study))
    built.replace(path)
    return 1


EXPORTS: dict[str, Callable[[Study, Path], int]] = {
    "judgments.csv": write_judgments,
    "manifest.csv": write_manifest_csv,
    "raters.csv": write_raters,
    "prolific-decisions.csv": write_decisions,
    "prolific-approve.txt": write_approve_list,
    "bundle.zip": _bundle,
}
"""Every download of a study, by name: the study page's export links and the API's exports endpoint."""


def write_export(study: Study, name: str, folder: Path, *, include_excluded: bool = False) -> Path:
    """Write export ``name`` (a key of :data:`EXPORTS`) of ``study`` into ``folder``; its path.

    ``include_excluded`` applies to judgments.csv: excluded raters' rows are added, flagged.
    """
    path = folder / name
    if name == "judgments.csv":
        write_judgments(study, path, include_excluded=include_excluded)
    else:
        EXPORTS[name](study, path)
    return path


def download_name(study: Study, name: str) -> str:
    """The file name a download of export ``name`` gets: the bundle's own name, else ``<slug>-<name>``."""
    return f"{study.slug}-bundle.zip" if name == "bundle.zip" else f"{study.slug}-{name}"


def content_type(name: str) -> str:
    """The MIME type of export ``name``."""
    return {".zip": "application/zip", ".txt": "text/plain"}.get(Path(name).suffix, "text/csv")
