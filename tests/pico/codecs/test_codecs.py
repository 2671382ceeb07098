"""Every available codec row round-trips, lands in its parameter's direction and keeps its size."""

from __future__ import annotations

import numpy as np
import pytest

from pico.codecs import REGISTRY, get_codec, list_codecs
from pico.errors import CodecUnavailable
from pico.metrics import psnr

BUILTIN = ["jpeg", "jpeg444", "webp", "jp2", "avif", "avif-svt", "heic", "jxl", "vvc"]
EXTERNAL = ["cwebp", "avifenc", "cjxl", "x265"]
SLOW = {"vvc", "avif", "avifenc"}


def _params(codec):
    """A low-bits and a high-bits parameter well inside the range."""
    low, high = codec.param_range
    if codec.param_log:
        a, b = low * (high / low) ** 0.35, low * (high / low) ** 0.65
    else:
        a, b = low + 0.3 * (high - low), low + 0.7 * (high - low)
    return (a, b) if codec.higher_param_more_bits else (b, a)


def _usable(name):
    codec = get_codec(name)
    reason = codec.available()
    if reason is not None:
        pytest.skip(f"{name} unavailable here: {reason}")
    return codec


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in BUILTIN + EXTERNAL]
)
def test_codec_round_trips_odd_sizes_with_more_bits_in_its_direction(name, photo_odd):
    codec = _usable(name)
    fewer, more = _params(codec)
    small, large = codec.encode(photo_odd, fewer), codec.encode(photo_odd, more)
    assert len(small) < len(large)
    decoded = codec.reconstruct(large, photo_odd.shape[1], photo_odd.shape[0])
    assert decoded.shape == photo_odd.shape and decoded.dtype == np.uint8
    assert psnr(photo_odd, decoded) > 25
    assert psnr(photo_odd, codec.reconstruct(small, photo_odd.shape[1], photo_odd.shape[0])) < psnr(photo_odd, decoded)


@pytest.mark.parametrize("name", BUILTIN)
def test_every_builtin_row_states_version_chroma_and_settings(name):
    codec = _usable(name)
    assert codec.kind == "builtin"
    assert codec.chroma in ("420", "444")
    assert codec.settings()["chroma"] == codec.chroma
    assert codec.version()


def test_jpeg_variants_differ_only_in_chroma_subsampling(photo):
    jpeg, jpeg444 = get_codec("jpeg"), get_codec("jpeg444")
    assert len(jpeg444.encode(photo, 75)) > len(jpeg.encode(photo, 75))
    assert jpeg.settings() | {"chroma": "444"} == jpeg444.settings()


def test_listing_shows_every_registered_codec_without_crashing():
    rows = {codec.name: codec.describe() for codec in list_codecs()}
    assert set(REGISTRY) <= set(rows)
    assert {"cwebp", "vtm", "bpg"} <= set(rows)
    for row in rows.values():
        assert row["status"] == "available" or row["status"].startswith("unavailable: ")


def test_unknown_codec_names_the_known_ones():
    with pytest.raises(CodecUnavailable, match="known codecs: jpeg"):
        get_codec("nonesuch")


def test_a_registered_codec_whose_module_is_missing_is_listed_unavailable_with_the_import_error(monkeypatch):
    monkeypatch.setitem(REGISTRY, "ghost", "pico.codecs.ghost_module.Ghost")
    rows = {codec.name: codec.describe() for codec in list_codecs()}
    assert rows["ghost"]["status"].startswith("unavailable:")
    assert "ghost_module" in rows["ghost"]["status"]


def test_listing_codecs_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys; from pico.codecs import list_codecs; import pico; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
