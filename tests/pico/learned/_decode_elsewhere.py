"""Helper run in a fresh process by test_determinism: decode a file with a given thread count."""

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from conftest import make_tiny_model  # noqa: E402

from pico.learned import bitstream, tiling  # noqa: E402
from pico.learned.codec import decode_image, decode_symbols  # noqa: E402

if __name__ == "__main__":
    src, dest, threads = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    model = make_tiny_model()
    data = src.read_bytes()
    header, chunks = bitstream.unpack(data)
    symbols = decode_symbols(model, header, chunks, tiling.boxes(header.height, header.width, header.tile_core))
    np.savez(
        dest,
        pixels=decode_image(model, "tiny", data, batch_tiles=1),
        y=np.concatenate([s[1].ravel() for s in symbols]),
        z=np.concatenate([s[0].ravel() for s in symbols]),
    )
