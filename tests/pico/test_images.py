"""References of every kind become 8-bit RGB with a note, or are refused with a message that says what to do."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pico.images import ImageRefused, find_images, load_reference


def test_16_bit_grayscale_is_rounded_to_8_bits_with_a_note(tmp_path):
    ramp = (np.arange(64 * 32, dtype=np.uint16).reshape(32, 64) * 30).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    reference = load_reference(tmp_path / "deep.png")
    assert reference.pixels.shape == (32, 64, 3) and reference.pixels.dtype == np.uint8
    assert any("16-bit" in note for note in reference.notes)
    assert any("grayscale" in note for note in reference.notes)
    assert reference.pixels[-1, -1, 0] == round(int(ramp[-1, -1]) * 255 / 65535)


def test_transparency_is_refused_with_how_to_flatten(tmp_path):
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., 3] = 128
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    with pytest.raises(ImageRefused, match="has transparency.*flatten"):
        load_reference(tmp_path / "alpha.png")


def test_an_opaque_alpha_channel_is_dropped_with_a_note(tmp_path, photo):
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "opaque.png")
    reference = load_reference(tmp_path / "opaque.png")
    assert np.array_equal(reference.pixels, photo)
    assert any("alpha" in note for note in reference.notes)


def test_cmyk_is_converted_with_a_note(tmp_path, photo):
    Image.fromarray(photo).convert("CMYK").save(tmp_path / "print.jpg", quality=95)
    reference = load_reference(tmp_path / "print.jpg")
    assert reference.pixels.shape == photo.shape
    assert any("CMYK" in note for note in reference.notes)


def test_exif_orientation_is_applied(tmp_path, photo):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(photo).save(tmp_path / "turned.jpg", exif=exif, quality=95)
    reference = load_reference(tmp_path / "turned.jpg")
    assert reference.pixels.shape == (photo.shape[1], photo.shape[0], 3)
    assert any("EXIF orientation 6" in note for note in reference.notes)


def test_plain_rgb_needs_no_notes(tmp_path, photo):
    Image.fromarray(photo).save(tmp_path / "plain.png")
    reference = load_reference(tmp_path / "plain.png")
    assert reference.notes == [] and np.array_equal(reference.pixels, photo)


def test_an_unreadable_file_is_refused_naming_it(tmp_path):
    (tmp_path / "junk.png").write_bytes(b"junk")
    with pytest.raises(ImageRefused, match="junk.png: Pillow cannot read it"):
        load_reference(tmp_path / "junk.png")


def test_images_with_the_same_name_in_two_folders_are_refused(tmp_path, photo):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        Image.fromarray(photo).save(tmp_path / folder / "same.png")
    with pytest.raises(ImageRefused, match="share the name 'same'"):
        find_images([tmp_path / "a", tmp_path / "b"])


@pytest.mark.slow
def test_a_12_megapixel_reference_goes_through_a_codec_and_the_metrics(make_photo):
    from pico.codecs import get_codec
    from pico.metrics import all_metrics

    tile = make_photo(500, 500, seed=9)
    big = np.tile(tile, (6, 8, 1))[:3000, :4000]
    codec = get_codec("jpeg")
    decoded = codec.reconstruct(codec.encode(big, 75), 4000, 3000)
    scores = all_metrics(big, decoded)
    assert decoded.shape == (3000, 4000, 3)
    assert 25 < scores["psnr"] < 60 and 0 < scores["ssimulacra2"] < 100
