"""Encode here, decode in a fresh process with other thread and batch settings: same latents, same pixels."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from pico.learned import bitstream, tiling
from pico.learned.codec import decode_image, decode_symbols, encode_image

HELPER = Path(__file__).parent / "_decode_elsewhere.py"
ROOT = Path(__file__).parents[3]


def test_a_file_decodes_identically_in_a_fresh_process_with_one_thread(tiny_model, photo, tmp_path):
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        data = encode_image(tiny_model, "tiny", photo, 6, core=56, batch_tiles=4)
        here = decode_image(tiny_model, "tiny", data, batch_tiles=4)
        header, chunks = bitstream.unpack(data)
        symbols = decode_symbols(
            tiny_model, header, chunks, tiling.boxes(header.height, header.width, header.tile_core)
        )
    finally:
        torch.set_num_threads(before)
    (tmp_path / "f.pico").write_bytes(data)
    subprocess.run(
        [sys.executable, str(HELPER), str(tmp_path / "f.pico"), str(tmp_path / "out.npz"), "1"],
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    there = np.load(tmp_path / "out.npz")
    assert np.array_equal(there["y"], np.concatenate([s[1].ravel() for s in symbols]))
    assert np.array_equal(there["z"], np.concatenate([s[0].ravel() for s in symbols]))
    assert np.array_equal(there["pixels"], here)


def test_encoding_does_not_depend_on_the_tile_batch_size(tiny_model, photo):
    one = encode_image(tiny_model, "tiny", photo, 1, core=56, batch_tiles=1)
    many = encode_image(tiny_model, "tiny", photo, 1, core=56, batch_tiles=6)
    assert one == many


def test_decoded_latents_equal_the_encoded_ones(tiny_model, photo):
    image = np.ascontiguousarray(photo[:56, :56])
    tile = tiling.pad_image(image, tiling.boxes(56, 56, 56))
    x = torch.from_numpy(np.ascontiguousarray(tile)).permute(2, 0, 1)[None].float() / 255
    expected = tiny_model.compress(x, 3)
    data = encode_image(tiny_model, "tiny", image, 3, core=56)
    header, chunks = bitstream.unpack(data)
    ((z, y),) = decode_symbols(tiny_model, header, chunks, tiling.boxes(56, 56, 56))
    assert np.array_equal(z, expected["z"][0].numpy())
    assert np.array_equal(y, expected["y"][0].numpy())
