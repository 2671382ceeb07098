"""Every quality level codes and decodes; the level is read back from the file."""

import numpy as np
import pytest

from pico.learned import bitstream
from pico.learned.codec import decode_image, encode_image


@pytest.mark.parametrize("level", range(8))
def test_every_quality_level_round_trips(tiny_model, photo, level):
    data = encode_image(tiny_model, "tiny", photo, level)
    header, _ = bitstream.unpack(data)
    assert header.level == level
    assert (header.width, header.height) == (photo.shape[1], photo.shape[0])
    out = decode_image(tiny_model, "tiny", data)
    assert out.shape == photo.shape and out.dtype == np.uint8


def test_a_level_outside_the_model_is_refused(tiny_model, photo):
    with pytest.raises(ValueError, match="quality level 8"):
        encode_image(tiny_model, "tiny", photo, 8)
