"""Stage-1 rate-distortion loss: bits per pixel + λ[level] · (MSE and MS-SSIM mix), all levels at once."""

from __future__ import annotations

import math

import torch
from pytorch_msssim import ms_ssim

from pico.learned.model import ForwardOutput

# Four MS-SSIM scales (the standard weights renormalised) so 128-pixel training crops suffice.
MS_SSIM_WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363]


def level_lambdas(levels: int, lo: float, hi: float) -> torch.Tensor:
    """Log-spaced λ per quality level, ascending (higher level = more bits)."""
    return torch.exp(torch.linspace(math.log(lo), math.log(hi), levels))


def bpp(likelihoods: dict[str, torch.Tensor], num_pixels: int) -> torch.Tensor:
    """Per-image bits per pixel, (N,)."""
    bits = [-torch.log2(lik).flatten(1).sum(dim=1) for lik in likelihoods.values()]
    return torch.stack(bits).sum(dim=0) / num_pixels


def rate_distortion(
    out: ForwardOutput,
    x: torch.Tensor,
    level: torch.Tensor,
    lambdas: torch.Tensor,
    ms_ssim_weight: float,
    ms_ssim_scale: float,
) -> dict[str, torch.Tensor]:
    """Loss and its parts; distortion = (1-w)·255²·MSE + w·scale·(1 - MS-SSIM), per image."""
    x_hat = out["x_hat"]
    n, _, h, w = x.shape
    rate = bpp(out["likelihoods"], h * w)
    mse = ((x_hat - x) ** 2).flatten(1).mean(dim=1)
    msssim = ms_ssim(x_hat.clamp(0, 1), x, data_range=1.0, size_average=False, win_size=7, weights=MS_SSIM_WEIGHTS)
    dist = (1 - ms_ssim_weight) * 255.0**2 * mse + ms_ssim_weight * ms_ssim_scale * (1 - msssim)
    loss = (rate + lambdas[level] * dist).mean()
    return {"loss": loss, "bpp": rate.mean(), "mse": mse.mean(), "ms_ssim": msssim.mean()}
