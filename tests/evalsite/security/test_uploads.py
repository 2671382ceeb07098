"""Hostile zips of images, through the create form and the API: each refused with a message naming the file, nothing written."""

from __future__ import annotations

import html
import io
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from evalsite.studies import uploads
from evalsite.studies.models import Study
from tests.evalsite.conftest import synthetic_photo

pytestmark = pytest.mark.django_db

FORM = {"slug": "upload", "title": "Uploaded", "codecs": ["jpeg"], "bpp": "0.5, 1.0", "crop": 64}
STUDY_TOML = b"""slug = "upload"
title = "Uploaded"
[images]
folder = "images"
[ladder]
bpp = [0.5, 1.0]
[[codecs]]
name = "jpeg"
[presentation]
crop = 64
"""


def _png(seed: int = 1) -> bytes:
    buffer = io.BytesIO()
    synthetic_photo(96, 64, seed=seed).save(buffer, format="PNG")
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _huge_png(width: int, height: int) -> bytes:
    """A few hundred bytes that declare a ``width`` x ``height`` image: a decompression bomb's header."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + _chunk(b"IEND", b"")
    )


def _zip(*entries: tuple[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    buffer.seek(0)
    buffer.name = "images.zip"
    return buffer


def _symlink_zip() -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo0.png", _png())
        link = zipfile.ZipInfo("passwd.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    buffer.seek(0)
    buffer.name = "images.zip"
    return buffer


HOSTILE: dict[str, tuple[Callable[[], io.BytesIO], str]] = {
    "dot-dot": (lambda: _zip(("photo0.png", _png()), ("../../evil.png", _png(2))), "../../evil.png climbs out"),
    "absolute": (lambda: _zip(("photo0.png", _png()), ("/tmp/evil.png", _png(2))), "/tmp/evil.png is an absolute"),
    "drive": (lambda: _zip(("photo0.png", _png()), ("C:\\evil.png", _png(2))), "is an absolute path"),
    "symlink": (_symlink_zip, "passwd.png is a symbolic link"),
    "zip-bomb": (lambda: _zip(("photo0.png", _png()), ("bomb.png", b"\0" * 20 * 1024**2)), "bomb.png expands"),
    "pixel-bomb": (lambda: _zip(("photo0.png", _png()), ("huge.png", _huge_png(40000, 40000))), "huge.png declares"),
    "pixel-warning": (lambda: _zip(("photo0.png", _png()), ("big.png", _huge_png(10000, 10000))), "big.png declares"),
    "text-as-png": (
        lambda: _zip(("photo0.png", _png()), ("notes.png", b"<script>alert(1)</script>")),
        "notes.png is not",
    ),
    "text-file": (lambda: _zip(("photo0.png", _png()), ("readme.txt", b"hello")), "readme.txt is not an image"),
    "nested-zip": (lambda: _zip(("photo0.png", _png()), ("more.png", _zip(("x.png", _png())).getvalue())), "more.png"),
    "not-a-zip": (lambda: _zip_named(b"PK but not really"), "not a zip file"),
}


def _zip_named(data: bytes) -> io.BytesIO:
    buffer = io.BytesIO(data)
    buffer.name = "images.zip"
    return buffer


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def researcher(client, alice, study_data_dir, settings):
    settings.STUDY_IMAGE_ROOT = study_data_dir / "no-server-images"
    client.force_login(alice)
    return client


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_the_create_form_refuses_a_hostile_zip_with_a_message_and_writes_nothing(researcher, study_data_dir, case):
    make, message = HOSTILE[case]
    before = _tree(study_data_dir)
    response = researcher.post("/studies/new/", {**FORM, "images_zip": make()})
    assert response.status_code == 200  # the form again, with the reason
    assert message in html.unescape(response.content.decode())
    assert _tree(study_data_dir) == before
    assert not Study.objects.exists()


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_the_api_refuses_a_hostile_zip_with_a_message_and_writes_nothing(api_client, study_data_dir, case):
    make, message = HOSTILE[case]
    before = _tree(study_data_dir)
    study_file = io.BytesIO(STUDY_TOML)
    study_file.name = "study.toml"
    response = api_client().post("/api/v1/studies", {"study_file": study_file, "images": make()})
    assert response.status_code == 422, response.content
    problems = response.json()["problems"]
    assert any(problem.startswith("images:") and message in problem for problem in problems), problems
    assert _tree(study_data_dir) == before
    assert not Study.objects.exists()


def test_the_upload_limit_is_200_mib_by_default_and_a_larger_zip_is_refused_before_reading_it(
    researcher, api_client, study_data_dir, settings
):
    assert settings.STUDY_UPLOAD_MAX_BYTES == 200 * 1024**2
    settings.STUDY_UPLOAD_MAX_BYTES = 1024**2
    noise = _zip(("noise.png", bytes(range(256)) * 8 * 1024), compression=zipfile.ZIP_STORED)  # 2 MiB stored
    response = researcher.post("/studies/new/", {**FORM, "images_zip": noise})
    assert "the zip is 2 MiB, larger than 1 MiB" in response.content.decode()
    noise.seek(0)
    study_file = io.BytesIO(STUDY_TOML)
    study_file.name = "study.toml"
    response = api_client().post("/api/v1/studies", {"study_file": study_file, "images": noise})
    assert response.status_code == 422
    assert any("larger than 1 MiB" in problem for problem in response.json()["problems"])
    assert _tree(study_data_dir) == [] and not Study.objects.exists()


def test_every_problem_of_a_zip_is_listed_at_once(tmp_path):
    # The directory first (names, links, bombs): nothing is extracted from a zip that fails it.
    upload = _zip(("../a.png", _png()), ("/b.png", _png()), ("notes.png", b"text"), ("ok.png", _png()))
    with pytest.raises(uploads.UploadError) as refused:
        uploads.extract_images(upload, tmp_path / "images")
    assert [p.split(" ")[0] for p in refused.value.problems] == ["../a.png", "/b.png"]
    # Then every file's content.
    upload = _zip(("notes.png", b"text"), ("readme.txt", b"hello"), ("ok.png", _png()))
    with pytest.raises(uploads.UploadError) as refused:
        uploads.extract_images(upload, tmp_path / "images")
    assert [p.split(" ")[0] for p in refused.value.problems] == ["notes.png", "readme.txt"]
    assert not (tmp_path / "images").exists()


def test_a_good_zip_is_flattened_into_the_folder_with_tool_junk_left_out(tmp_path):
    upload = _zip(
        ("photos/a.png", _png(1)),
        ("photos/deeper/b.PNG", _png(2)),
        ("__MACOSX/photos/._a.png", b"resource fork"),
        ("photos/.DS_Store", b"finder"),
        ("Thumbs.db", b"windows"),
    )
    folder = uploads.extract_images(upload, tmp_path / "images")
    assert sorted(p.name for p in folder.iterdir()) == ["a.png", "b.PNG"]
    with Image.open(folder / "a.png") as image:
        assert image.size == (96, 64)


def test_two_files_of_the_same_name_in_different_folders_are_refused(tmp_path):
    upload = _zip(("day1/a.png", _png(1)), ("day2/a.png", _png(2)))
    with pytest.raises(uploads.UploadError, match="same file name"):
        uploads.extract_images(upload, tmp_path / "images")
