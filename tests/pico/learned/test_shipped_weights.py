"""The released weights load, and the registered codec `pico` uses them end to end."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pico.codecs import get_codec, list_codecs
from pico.learned import zoo
from pico.metrics import psnr

from .conftest import DATA

ROOT = Path(__file__).parents[3]
pytestmark = pytest.mark.skipif(
    not zoo.DEFAULT_WEIGHTS.is_file(), reason="shipped weights missing (see weights/README.md)"
)


@pytest.fixture(scope="module")
def image():
    from PIL import Image

    return np.asarray(Image.open(DATA / "bridge-256.png").convert("RGB"))


def test_shipped_weights_are_small_enough_to_version():
    assert zoo.DEFAULT_WEIGHTS.stat().st_size <= 40 * 2**20


def test_pico_is_listed_as_an_available_learned_codec():
    row = next(c for c in list_codecs() if c.name == "pico").describe()
    assert row["kind"] == "learned"
    assert row["status"] == "available"
    assert row["version"].startswith("pico-small-")


def test_shipped_weights_decode_a_held_out_crop_to_reasonable_quality(image):
    codec = get_codec("pico")
    top = codec.reconstruct(codec.encode(image, 7), image.shape[1], image.shape[0])
    assert psnr(image, top) > 28.0


def test_bits_grow_with_the_quality_level(image):
    codec = get_codec("pico")
    sizes = [len(codec.encode(image, level)) for level in range(8)]
    assert sizes == sorted(sizes)
    assert sizes[-1] > 3 * sizes[0]


def test_tile_seams_are_not_worse_than_tile_interiors(image):
    """Decode with 56-pixel tiles: error on the pixels next to a seam stays close to the error elsewhere."""
    from pico.learned.codec import decode_image, encode_image

    model, model_id = zoo.load(str(zoo.DEFAULT_WEIGHTS))
    out = decode_image(model, model_id, encode_image(model, model_id, image, 6, core=56)).astype(float)
    err = np.abs(out - image).mean(axis=2)
    seam = np.zeros(err.shape, dtype=bool)
    for k in range(56, max(err.shape), 56):
        seam[k - 1 : k + 1, :] = True
        seam[:, k - 1 : k + 1] = True
    assert err[seam].mean() < 1.5 * err[~seam].mean()


def test_a_file_written_in_one_process_decodes_to_the_same_pixels_in_another(image, tmp_path):
    codec = get_codec("pico")
    data = codec.encode(image, 5)
    here = codec.decode(data)
    (tmp_path / "a.pico").write_bytes(data)
    code = (
        "import sys, numpy as np, torch; torch.set_num_threads(1); from pico.codecs import get_codec; "
        "np.save(sys.argv[2], get_codec('pico').decode(open(sys.argv[1], 'rb').read()))"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "a.pico"), str(tmp_path / "b.npy")],
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert np.array_equal(np.load(tmp_path / "b.npy"), here)
