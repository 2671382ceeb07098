"""Tile geometry and seams."""

import numpy as np
import pytest

from pico.learned import tiling
from pico.learned.codec import decode_image, encode_image


@pytest.mark.parametrize(("height", "width", "core"), [(5, 7, 56), (56, 56, 56), (57, 130, 56), (300, 200, 120)])
def test_tiles_placed_back_rebuild_the_image(height, width, core):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    boxes = tiling.boxes(height, width, core)
    out = np.zeros_like(image)
    for box, tile in zip(boxes, tiling.tiles(tiling.pad_image(image, boxes), boxes), strict=True):
        assert tile.shape[0] % 64 == 0 and tile.shape[1] % 64 == 0
        assert tile.shape[0] <= core + 8 and tile.shape[1] <= core + 8
        tiling.place(out, tile, box)
    assert np.array_equal(out, image)


def test_each_tile_carries_a_margin_of_its_neighbours_pixels():
    image = np.arange(120 * 120 * 3, dtype=np.int64).reshape(120, 120, 3).astype(np.uint16)
    core = 56
    boxes = tiling.boxes(120, 120, core)
    second = list(tiling.tiles(tiling.pad_image(image, boxes), boxes))[1]
    # Left margin of tile (0, 1) is the last 4 columns of tile (0, 0)'s core; its top is the image border.
    assert np.array_equal(second[:56, :4], image[:56, 52:56])
    assert np.array_equal(second[:56, 4:60], image[:56, 56:112])


def test_interior_tiles_are_504_padded_to_512_and_small_images_are_one_small_tile():
    boxes = tiling.boxes(3000, 4000, 504)
    assert (boxes[9].coded_height, boxes[9].coded_width, boxes[9].top, boxes[9].left) == (512, 512, 4, 4)
    assert [(b.coded_height, b.coded_width) for b in tiling.boxes(100, 60, 504)] == [(128, 64)]


def test_edge_tiles_shrink_so_padding_stays_small():
    boxes = tiling.boxes(525, 840, 504)
    coded = sum(b.coded_height * b.coded_width for b in boxes)
    assert [(b.coded_height, b.coded_width) for b in boxes] == [(512, 512), (512, 384), (64, 512), (64, 384)]
    assert coded < 1.2 * 525 * 840


def test_tiles_of_equal_shape_are_batched_together():
    boxes = tiling.boxes(1100, 1100, 504)
    batches = tiling.batches(boxes, 4)
    assert sorted(i for b in batches for i in b) == list(range(len(boxes)))
    for b in batches:
        assert len({(boxes[i].coded_height, boxes[i].coded_width) for i in b}) == 1


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
