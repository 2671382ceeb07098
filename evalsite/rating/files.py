"""Study files served to raters (rendered crops, colour plates), kept in the ``studyfiles`` storage.

Any Django storage works (``settings.STORAGES["studyfiles"]``): the local file system by
default, an S3-compatible object store through django-storages on several hosts
(docs/configuration.md). Names are content hashes, never anything a rater's URL carries, and a
file, once stored, is never changed, so a name can be served for as long as it exists.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, Storage, storages

STORAGE = "studyfiles"


class StudyFileSystemStorage(FileSystemStorage):
    """The file system storage with files that appear whole: written under a temporary name, then renamed.

    Raters' requests stream a file as soon as it exists, so a half-written one must never be visible.
    Names are content hashes, so a second writer of a name writes the same bytes: it overwrites.
    """

    def __init__(self, **options: object) -> None:
        options.setdefault("allow_overwrite", True)
        super().__init__(**options)  # type: ignore[arg-type]

    def _save(self, name: str, content: File) -> str:
        full_path = Path(self.path(name))
        full_path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=full_path.parent, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in content.chunks():
                    out.write(chunk)
            os.chmod(temporary, 0o644)
            os.replace(temporary, full_path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return name


def study_files() -> Storage:
    """The storage that holds rendered crops and colour plates."""
    return storages[STORAGE]


def stored(name: str, render: Callable[[], bytes]) -> str:
    """``name`` in the study files, made by ``render()`` and stored first when it is not there yet.

    Returns the name the storage kept (the same, with an overwriting storage such as the default).
    """
    files = study_files()
    if files.exists(name):
        return name
    return files.save(name, ContentFile(render()))
