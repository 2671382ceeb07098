"""Entropy models: the integer scale decoder (σ), quantization width, and frozen integer CDF tables.

Determinism (PICO section 3.3): every number the entropy coder sees is an integer that encoder and
decoder derive identically on any machine, batch size or thread count:

* the scale decoder runs in fixed point (int8 weights, uint8 activations, int64 requantization with
  integer multipliers and shifts); its convolutions are evaluated in float64 on integer-valued
  tensors, which is exact (every partial sum stays far below 2**53) whatever the summation order;
* its output is an index into a fixed table of scales, and the CDF table of each scale is frozen
  into 16-bit integers by :meth:`ScaleDecoder.freeze` / :func:`cdf_tables` and stored with the
  weights, so no floating-point CDF is evaluated at coding time.

The location μ and the quantization width q (``context.py``) are floating point: they only move
reconstruction values, never which symbol the entropy coder reads.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from pico.learned.layers import haar_up

NUM_SCALES = 64
SCALE_MIN = 0.11
SCALE_MAX = 64.0
PROB_BITS = 16
LIKELIHOOD_FLOOR = 1e-9
MULT_BITS = 30  # requantization multipliers are < 2**31; with |acc| < 2**27 products fit in int64
ACT_MAX = 255
WEIGHT_MAX = 127
Z_CLAMP = 1024


def scale_table() -> np.ndarray:
    """The fixed, log-spaced table of entropy scales σ indexed by the scale decoder."""
    return np.exp(np.linspace(math.log(SCALE_MIN), math.log(SCALE_MAX), NUM_SCALES))


LOG_SCALE_STEP = (math.log(SCALE_MAX) - math.log(SCALE_MIN)) / (NUM_SCALES - 1)


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Round in the forward pass, identity gradient in the backward pass."""
    return x + (torch.round(x) - x).detach()


