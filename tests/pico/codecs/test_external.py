"""External codecs defined only by TOML recipes: Debian command-line encoders through pico's mechanism."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from pico.codecs import get_codec
from pico.codecs.external import ExternalCodec, load_recipe
from pico.codecs.yuv import YuvFormat, planes_to_rgb, planes_to_y4m, rgb_to_planes, y4m_to_planes
from pico.errors import CodecFailed, RecipeError
from pico.metrics import psnr

needs = pytest.mark.skipif


@needs(not shutil.which("cwebp"), reason="cwebp not installed (apt-get install webp)")
def test_cwebp_recipe_writes_the_same_bytes_as_the_builtin_webp_row(photo):
    external, builtin = get_codec("cwebp"), get_codec("webp")
    assert external.kind == "external"
    for quality in (20, 50.5, 80):
        assert external.encode(photo, quality) == builtin.encode(photo, quality)
    data = external.encode(photo, 60)
    assert np.array_equal(external.reconstruct(data, photo.shape[1], photo.shape[0]), builtin.decode(data))


@needs(not shutil.which("cjxl"), reason="cjxl not installed (apt-get install libjxl-tools)")
def test_cjxl_recipe_round_trips_at_a_real_valued_parameter(photo):
    codec = get_codec("cjxl")
    data = codec.encode(photo, 1.5)
    assert psnr(photo, codec.reconstruct(data, photo.shape[1], photo.shape[0])) > 30


@needs(not shutil.which("/usr/bin/ffmpeg"), reason="ffmpeg not installed (apt-get install ffmpeg)")
def test_y4m_recipe_crops_the_padding_of_odd_sizes(photo_odd):
    codec = get_codec("x265")
    decoded = codec.reconstruct(codec.encode(photo_odd, 20), photo_odd.shape[1], photo_odd.shape[0])
    assert decoded.shape == photo_odd.shape
    assert psnr(photo_odd, decoded) > 30


def _recipe(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "fake.toml"
    path.write_text(body)
    return path


RAW_COPY = """
name = "fake"
param_range = [0, 10]
version = "1"
extension = "yuv"
timeout_s = {timeout}

[input]
format = "yuv"
chroma = "444"
bit_depth = 10
matrix = "bt709"
range = "limited"

[output]
format = "yuv"

[command]
encode = {encode}
decode = ["cp", "{{input}}", "{{output}}"]
"""


def test_raw_yuv_444_10_bit_limited_range_round_trips_through_a_copying_codec(tmp_path, photo_odd):
    codec = load_recipe(_recipe(tmp_path, RAW_COPY.format(timeout=30, encode='["cp", "{input}", "{output}"]')))
    data = codec.encode(photo_odd, 5)
    assert len(data) == photo_odd.shape[0] * photo_odd.shape[1] * 3 * 2
    decoded = codec.reconstruct(data, photo_odd.shape[1], photo_odd.shape[0])
    assert np.abs(decoded.astype(int) - photo_odd).max() <= 1


def test_an_encoder_that_hangs_is_stopped_at_the_recipe_timeout(tmp_path, photo):
    codec = load_recipe(_recipe(tmp_path, RAW_COPY.format(timeout=1, encode='["sleep", "5"]')))
    with pytest.raises(CodecFailed, match="timed out after 1 s"):
        codec.encode(photo, 5)


def test_an_encoder_that_fails_is_quoted(tmp_path, photo):
    codec = load_recipe(_recipe(tmp_path, RAW_COPY.format(timeout=5, encode='["sh", "-c", "echo broken >&2; exit 3"]')))
    with pytest.raises(CodecFailed, match="status 3:\nbroken"):
        codec.encode(photo, 5)


def test_a_missing_program_makes_the_recipe_unavailable_with_the_fix(tmp_path):
    codec = load_recipe(_recipe(tmp_path, RAW_COPY.format(timeout=5, encode='["no-such-encoder", "{input}"]')))
    assert "program 'no-such-encoder' not found on PATH" in codec.available()


REFERENCE_RECIPES = ["vtm", "ecm", "vvenc", "avm", "jpegai", "bpg"]


def test_shipped_reference_recipes_load_and_say_what_to_install(tmp_path, monkeypatch):
    codecs = [codec for codec in map(get_codec, REFERENCE_RECIPES) if isinstance(codec, ExternalCodec)]
    assert [(c.name, c.kind) for c in codecs] == [(name, "external") for name in REFERENCE_RECIPES]
    # A machine without any reference software: an empty PATH and none of the recipes' variables.
    monkeypatch.setenv("PATH", str(tmp_path))
    for codec in codecs:
        for variable in codec.requires_env:
            monkeypatch.delenv(variable, raising=False)
    reasons = {codec.name: (codec.available(), codec.fix) for codec in codecs}
    unexplained = {
        name: reason
        for name, (reason, fix) in reasons.items()
        if reason is None or fix not in reason or not ("not set" in reason or "not found on PATH" in reason)
    }
    assert not unexplained


def test_a_recipe_without_commands_is_refused_naming_the_file(tmp_path):
    with pytest.raises(RecipeError, match="fake.toml"):
        load_recipe(_recipe(tmp_path, 'name = "fake"\nparam_range = [0, 1]\n'))


def test_a_recipe_with_an_unknown_format_is_refused(tmp_path):
    body = RAW_COPY.format(timeout=5, encode='["cp", "{input}", "{output}"]').replace(
        'format = "yuv"', 'format = "bmp"', 1
    )
    with pytest.raises(RecipeError, match="format must be one of png, yuv, y4m"):
        load_recipe(_recipe(tmp_path, body))


@pytest.mark.parametrize("fmt", [YuvFormat("420", 8, "bt709", True), YuvFormat("444", 10, "bt601", False)])
def test_y4m_files_round_trip(fmt, photo):
    planes = rgb_to_planes(photo, fmt)
    again = y4m_to_planes(planes_to_y4m(planes, fmt), fmt)
    assert all(np.array_equal(a, b) for a, b in zip(planes, again, strict=True))
    assert planes_to_rgb(again, fmt).shape == photo.shape
