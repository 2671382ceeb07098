"""Reference images in, 8-bit RGB arrays out, with every conversion noted or refused.

Codecs take HxWx3 uint8 sRGB. Anything else a reference may be (16-bit samples, alpha,
CMYK, grayscale, a palette, an ICC profile other than sRGB, an EXIF rotation) is either
converted explicitly, with a note saying what was done, or refused with a message that
says how to prepare the file.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from pico.errors import PicoError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {
    ".png",
    ".jpg",
    ".jpeg",
    ".tif",
    ".tiff",
    ".webp",
    ".bmp",
    ".ppm",
    ".pgm",
    ".pnm",
    ".avif",
    ".heic",
    ".jxl",
}


class ImageRefused(PicoError):
    """A reference cannot be turned into 8-bit RGB without a choice pico will not make for you."""


@dataclass
class Reference:
    """A reference image as codecs see it: HxWx3 uint8 sRGB, plus what was done to get there."""

    path: Path
    pixels: np.ndarray = field(repr=False)
    notes: list[str]
    sha256: str

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, read in chunks so 12 MP files cost no extra memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_reference(path: str | os.PathLike) -> Reference:
    """Read ``path`` with Pillow and return 8-bit RGB; raise :class:`ImageRefused` when it cannot."""
    path = Path(path)
    try:
        with Image.open(path) as opened:
            opened.load()
            image = opened.copy()
            rawmode = opened.tile[0][3] if opened.tile else ""
            image.info = dict(opened.info)
    except FileNotFoundError:
        raise ImageRefused(f"{path}: file not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ImageRefused(f"{path}: Pillow cannot read it ({exc}); convert it to PNG first") from None
    pixels, notes = to_rgb8(image, str(path), rawmode=str(rawmode))
    for note in notes:
        log.info("%s", note)
    return Reference(path=path, pixels=pixels, notes=notes, sha256=file_sha256(path))


def to_rgb8(image: Image.Image, label: str, *, rawmode: str = "") -> tuple[np.ndarray, list[str]]:
    """Convert a Pillow image to HxWx3 uint8 sRGB; returns the array and notes on each conversion."""
    notes: list[str] = []
    orientation = image.getexif().get(0x0112, 1)
    if orientation not in (1, None):
        image = ImageOps.exif_transpose(image)
        notes.append(f"{label}: rotated/flipped upright per EXIF orientation {orientation}")
    if ";16" in rawmode or image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        notes.append(f"{label}: 16-bit samples ({image.mode}, {rawmode or 'raw'}) rounded to 8 bits")
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        wide = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if wide.max() > 255 else 255.0
        image = Image.fromarray(np.clip(np.rint(wide * 255.0 / peak), 0, 255).astype(np.uint8), "L")
    elif image.mode == "F":
        raise ImageRefused(f"{label}: floating-point samples; tone-map it to 8 or 16-bit sRGB first")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        notes.append(f"{label}: palette image expanded to RGB")
    if image.mode in ("RGBA", "LA", "La", "RGBa", "PA"):
        alpha = np.asarray(image.getchannel("A"))
        if alpha.min() < 255:
            raise ImageRefused(
                f"{label}: has transparency ({(alpha < 255).mean():.1%} of pixels); flatten it onto the "
                "background the study should show (e.g. ImageMagick: -background white -flatten) and retry"
            )
        image = image.convert("RGB" if image.mode != "LA" else "L")
        notes.append(f"{label}: fully opaque alpha channel dropped")
    profile = image.info.get("icc_profile")
    if image.mode == "CMYK":
        if profile:
            image = _icc_to_srgb(image, profile, label, "RGB")
            notes.append(f"{label}: CMYK converted to sRGB with its embedded ICC profile")
        else:
            image = image.convert("RGB")
            notes.append(f"{label}: CMYK without an ICC profile converted to RGB naively (colours approximate)")
        profile = None
    if image.mode in ("L", "1"):
        image = image.convert("RGB")
        notes.append(f"{label}: grayscale replicated to three RGB channels")
    if image.mode != "RGB":
        original = image.mode
        try:
            image = image.convert("RGB")
        except ValueError as exc:
            raise ImageRefused(
                f"{label}: mode {original} cannot be converted to RGB ({exc}); convert it to PNG first"
            ) from None
        notes.append(f"{label}: mode {original} converted to RGB")
    if profile and not _is_srgb(profile):
        image = _icc_to_srgb(image, profile, label, "RGB")
        notes.append(f"{label}: converted from its embedded ICC profile to sRGB")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8)), notes


def _is_srgb(profile: bytes) -> bool:
    try:
        description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(profile)))
    except (OSError, ImageCms.PyCMSError):
        return True  # an unreadable profile is ignored rather than guessed at
    return "srgb" in description.lower().replace(" ", "")


def _icc_to_srgb(image: Image.Image, profile: bytes, label: str, mode: str) -> Image.Image:
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=mode)
    except (OSError, ImageCms.PyCMSError) as exc:
        raise ImageRefused(f"{label}: its ICC profile cannot be applied ({exc}); export it as sRGB first") from None
    assert converted is not None  # None only with inPlace=True
    return converted


def save_png(pixels: np.ndarray, path: str | os.PathLike) -> Path:
    """Write an RGB array as PNG via a temporary file and a rename (no half-written PNGs)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            Image.fromarray(pixels, "RGB").save(handle, "PNG", compress_level=3)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def find_images(paths: list[str | os.PathLike]) -> list[Path]:
    """Image files named directly or found (non-recursively) in the given folders, sorted by name."""
    found: list[Path] = []
    for entry in map(Path, paths):
        if entry.is_dir():
            found += sorted(p for p in entry.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        elif entry.is_file():
            found.append(entry)
        else:
            raise ImageRefused(f"{entry}: no such file or folder")
    stems: dict[str, Path] = {}
    for path in found:
        if path.stem in stems:
            raise ImageRefused(
                f"{path} and {stems[path.stem]} share the name {path.stem!r}; image names must be unique"
            )
        stems[path.stem] = path
    if not found:
        raise ImageRefused(
            f"no images found in {', '.join(map(str, paths))} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})"
        )
    return found
