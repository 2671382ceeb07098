"""Content-addressed store of finished ladder work under ``<out>/.cache``.

One entry per (image bytes, codec name + version + settings, target bpp, tolerance): the
bitstream, the decoded PNG and a JSON record. The JSON is renamed into place last, so an
entry exists only when complete; a run killed half-way leaves nothing that a rerun could
mistake for finished work.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

CACHE_FORMAT = 1


def cache_key(
    *, image_sha256: str, codec: str, version: str, settings: dict[str, Any], target_bpp: float, tolerance: float
) -> str:
    """Hex SHA-256 naming one unit of ladder work."""
    identity = {
        "format": CACHE_FORMAT,
        "image": image_sha256,
        "codec": codec,
        "version": version,
        "settings": settings,
        "target_bpp": repr(float(target_bpp)),
        "tolerance": repr(float(tolerance)),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


class Cache:
    """Entries stored as ``<root>/<key[:2]>/<key>.{json,bin,png}``."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def path(self, key: str, suffix: str) -> Path:
        return self.root / key[:2] / f"{key}.{suffix}"

    def get(self, key: str) -> dict[str, Any] | None:
        """The finished record for ``key``, or None when the work has not been done."""
        try:
            return json.loads(self.path(key, "json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def write_bytes(self, key: str, suffix: str, data: bytes) -> Path:
        """Store a payload atomically (temporary file, then rename)."""
        path = self.path(key, suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def put(self, key: str, record: dict[str, Any]) -> None:
        """Mark ``key`` finished; call after its payloads are stored."""
        self.write_bytes(key, "json", json.dumps(record, sort_keys=True, indent=1).encode())
