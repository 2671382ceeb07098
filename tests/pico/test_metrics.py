"""Metrics agree with reference implementations and order distortions as expected."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pico.codecs import get_codec
from pico.metrics import ms_ssim, psnr, psnr_y, ssimulacra2


@pytest.fixture(scope="module")
def pair(make_photo):
    reference = make_photo(256, 192, seed=4)
    jpeg = get_codec("jpeg")
    return reference, jpeg.decode(jpeg.encode(reference, 40))


def test_identical_images_score_perfectly(pair):
    reference, _ = pair
    assert psnr(reference, reference) == math.inf
    assert psnr_y(reference, reference) == math.inf
    assert ms_ssim(reference, reference) == pytest.approx(1.0)
    assert ssimulacra2(reference, reference) == pytest.approx(100.0)


def test_psnr_matches_its_definition(pair):
    reference, distorted = pair
    mse = np.mean((reference.astype(float) - distorted) ** 2)
    assert psnr(reference, distorted) == pytest.approx(10 * np.log10(255**2 / mse))


def test_ms_ssim_matches_pytorch_msssim(pair):
    torch = pytest.importorskip("torch")
    from pytorch_msssim import ms_ssim as torch_ms_ssim

    reference, distorted = pair
    as_tensor = lambda a: torch.from_numpy(a.copy()).permute(2, 0, 1)[None].double()  # noqa: E731
    expected = torch_ms_ssim(as_tensor(reference), as_tensor(distorted), data_range=255).item()
    assert ms_ssim(reference, distorted) == pytest.approx(expected, abs=1e-5)


def test_ms_ssim_is_undefined_below_its_minimum_size(make_photo):
    small = make_photo(100, 100)
    assert math.isnan(ms_ssim(small, small))


def test_ssimulacra2_matches_the_pypi_port_on_square_images(tmp_path, make_photo):
    from PIL import Image
    from ssimulacra2 import compute_ssimulacra2

    reference = make_photo(256, 256, seed=7)
    jpeg = get_codec("jpeg")
    distorted = jpeg.decode(jpeg.encode(reference, 50))
    Image.fromarray(reference).save(tmp_path / "r.png")
    Image.fromarray(distorted).save(tmp_path / "d.png")
    # The port transposes the image (its x is our y), so compare on the transposed pair.
    ours = ssimulacra2(reference.transpose(1, 0, 2).copy(), distorted.transpose(1, 0, 2).copy())
    assert ours == pytest.approx(compute_ssimulacra2(tmp_path / "r.png", tmp_path / "d.png"), abs=0.05)


def test_scores_fall_as_quality_falls(make_photo):
    reference = make_photo(192, 192, seed=8)
    jpeg = get_codec("jpeg")
    good, bad = (jpeg.decode(jpeg.encode(reference, q)) for q in (90, 10))
    for metric in (psnr, psnr_y, ms_ssim, ssimulacra2):
        assert metric(reference, good) > metric(reference, bad), metric.__name__


def test_metrics_refuse_images_of_different_sizes(make_photo):
    with pytest.raises(ValueError, match="one size"):
        psnr(make_photo(64, 64), make_photo(64, 65))
