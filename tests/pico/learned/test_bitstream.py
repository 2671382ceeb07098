"""The .pico container and the range-coded tile chunks."""

import numpy as np
import pytest

from pico.errors import BitstreamError
from pico.learned import bitstream
from pico.learned.bitstream import ChunkReader, ChunkWriter, Header, Tables
from pico.learned.codec import decode_image, encode_image
from pico.learned.entropy import cdf_tables, scale_table

HEADER = Header("tiny-000", width=100, height=60, level=3, tile_core=56, tile_margin=4, rows=2, cols=2)


def test_header_and_chunks_round_trip():
    data = bitstream.pack(HEADER, [b"\0\0\0\0a", b"\0\0\0\0", b"\0\0\0\0bb", b"\0\0\0\0c"])
    header, chunks = bitstream.unpack(data, expected_model_id="tiny-000")
    assert header == HEADER
    assert chunks[2] == b"\0\0\0\0bb"


def test_symbols_round_trip_including_escapes():
    pmfs, offsets, widths = cdf_tables(scale_table())
    tables = Tables(pmfs, offsets, widths)
    rng = np.random.default_rng(0)
    groups = [(i, rng.integers(-3 * int(widths[i]), 3 * int(widths[i]) + 1, size=50)) for i in (0, 10, 63)]
    writer = ChunkWriter()
    for i, values in groups:
        writer.write(values, tables, i)
    reader = ChunkReader(writer.finish())
    for i, values in groups:
        assert np.array_equal(reader.read(values.size, tables, i), values)
    reader.check_done()


def test_a_decoder_with_other_weights_refuses_the_file(tiny_model, photo):
    data = encode_image(tiny_model, "tiny-aaa", photo, 2)
    with pytest.raises(BitstreamError, match="tiny-aaa"):
        decode_image(tiny_model, "tiny-bbb", data)


def test_another_format_version_is_refused(tiny_model, photo):
    data = bytearray(encode_image(tiny_model, "tiny", photo, 2))
    data[4] = bitstream.FORMAT_VERSION + 1
    with pytest.raises(BitstreamError, match="format version"):
        decode_image(tiny_model, "tiny", bytes(data))


def test_not_a_pico_file_is_refused(tiny_model):
    with pytest.raises(BitstreamError, match="magic"):
        decode_image(tiny_model, "tiny", b"\x89PNG\r\n\x1a\n" + bytes(100))


@pytest.mark.parametrize("keep", [0, 3, 5, 12, 30, -1])
def test_truncated_files_raise_a_clear_error(tiny_model, photo, keep):
    data = encode_image(tiny_model, "tiny", photo, 4)
    with pytest.raises(BitstreamError):
        decode_image(tiny_model, "tiny", data[:keep])


def test_every_flipped_byte_is_detected(tiny_model, photo):
    data = encode_image(tiny_model, "tiny", photo, 4)
    for pos in range(0, len(data), max(1, len(data) // 40)):
        bad = bytearray(data)
        bad[pos] ^= 0x5A
        with pytest.raises(BitstreamError):
            decode_image(tiny_model, "tiny", bytes(bad))


def test_bpp_counts_the_file_bytes(tiny_model, photo):
    data = encode_image(tiny_model, "tiny", photo, 4)
    header, chunks = bitstream.unpack(data)
    assert len(data) == 6 + len("tiny") + 16 + 4 + sum(4 + len(c) for c in chunks)


def test_a_header_whose_tile_grid_does_not_cover_the_image_is_refused():
    bad = Header("tiny", width=100, height=60, level=0, tile_core=56, tile_margin=4, rows=1, cols=1)
    with pytest.raises(BitstreamError, match="inconsistent header"):
        bitstream.unpack(bitstream.pack(bad, [b"\0\0\0\0"]))
