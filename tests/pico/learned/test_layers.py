"""Haar resampling and ConvScale folding."""

import torch

from pico.learned.layers import ConvScale, fold_scales, haar_down, haar_up


def test_haar_up_inverts_haar_down():
    x = torch.rand(2, 3, 16, 24)
    assert torch.allclose(haar_up(haar_down(x)), x, atol=1e-6)


def test_haar_down_is_orthonormal():
    x = torch.rand(1, 2, 8, 8)
    assert torch.allclose(haar_down(x).pow(2).sum(), x.pow(2).sum(), rtol=1e-5)


def test_integer_haar_up_stays_integer_and_equals_twice_the_orthonormal_inverse():
    a = torch.randint(0, 256, (1, 8, 4, 4))
    up = haar_up(a, gain=1.0)
    assert up.dtype == torch.int64
    assert torch.equal(up.double(), 2 * haar_up(a.double()))


def test_folded_convscale_computes_the_same_function():
    torch.manual_seed(0)
    layer = ConvScale(4, 6)
    with torch.no_grad():
        layer.log_s_in.normal_()
        layer.log_s_out.normal_()
    x = torch.rand(1, 4, 9, 9)
    net = torch.nn.Sequential(layer)
    expected = net(x)
    fold_scales(net)
    assert isinstance(net[0], torch.nn.Conv2d)
    assert torch.allclose(net(x), expected, atol=1e-5)
