"""Rate control hits targets within ±2% (or the codec's granularity) in few encodes, and says when it cannot."""

from __future__ import annotations

import math

import pytest

from pico.codecs import get_codec
from pico.codecs.base import Codec
from pico.ratecontrol import find_param, matched_targets


@pytest.mark.parametrize("name", ["jpeg", "webp", "jp2", "jxl"])
@pytest.mark.parametrize("target", [0.3, 0.6, 1.2])
def test_it_lands_within_tolerance_or_granularity(name, target, photo):
    result = find_param(get_codec(name), photo, target)
    assert result.status == "ok", result.reason
    assert abs(result.error) <= result.tolerance + 1e-9
    assert result.bpp == pytest.approx(8 * len(result.data) / (photo.shape[0] * photo.shape[1]))
    assert result.n_encodes <= 8


def test_a_finely_steerable_codec_meets_two_percent(photo):
    for target in (0.2, 0.5, 0.9):
        result = find_param(get_codec("jxl"), photo, target)
        assert abs(result.error) <= 0.02
        assert result.tolerance == 0.02


def test_a_target_below_the_codecs_floor_is_reported_unreachable(photo):
    result = find_param(get_codec("jpeg"), photo, 0.01)
    assert result.status == "unreachable"
    assert "below the fewest bits jpeg reaches" in result.reason
    assert result.param == 1.0


def test_a_target_above_the_codecs_ceiling_is_reported_unreachable(photo):
    result = find_param(get_codec("jxl"), photo, 30.0)
    assert result.status == "unreachable"
    assert "above the most bits" in result.reason


class StepCodec(Codec):
    """A fake integer codec whose size doubles every 10 units: a known rate curve."""

    name = "step"
    param_range = (0.0, 100.0)
    param_integer = True

    def __init__(self) -> None:
        self.calls = 0

    def version(self) -> str:
        return "1"

    def encode(self, image, param):
        self.calls += 1
        return b"x" * int(round(100 * 2 ** (param / 10)))


def test_it_uses_the_rate_curve_not_blind_bisection(photo):
    codec = StepCodec()
    pixels = photo.shape[0] * photo.shape[1]
    target = 8 * 100 * 2**6.35 / pixels  # between param 63 and 64
    result = find_param(codec, photo, target)
    assert result.status == "ok"
    assert result.param in (63.0, 64.0)
    assert codec.calls <= 5  # bisection over 0..100 needs 7
    assert result.tolerance > 0.02  # one integer step is 7%: the granularity, not 2%, is the tolerance


def test_it_refuses_a_non_positive_target(photo):
    with pytest.raises(ValueError, match="positive"):
        find_param(get_codec("jpeg"), photo, 0)


def test_matched_mode_targets_what_another_codec_achieved_per_image_by_level():
    rows = [
        {"image": "a", "codec": "pico", "level": 1, "bpp": 0.4},
        {"image": "a", "codec": "pico", "level": 0, "bpp": 0.2},
        {"image": "b", "codec": "pico", "level": 0, "bpp": 0.25},
        {"image": "a", "codec": "jpeg", "level": 0, "bpp": 0.9},
    ]
    assert matched_targets(rows, "pico") == {"a": [0.2, 0.4], "b": [0.25]}
    assert not math.isnan(sum(matched_targets(rows, "pico")["a"]))


class SaturatingCodec(StepCodec):
    """A fake codec whose rate stops growing above param 30, as codecs do on very simple images."""

    name = "saturating"

    def encode(self, image, param):
        self.calls += 1
        return b"x" * int(round(100 * 2 ** (min(param, 30) / 10)))


def test_a_rate_that_saturates_below_the_target_is_reported_unreachable(photo):
    codec = SaturatingCodec()
    pixels = photo.shape[0] * photo.shape[1]
    result = find_param(codec, photo, 8 * 100 * 2**5 / pixels)
    assert result.status == "unreachable"
    assert "below" in result.reason or "above the most bits" in result.reason
    assert codec.calls <= 12
