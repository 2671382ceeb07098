"""Building blocks: ConvScale (convolution with learned input/output scales) and Haar resampling.

PICO (section 3.1) resamples only with the 2D Haar wavelet transform and uses convolutions whose
per-channel input and output scales are learned in training and folded into the weights for
inference, so the deployed network is a plain stack of convolutions.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def haar_down(x: torch.Tensor) -> torch.Tensor:
    """Orthonormal 2D Haar analysis: (N, C, H, W) -> (N, 4C, H/2, W/2), subbands LL, LH, HL, HH."""
    # pixel_unshuffle gathers the 2x2 polyphase components contiguously (fast, and traceable).
    a, b, c, d = F.pixel_unshuffle(x, 2).unflatten(1, (-1, 4)).unbind(2)
    ll = (a + b + c + d) * 0.5
    lh = (a - b + c - d) * 0.5
    hl = (a + b - c - d) * 0.5
    hh = (a - b - c + d) * 0.5
    return torch.cat([ll, lh, hl, hh], dim=1)


def haar_up(x: torch.Tensor, gain: float = 0.5) -> torch.Tensor:
    """Haar synthesis, the inverse of :func:`haar_down`: (N, 4C, H, W) -> (N, C, 2H, 2W).

    ``gain=0.5`` is the orthonormal inverse; the integer scale path uses ``gain=1`` (exact sums
    of integers) and folds the factor 1/2 into the next layer's requantization multiplier.
    """
    ll, lh, hl, hh = torch.chunk(x, 4, dim=1)
    a = ll + lh + hl + hh
    b = ll - lh + hl - hh
    c = ll + lh - hl - hh
    d = ll - lh - hl + hh
    if gain != 1.0:  # keeps integer tensors integer on the scale path
        a, b, c, d = a * gain, b * gain, c * gain, d * gain
    # pixel_shuffle instead of reshapes with explicit sizes: traces without shape arithmetic,
    # which coremltools cannot convert.
    return F.pixel_shuffle(torch.stack([a, b, c, d], dim=2).flatten(1, 2), 2)


def conv_bias(conv: nn.Conv2d) -> torch.Tensor:
    """The bias of a convolution built with one (``nn.Conv2d.bias`` is typed as optional)."""
    if conv.bias is None:
        raise ValueError(f"{conv} was built without a bias")
    return conv.bias


class ConvScale(nn.Module):
    """3x3 (or kxk) convolution with learned per-channel input and output scales.

    Training: ``y = s_out * conv(s_in * x) + b``; the scales let a plain (not normalised) stack of
    convolutions train stably. Inference: :meth:`fold` returns an ``nn.Conv2d`` with the scales
    multiplied into its weights and bias, so they cost nothing at run time.
    """

    def __init__(self, c_in: int, c_out: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.conv = nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2)
        # He initialisation keeps the activation scale through the deep, unnormalised stack
        # (PyTorch's default shrinks it ~3x per layer, which starves early layers of gradient).
        nn.init.kaiming_normal_(self.conv.weight, nonlinearity="relu")
        nn.init.zeros_(conv_bias(self.conv))
        self.log_s_in = nn.Parameter(torch.zeros(c_in))
        self.log_s_out = nn.Parameter(torch.zeros(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s_in = self.log_s_in.exp().view(1, -1, 1, 1)
        s_out = self.log_s_out.exp().view(1, -1, 1, 1)
        return F.conv2d(x * s_in, self.conv.weight, None, padding=self.conv.padding) * s_out + conv_bias(
            self.conv
        ).view(1, -1, 1, 1)

    def folded_weight_bias(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Weight and bias with both scales multiplied in."""
        s_in = self.log_s_in.exp().view(1, -1, 1, 1)
        s_out = self.log_s_out.exp().view(-1, 1, 1, 1)
        return self.conv.weight * s_in * s_out, conv_bias(self.conv)

    def fold(self) -> nn.Conv2d:
        """A plain convolution computing the same function, for inference and export."""
        conv = nn.Conv2d(self.conv.in_channels, self.conv.out_channels, self.kernel_size, padding=self.kernel_size // 2)
        w, b = self.folded_weight_bias()
        with torch.no_grad():
            conv.weight.copy_(w)
            conv_bias(conv).copy_(b)
        return conv


class HaarDown(nn.Module):
    """Module wrapper of :func:`haar_down` (so it shows up in traced graphs)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return haar_down(x)


class HaarUp(nn.Module):
    """Module wrapper of :func:`haar_up`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return haar_up(x)


def fold_scales(module: nn.Module) -> nn.Module:
    """Replace every :class:`ConvScale` inside ``module`` by its folded ``nn.Conv2d`` (in place)."""
    for name, child in module.named_children():
        if isinstance(child, ConvScale):
            setattr(module, name, child.fold())
        else:
            fold_scales(child)
    return module
