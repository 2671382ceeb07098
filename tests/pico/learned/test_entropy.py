"""Integer scale decoder and frozen CDF tables."""

import copy

import numpy as np
import pytest
import torch

from pico.learned.entropy import NUM_SCALES, PROB_BITS, cdf_tables, scale_table

from .conftest import make_tiny_model


def test_every_integer_pmf_sums_to_two_to_the_16_and_gives_every_symbol_a_chance():
    pmfs, offsets, widths = cdf_tables(scale_table())
    for start, k in zip(offsets, widths, strict=True):
        pmf = pmfs[start : start + 2 * k + 1]
        assert pmf.sum() == 1 << PROB_BITS
        assert pmf.min() >= 1


def test_scale_indices_do_not_depend_on_batch_composition(tiny_model):
    z = torch.randint(-6, 7, (5, 4, 2, 3))
    batched = tiny_model.scale_indices(z, 3)
    singles = torch.cat([tiny_model.scale_indices(z[i : i + 1], 3) for i in range(5)])
    assert torch.equal(batched, singles)
    assert batched.min() >= 0 and batched.max() < NUM_SCALES


def test_scale_indices_do_not_depend_on_thread_count(tiny_model):
    z = torch.randint(-20, 21, (2, 4, 4, 4))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = tiny_model.scale_indices(z, 5)
        torch.set_num_threads(2)
        two = tiny_model.scale_indices(z, 5)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(one, two)


def test_integer_scale_path_agrees_with_the_fake_quantized_training_path():
    model = make_tiny_model(seed=3)
    z = torch.randint(-4, 5, (2, 4, 2, 2))
    level = torch.tensor([1, 6])
    with torch.no_grad():
        sigma = model.scale_decoder(z.float(), level)
    trained = torch.round(torch.log(sigma / scale_table()[0]) / np.log(scale_table()[1] / scale_table()[0])).long()
    exact = torch.cat([model.scale_indices(z[i : i + 1], int(level[i])) for i in range(2)])
    # Rounding modes differ (half-to-even vs half-up) and float32 vs int64: allow rare ±1.
    assert (trained - exact).abs().max() <= 1
    assert (trained == exact).float().mean() > 0.95


@pytest.mark.gpu
def test_scale_indices_on_the_gpu_equal_those_on_the_cpu(tiny_model):
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    gpu_model = copy.deepcopy(tiny_model).cuda()
    z = torch.randint(-20, 21, (3, 4, 4, 4))
    assert torch.equal(gpu_model.scale_indices(z.cuda(), 4).cpu(), tiny_model.scale_indices(z, 4))
