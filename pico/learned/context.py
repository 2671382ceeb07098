"""Context decoder: location μ and quantization width q, refined autoregressively on a 2x2 grid.

PICO section 3.2: the scale σ comes in one shot from the hyper-latent (``entropy.ScaleDecoder``),
so all symbols can be entropy-decoded before any network runs. Only μ and q are refined in four
passes; pass k sees the reconstructions of the latents decoded in passes 0..k-1::

    pass 0: (0,0) positions     pass 1: (1,1)     pass 2: (0,1)     pass 3: (1,0)
    ┌─┬─┐                       ┌─┬─┐             ┌─┬─┐             ┌─┬─┐
    │0│ │                       │0│ │             │0│2│             │0│2│
    ├─┼─┤                       ├─┼─┤             ├─┼─┤             ├─┼─┤
    │ │ │                       │ │1│             │ │1│             │3│1│
    └─┴─┘                       └─┴─┘             └─┴─┘             └─┴─┘
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from pico.learned.entropy import quant_width
from pico.learned.layers import ConvScale, conv_bias, haar_up

PASS_ORDER = ((0, 0), (1, 1), (0, 1), (1, 0))


def pass_masks(height: int, width: int, device: torch.device | None = None) -> torch.Tensor:
    """(4, 1, 1, H, W) float masks, one per pass, selecting that pass's positions on the 2x2 grid."""
    masks = torch.zeros(len(PASS_ORDER), 1, 1, height, width, device=device)
    for k, (dy, dx) in enumerate(PASS_ORDER):
        masks[k, :, :, dy::2, dx::2] = 1.0
    return masks


class ContextDecoder(nn.Module):
    """ẑ -> hyper features h (once), then per pass (h, decoded latents, mask) -> (μ, q)."""

    def __init__(self, z_channels: int, y_channels: int, hidden: int, levels: int) -> None:
        super().__init__()
        self.level_embedding = nn.Parameter(torch.zeros(levels, 4 * hidden))
        self.h1 = ConvScale(z_channels, 4 * hidden)
        self.h2 = ConvScale(hidden, 4 * hidden)
        self.c1 = ConvScale(hidden + y_channels + 1, hidden)
        self.c2 = ConvScale(hidden, 2 * y_channels, kernel_size=1)
        self.act = nn.GELU()
        with torch.no_grad():
            # q starts near 1 (softplus(0.54) ~ 1).
            conv_bias(self.c2.conv)[y_channels:].fill_(0.54)
        self.y_channels = y_channels

    def hyper(self, z_hat: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        """Hyper features at the latent resolution (4x the hyper-latent's)."""
        h = self.act(self.h1(z_hat) + self.level_embedding[level][:, :, None, None])
        h = haar_up(h)
        return self.act(haar_up(self.h2(h)))

    def step(self, h: torch.Tensor, y_rec: torch.Tensor, known: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One pass: μ and q for every position given the latents reconstructed so far."""
        out = self.c2(self.act(self.c1(torch.cat([h, y_rec * known, known.expand_as(h[:, :1])], dim=1))))
        mu, q_raw = torch.split(out, self.y_channels, dim=1)
        return mu, quant_width(q_raw)

    def run(
        self,
        h: torch.Tensor,
        code: Callable[[int, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
    ) -> torch.Tensor:
        """Run the 4 passes; ``code(k, mu, q, mask)`` returns reconstructed latents q·ŷ+μ (any value
        outside ``mask``). Returns the full reconstruction. Encoding, decoding and training differ
        only in ``code``."""
        n, _, hh, ww = h.shape
        masks = pass_masks(hh, ww, h.device)
        y_rec = h.new_zeros(n, self.y_channels, hh, ww)
        known = h.new_zeros(1, 1, hh, ww)
        for k in range(len(PASS_ORDER)):
            mu, q = self.step(h, y_rec, known)
            rec_k = code(k, mu, q, masks[k])
            y_rec = y_rec + rec_k * masks[k]
            known = known + masks[k]
        return y_rec
