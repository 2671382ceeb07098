"""A study file (and a zip of its images) sent through the API, turned into a draft study.

The rules keep a token holder inside what the study pages allow: the file must be valid
TOML with a slug that is free or the caller's own draft; every path it names (the images
folder, external codec definitions, imported listings) must lie in the study's own folder or
under STUDY_IMAGE_ROOT; a zip is checked and extracted into the images folder the file names
by ``studies.uploads``, as the create form's upload is. Nothing is written for a file that fails.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import IO, Any

from django.contrib.auth.models import User

from evalsite.studies import services, tasks, uploads
from evalsite.studies.config import SLUG_RE, StudyFileError, StudyProblem, load_study_file
from evalsite.studies.forms import image_root
from evalsite.studies.models import Study

MAX_STUDY_FILE_BYTES = 1024 * 1024
SOURCE = "study file sent to the API"


def _refuse(key: str, message: str) -> StudyFileError:
    return StudyFileError(SOURCE, [StudyProblem(key, message)])


def _inside(path: Path, *roots: Path) -> bool:
    return any(root in (path, *path.parents) for root in roots)


def _named_paths(data: dict[str, Any], base: Path) -> list[tuple[str, Path]]:
    """Every path the study file names, resolved as the study-file reader will resolve it."""
    paths = []
    images = data.get("images")
    if isinstance(images, dict) and isinstance(images.get("folder"), str):
        paths.append(("images.folder", (base / images["folder"]).resolve()))
    for index, codec in enumerate(data.get("codecs") or []):
        for key in ("definition", "listing"):
            if isinstance(codec, dict) and isinstance(codec.get(key), str):
                paths.append((f"codecs[{index}].{key}", (base / codec[key]).resolve()))
    return paths


def submit_study(*, owner: User, study_file: bytes, images: IO[bytes] | None = None) -> Study:
    """Store the file (and extract the images) in the study's folder, register the draft and queue generation.

    Raises :class:`StudyFileError` listing what is wrong with the file, or
    :class:`~evalsite.studies.services.StudyError` (``slug_taken``, ``stimuli_frozen``).
    """
    if len(study_file) > MAX_STUDY_FILE_BYTES:
        raise _refuse("(file)", f"larger than {MAX_STUDY_FILE_BYTES // 1024} KiB; a study file is a few lines of TOML")
    try:
        data = tomllib.loads(study_file.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _refuse("(file)", f"not valid TOML ({exc}); fix the syntax") from None
    slug = data.get("slug")
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        raise _refuse("slug", f"expected lowercase letters, digits and '-' (1-50 characters), got {slug!r}")
    existing = Study.objects.filter(slug=slug).first()
    if existing is not None and existing.owner_id != owner.pk:
        raise services.StudyError("slug_taken", slug=slug)
    if existing is not None and existing.state != Study.State.DRAFT:
        raise services.StudyError("stimuli_frozen", slug=slug, state=existing.state)
    folder = services.study_dir(slug).resolve()
    allowed = (folder, image_root())
    outside = [(key, path) for key, path in _named_paths(data, folder) if not _inside(path, *allowed)]
    if outside:
        raise StudyFileError(
            SOURCE,
            [
                StudyProblem(
                    key,
                    f"{path} is outside the study's folder and STUDY_IMAGE_ROOT ({image_root()}); "
                    "send the images as a zip with a relative images.folder",
                )
                for key, path in outside
            ],
        )
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if images is not None:
            folder_key = dict(_named_paths(data, folder)).get("images.folder")
            if folder_key is None or not _inside(folder_key, folder):
                raise _refuse(
                    "images.folder", 'with a zip of images, set a folder inside the study\'s, e.g. folder = "images"'
                )
            uploads.extract_images(images, folder_key)
        path = folder / "study.toml"
        path.write_bytes(study_file)
        config = load_study_file(path)
    except uploads.UploadError as exc:
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        raise StudyFileError(SOURCE, [StudyProblem("images", problem) for problem in exc.problems]) from None
    except StudyFileError:
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    study = services.register_study(config=config, owner=owner, study_file=study_file.decode("utf-8"))
    tasks.queue_generation(study, path)
    return study
