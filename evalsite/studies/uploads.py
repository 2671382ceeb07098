"""A researcher's zip of images, checked and extracted safely: the one path in for the create form and the API.

Refused, each with a message naming the file and the fix: a zip over STUDY_UPLOAD_MAX_BYTES;
names with ``..``, absolute or drive paths, and symbolic links; more than ``MAX_IMAGES`` files;
more than ``MAX_EXTRACTED_BYTES`` once extracted, or a file that expands more than
``MAX_RATIO`` times (a zip bomb); files that are not images by their content, whatever their
name says; images of more pixels than Pillow's ``Image.MAX_IMAGE_PIXELS`` (a decompression
bomb). Everything is extracted into a temporary folder and checked there; only then are the
images moved into place, so a refused zip writes nothing.
"""

from __future__ import annotations

import re
import shutil
import stat
import tempfile
import warnings
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO

from django.conf import settings
from PIL import Image

from evalsite.studies.config import IMAGE_SUFFIXES

MAX_IMAGES = 200
MAX_EXTRACTED_BYTES = 2 * 1024**3
MAX_RATIO = 100  # images are compressed already: a file a hundred times smaller in the zip is a bomb
RATIO_FROM_BYTES = 1024**2  # small files (text, tiny images) may compress well without harm
FORMATS = {"PNG", "JPEG", "MPO", "PPM", "TIFF", "WEBP", "BMP"}  # what the study-file reader takes (IMAGE_SUFFIXES)
JUNK = re.compile(r"(^|/)(__MACOSX/|\.[^/]*$|Thumbs\.db$|desktop\.ini$)", re.IGNORECASE)  # left by zip tools


class UploadError(ValueError):
    """A zip of images that is refused; ``problems`` lists every reason, each naming its file."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def max_upload_bytes() -> int:
    """The largest zip accepted (setting STUDY_UPLOAD_MAX_BYTES; STUDY_UPLOAD_MAX_MB in the environment)."""
    return int(getattr(settings, "STUDY_UPLOAD_MAX_BYTES", 200 * 1024**2))


def _mib(nbytes: int) -> str:
    return f"{nbytes / 1024**2:.0f} MiB"


def _unsafe_name(name: str) -> str | None:
    """Why a member name could write outside the target folder, or None when it is a plain relative path."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or re.match(r"^[A-Za-z]:", name):
        return "is an absolute path"
    if ".." in path.parts:
        return "climbs out of the folder with '..'"
    return None


def _members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The files of the archive that should be images, after refusing unsafe names, links, bombs and too many files."""
    problems: list[str] = []
    members = []
    seen: dict[str, str] = {}
    for member in archive.infolist():
        name = member.filename
        unsafe = _unsafe_name(name)
        if unsafe:
            problems.append(f"{name} {unsafe}; zip the image files themselves")
            continue
        if stat.S_ISLNK(member.external_attr >> 16):
            problems.append(f"{name} is a symbolic link; put the image itself in the zip")
            continue
        if member.is_dir() or JUNK.search(name):
            continue
        base = PurePosixPath(name.replace("\\", "/")).name
        if base.lower() in seen:
            problems.append(f"{name} and {seen[base.lower()]} have the same file name; rename one")
            continue
        seen[base.lower()] = name
        if member.file_size > RATIO_FROM_BYTES and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            problems.append(
                f"{name} expands from {member.compress_size} bytes to {_mib(member.file_size)}, more than "
                f"{MAX_RATIO} times: refused as a zip bomb; zip the image files as they are"
            )
            continue
        members.append(member)
    if len(members) > MAX_IMAGES:
        problems.append(f"the zip holds {len(members)} files, more than {MAX_IMAGES}; split the study's images")
    total = sum(m.file_size for m in members)
    if total > MAX_EXTRACTED_BYTES:
        problems.append(f"the zip's files add up to {_mib(total)}, more than {_mib(MAX_EXTRACTED_BYTES)} extracted")
    if problems:
        raise UploadError(problems)
    if not members:
        raise UploadError([f"the zip holds no images ({', '.join(IMAGE_SUFFIXES)})"])
    return members


def check_zip(upload: IO[bytes]) -> None:
    """Refuse a zip by its size and directory alone (names, links, bombs), before anything is extracted."""
    size = getattr(upload, "size", None)
    if size is None:
        size = upload.seek(0, 2)
    limit = max_upload_bytes()
    if size > limit:
        raise UploadError([f"the zip is {_mib(size)}, larger than {_mib(limit)}; send fewer or smaller images"])
    upload.seek(0)
    if not zipfile.is_zipfile(upload):
        raise UploadError(["not a zip file; upload a .zip of PNG or JPEG images"])
    upload.seek(0)
    with zipfile.ZipFile(upload) as archive:
        _members(archive)
    upload.seek(0)


def _image_problem(path: Path, name: str) -> str | None:
    """Why the extracted file ``path`` (``name`` in the zip) is not an image a study can use, or None."""
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return f"{name} is not an image file ({', '.join(IMAGE_SUFFIXES)}); leave it out of the zip"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if image.format not in FORMATS:
                    return f"{name} is a {image.format} image; convert it to PNG"
                image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return (
            f"{name} declares more than {Image.MAX_IMAGE_PIXELS} pixels: refused as a decompression bomb; "
            "use a smaller image"
        )
    except Exception as exc:  # a hostile file may trip a decoder anywhere: it is not a readable image either way
        return f"{name} is not a readable image ({exc}); export it again as PNG"
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and width * height > limit:
        return f"{name} is {width}x{height}, more than {limit} pixels; use a smaller image"
    return None


def extract_images(upload: IO[bytes], folder: Path) -> Path:
    """Check the zip, extract and check every image in a temporary folder, then move them into ``folder``.

    Names are flattened (only the base name is kept). Raises :class:`UploadError` listing every
    problem; nothing is written to ``folder`` (or anywhere else that stays) unless the whole zip passes.
    """
    check_zip(upload)
    with zipfile.ZipFile(upload) as archive, tempfile.TemporaryDirectory(prefix="pico-upload-") as tmp:
        extracted = []
        problems = []
        for member in _members(archive):
            name = PurePosixPath(member.filename.replace("\\", "/")).name
            target = Path(tmp) / name
            try:
                # ZipExtFile never yields more than the declared size and checks the CRC at the end.
                with archive.open(member) as source, target.open("wb") as sink:
                    shutil.copyfileobj(source, sink, 1024**2)
            except (zipfile.BadZipFile, OSError, NotImplementedError) as exc:
                problems.append(f"{member.filename} cannot be extracted ({exc}); make the zip again")
                continue
            problem = _image_problem(target, member.filename)
            if problem:
                problems.append(problem)
            extracted.append(target)
        if problems:
            raise UploadError(problems)
        folder.mkdir(parents=True, exist_ok=True)
        for path in extracted:
            shutil.move(path, folder / path.name)
    return folder
