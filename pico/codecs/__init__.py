"""The codec registry: registry name -> dotted class path, imported on first use.

Importing :mod:`pico` or listing codecs never imports a codec's heavy dependencies (torch
for the learned codec); a codec whose module cannot be imported shows as unavailable
with the import error. External codecs come from TOML recipes in ``pico/codecs/recipes``
and in the folders named by ``PICO_RECIPES`` (``os.pathsep``-separated).
"""

from __future__ import annotations

import functools
import importlib
import os
from pathlib import Path

from pico.codecs.base import Codec
from pico.errors import CodecUnavailable, PicoError

REGISTRY: dict[str, str] = {
    "jpeg": "pico.codecs.jpeg.Jpeg",
    "jpeg444": "pico.codecs.jpeg.Jpeg444",
    "webp": "pico.codecs.webp.Webp",
    "jp2": "pico.codecs.jpeg2000.Jpeg2000",
    "avif": "pico.codecs.avif.Avif",
    "avif-svt": "pico.codecs.avif_svt.AvifSvt",
    "heic": "pico.codecs.heic.Heic",
    "jxl": "pico.codecs.jxl.Jxl",
    "vvc": "pico.codecs.vvc.Vvc",
    "vvc-slow": "pico.codecs.vvc.VvcSlow",
    "pico": "pico.codecs.learned.Pico",
}

RECIPES_DIR = Path(__file__).parent / "recipes"


def recipe_dirs() -> list[Path]:
    """Folders searched for ``*.toml`` recipes: the shipped ones, then ``PICO_RECIPES``."""
    extra = [Path(p) for p in os.environ.get("PICO_RECIPES", "").split(os.pathsep) if p]
    return [RECIPES_DIR, *extra]


def recipe_paths() -> dict[str, Path]:
    """Recipe name (file stem) -> path; a later folder overrides an earlier one."""
    found: dict[str, Path] = {}
    for folder in recipe_dirs():
        for path in sorted(folder.glob("*.toml")):
            found[path.stem] = path
    return found


class BrokenCodec(Codec):
    """Stand-in row for a registered codec whose module cannot be imported (shown, never run)."""

    def __init__(self, name: str, reason: str, kind: str) -> None:
        self.name = name
        self.kind = kind
        self.reason = reason

    def available(self) -> str | None:
        return self.reason

    def version(self) -> str:
        return ""


@functools.cache
def _load_class(dotted: str) -> type[Codec]:
    module, _, attribute = dotted.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def get_codec(name: str, recipe: str | os.PathLike | None = None) -> Codec:
    """The codec registered as ``name`` (or defined by the ``recipe`` file); raises CodecUnavailable if unknown.

    A registered codec whose module fails to import raises CodecUnavailable naming the error.
    """
    from pico.codecs.external import load_recipe

    if recipe is not None:
        codec = load_recipe(recipe)
        if codec.name != name:
            raise PicoError(f"{recipe}: recipe defines codec {codec.name!r}, not {name!r}")
        return codec
    if name in REGISTRY:
        try:
            return _load_class(REGISTRY[name])()
        except ImportError as exc:
            raise CodecUnavailable(f"codec {name!r}: module {REGISTRY[name]} cannot be imported ({exc})") from exc
    recipes = recipe_paths()
    if name in recipes:
        return load_recipe(recipes[name])
    known = ", ".join([*REGISTRY, *recipes])
    raise CodecUnavailable(f"no codec named {name!r}; known codecs: {known}")


def list_codecs() -> list[Codec]:
    """Every registered codec and recipe, including those that cannot run here (as unavailable rows)."""
    codecs: list[Codec] = []
    for name in REGISTRY:
        try:
            codecs.append(get_codec(name))
        except CodecUnavailable as exc:
            kind = "learned" if name == "pico" else "builtin"
            codecs.append(BrokenCodec(name, str(exc.__cause__ or exc), kind))
    for name, path in recipe_paths().items():
        if name in REGISTRY:
            continue
        try:
            codecs.append(get_codec(name))
        except PicoError as exc:
            codecs.append(BrokenCodec(name, f"recipe {path}: {exc}", "external"))
    return codecs