def gaussian_likelihood(v: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Probability mass of the integer bin [v-1/2, v+1/2] under N(0, σ²), floored for stable logs."""
    upper = 0.5 * torch.erfc(-(v + 0.5) / (sigma * math.sqrt(2.0)))
    lower = 0.5 * torch.erfc(-(v - 0.5) / (sigma * math.sqrt(2.0)))
    # Use the mirrored tail where it is more accurate (both tails are tiny differences of ~1).
    upper_m = 0.5 * torch.erfc((v - 0.5) / (sigma * math.sqrt(2.0)))
    lower_m = 0.5 * torch.erfc((v + 0.5) / (sigma * math.sqrt(2.0)))
    p = torch.where(v > 0, upper_m - lower_m, upper - lower)
    return p.clamp_min(LIKELIHOOD_FLOOR)


def quant_width(raw: torch.Tensor, q_min: float = 0.05) -> torch.Tensor:
    """Positive, input-adaptive quantization width q from the context decoder's raw output."""
    return q_min + F.softplus(raw)


def _integer_pmf(sigma: float, half_width: int) -> np.ndarray:
    """16-bit integer PMF over [-K, K] of a discretized N(0, σ²); the edge bins hold the tails."""
    from scipy.special import ndtr

    k = np.arange(-half_width, half_width + 1, dtype=np.float64)
    cdf_hi = ndtr((k + 0.5) / sigma)
    cdf_lo = ndtr((k - 0.5) / sigma)
    cdf_hi[-1] = 1.0
    cdf_lo[0] = 0.0
    p = cdf_hi - cdf_lo
    total = 1 << PROB_BITS
    counts = np.maximum(1, np.floor(p * (total - p.size)).astype(np.int64))
    counts[np.argmax(counts)] += total - counts.sum()
    return counts


def half_width_for(sigma: float) -> int:
    """Alphabet half-width K for scale σ; values at or beyond ±K are escape-coded."""
    return int(min(255, max(2, math.ceil(8.0 * sigma))))


def cdf_tables(sigmas: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenated integer PMFs for the given scales: (pmfs, offsets, half_widths), all int32."""
    pmfs, offsets, widths = [], [], []
    at = 0
    for s in sigmas:
        k = half_width_for(float(s))
        pmf = _integer_pmf(float(s), k)
        pmfs.append(pmf)
        offsets.append(at)
        widths.append(k)
        at += pmf.size
    return (
        np.concatenate(pmfs).astype(np.int32),
        np.asarray(offsets, dtype=np.int32),
        np.asarray(widths, dtype=np.int32),
    )


class FactorizedPrior(nn.Module):
    """Per-channel zero-mean discretized Gaussian prior of the hyper-latent z."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.full((channels,), math.log(2.0)))
        self.register_buffer("pmfs", torch.zeros(0, dtype=torch.int32))
        self.register_buffer("offsets", torch.zeros(0, dtype=torch.int32))
        self.register_buffer("half_widths", torch.zeros(0, dtype=torch.int32))

    def likelihood(self, z: torch.Tensor) -> torch.Tensor:
        """Likelihood of (noisy or rounded) z, shape (N, C, H, W)."""
        sigma = self.log_scale.exp().clamp(SCALE_MIN, SCALE_MAX).view(1, -1, 1, 1)
        return gaussian_likelihood(z, sigma)

    def update(self) -> None:
        """Freeze the per-channel integer CDF tables used by the entropy coder."""
        sig = self.log_scale.detach().exp().clamp(SCALE_MIN, SCALE_MAX).double().numpy()
        pmfs, offsets, widths = cdf_tables(sig)
        self.pmfs = torch.from_numpy(pmfs)
        self.offsets = torch.from_numpy(offsets)
        self.half_widths = torch.from_numpy(widths)


class _IntConv(nn.Module):
    """One fixed-point convolution of the scale decoder: int8 weights, per-level integer bias."""

    def __init__(self, c_in: int, c_out: int, levels: int, kernel_size: int = 3, act: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(c_out, c_in, kernel_size, kernel_size))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.bias = nn.Parameter(torch.zeros(levels, c_out))
        self.act = act
        # Output activation scale (uint8 grid step), learned as in LSQ.
        self.log_act_scale = nn.Parameter(torch.tensor(math.log(4.0 / ACT_MAX)))
        self.padding = kernel_size // 2
        self.register_buffer("w_int", torch.zeros(0, dtype=torch.int64))
        self.register_buffer("b_int", torch.zeros(0, dtype=torch.int64))
        self.register_buffer("mult", torch.zeros(0, dtype=torch.int64))
        self.register_buffer("shift", torch.zeros((), dtype=torch.int64))

    def weight_scale(self) -> torch.Tensor:
        """Per-output-channel int8 step."""
        return self.weight.detach().abs().amax(dim=(1, 2, 3)).clamp_min(1e-8) / WEIGHT_MAX

    def forward_train(self, a: torch.Tensor, s_in: float | torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        """Fake-quantized float path: ``a`` holds integer-valued activations of step ``s_in``."""
        s_w = self.weight_scale()
        w_q = round_ste(self.weight / s_w.view(-1, 1, 1, 1)).clamp(-WEIGHT_MAX, WEIGHT_MAX)
        step = s_in * s_w
        b_q = round_ste(self.bias[level] / step.view(1, -1))
        acc = F.conv2d(a, w_q, None, padding=self.padding) + b_q[:, :, None, None]
        out = acc * step.view(1, -1, 1, 1)
        if not self.act:
            return out
        return round_ste(F.relu(out) / self.log_act_scale.exp()).clamp(0, ACT_MAX)

    def freeze(self, s_in: float) -> float:
        """Store integer weights, biases and requantization multipliers; return the output step."""
        with torch.no_grad():
            s_w = self.weight_scale().double()
            self.w_int = torch.round(self.weight.double() / s_w.view(-1, 1, 1, 1)).clamp(-WEIGHT_MAX, WEIGHT_MAX).long()
            step = s_in * s_w
            self.b_int = torch.round(self.bias.double() / step.view(1, -1)).long()
            s_out = float(self.log_act_scale.exp()) if self.act else 1.0
            ratio = step / s_out
            self.shift = torch.tensor(MULT_BITS - math.ceil(math.log2(float(ratio.max())))).clamp(1, 62)
            self.mult = torch.round(ratio * 2.0 ** int(self.shift)).long()
        return s_out

    def forward_int(self, a: torch.Tensor, level: int) -> torch.Tensor:
        """Exact integer path; ``a`` is int64. float64 convolution of integers is exact here."""
        acc = F.conv2d(a.double(), self.w_int.double(), None, padding=self.padding)
        acc = torch.round(acc).long() + self.b_int[level].view(1, -1, 1, 1)
        shift = int(self.shift)
        out = (acc * self.mult.view(1, -1, 1, 1) + (1 << (shift - 1))) >> shift
        if self.act:
            return out.clamp(0, ACT_MAX)
        return out.clamp(0, NUM_SCALES - 1)


class ScaleDecoder(nn.Module):
    """Hyper-latent ẑ (integers) and quality level -> entropy scale index per latent, in one shot.

    ``ẑ -> IntConv -> ReLU/uint8 -> Haar⁻¹ -> IntConv -> ReLU/uint8 -> Haar⁻¹ -> IntConv -> index``.
    In training :meth:`forward` fake-quantizes with straight-through rounding; after :meth:`freeze`,
    :meth:`indices` computes the same network exactly in integers.
    """

    def __init__(self, z_channels: int, y_channels: int, hidden: int, levels: int) -> None:
        super().__init__()
        self.l1 = _IntConv(z_channels, 4 * hidden, levels)
        self.l2 = _IntConv(hidden, 4 * hidden, levels)
        self.l3 = _IntConv(hidden, y_channels, levels, act=False)
        # Start near the middle of the scale table.
        with torch.no_grad():
            self.l3.bias.fill_(NUM_SCALES / 3)

    def forward(self, z_hat: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        """Training path: differentiable σ with the index rounded straight-through."""
        a = self.l1.forward_train(z_hat, 1.0, level)
        s1 = self.l1.log_act_scale.exp()
        a = haar_up(a, gain=1.0)
        a = self.l2.forward_train(a, 0.5 * s1, level)
        s2 = self.l2.log_act_scale.exp()
        a = haar_up(a, gain=1.0)
        t = self.l3.forward_train(a, 0.5 * s2, level)
        t = round_ste(t).clamp(0, NUM_SCALES - 1)
        return SCALE_MIN * torch.exp(t * LOG_SCALE_STEP)

    def freeze(self) -> None:
        """Quantize weights, biases and multipliers to integers (call once after training)."""
        s1 = self.l1.freeze(1.0)
        s2 = self.l2.freeze(0.5 * s1)
        self.l3.freeze(0.5 * s2)

    @torch.no_grad()
    def indices(self, z_int: torch.Tensor, level: int) -> torch.Tensor:
        """Exact integer path: int64 ẑ (N, Cz, h, w) -> int64 scale indices (N, Cy, 4h, 4w)."""
        a = self.l1.forward_int(z_int.long().clamp(-Z_CLAMP, Z_CLAMP), level)
        a = haar_up(a, gain=1.0)
        a = self.l2.forward_int(a, level)
        a = haar_up(a, gain=1.0)
        return self.l3.forward_int(a, level)


class ScaleTables(nn.Module):
    """Frozen integer PMFs of the scale table, stored with the weights (see module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("pmfs", torch.zeros(0, dtype=torch.int32))
        self.register_buffer("offsets", torch.zeros(0, dtype=torch.int32))
        self.register_buffer("half_widths", torch.zeros(0, dtype=torch.int32))

    def update(self) -> None:
        """Compute the tables once; afterwards they are read, never recomputed."""
        pmfs, offsets, widths = cdf_tables(scale_table())
        self.pmfs = torch.from_numpy(pmfs)
        self.offsets = torch.from_numpy(offsets)
        self.half_widths = torch.from_numpy(widths)
