"""The bridge to pico: which codecs can run here, and making a study's reconstructions with the ladder.

Nothing here touches the database. The ladder writes decoded PNGs and ``manifest.csv`` into
the output folder and keeps a content-addressed cache there, so running it again after an
interruption redoes no finished reconstruction.
"""

from __future__ import annotations

from collections.abc import Callable
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


def reconstruct(config: StudyConfig, out_dir: Path, *, progress: Callable[[int, int, str], None] | None = None) -> Path:
    """Run the pico ladder for every codec of ``config`` into ``out_dir``; returns the manifest's path."""
    raise NotImplementedError
