"""Tile geometry and seams."""

import numpy as np
import pytest

from pico.learned import tiling
from pico.learned.codec import decode_image, encode_image


@pytest.mark.parametrize(("height", "width", "core"), [(5, 7, 56), (56, 56, 56), (57, 130, 56), (300, 200, 120)])
def test_tiles_placed_back_rebuild_the_image(height, width, core):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    rows, cols = tiling.grid(height, width, core)
    out = np.zeros_like(image)
    for i, tile in enumerate(tiling.tiles(tiling.pad_image(image, core), core, rows, cols)):
        assert tile.shape == (core + 8, core + 8, 3)
        tiling.place(out, tile, i, core, cols)
    assert np.array_equal(out, image)


def test_each_tile_carries_a_margin_of_its_neighbours_pixels():
    image = np.arange(120 * 120 * 3, dtype=np.int64).reshape(120, 120, 3).astype(np.uint16)
    core = 56
    second = list(tiling.tiles(tiling.pad_image(image, core), core, 3, 3))[1]
    # Left margin of tile (0, 1) is the last 4 columns of tile (0, 0)'s core.
    assert np.array_equal(second[4:60, :4], image[0:56, 52:56])


def test_default_tiles_are_504_padded_to_512():
    assert tiling.choose_core(3000, 4000) == 504
    assert tiling.choose_core(100, 60) == 120


def test_multi_tile_file_decodes_to_the_same_pixels_as_tiles_coded_alone(tiny_model, photo):
    """Tiles are independent: a 2x3 grid decodes each core exactly as coding that tile's region alone."""
    data = encode_image(tiny_model, "tiny", photo, 5, core=56)
    whole = decode_image(tiny_model, "tiny", data)
    assert whole.shape == photo.shape
    # The top-left tile, coded alone with its true right/bottom neighbours as margin.
    region = photo[:60, :60]
    alone = decode_image(tiny_model, "tiny", encode_image(tiny_model, "tiny", np.ascontiguousarray(region), 5, core=56))
    # Only the right/bottom 4-pixel margins differ (reflected instead of real neighbours),
    # which can change the decoded core; require most pixels identical.
    assert (alone[:56, :56] == whole[:56, :56]).mean() > 0.5
