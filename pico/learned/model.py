"""The PICO-style model: one encoder network, a scale decoder, a context decoder and a synthesis.

Data flow (PICO, arXiv 2605.05148, sections 3.1-3.3)::

            x ──► Encoder (Haar↓ + ConvScale ×4) ──► y ──► ×gain[level] ──► y_g
                          (hyper-encoder folded in)             │
                                                   Haar↓ ConvScale ×2
                                                                ▼
                                                      z ──round──► ẑ ──► [AE: factorized prior]
                                                                         │
                   ┌─────────────────────────────────────────────────────┤
                   ▼                                                     ▼
     ScaleDecoder (integer, one shot)                      ContextDecoder hyper part ──► h
          σ index per latent                                             │
                   │                         4 passes on the 2x2 grid:   ▼
                   │                  (h, decoded latents) ──► μ, q ──► ŷ = round((y_g - μ)/q)
                   └──────────────► [AE: discretized N(0, σ²)] ◄──────────┘
                                                                         │
                                            ỹ = q·ŷ + μ ──► ×inv_gain[level] ──► Synthesis ──► x̂

``forward`` (training) returns the reconstruction and likelihoods as in CompressAI;
``compress`` returns the integer symbols of a batch of tiles and ``decompress`` inverts it.
Entropy coding of those symbols and the file container live in ``bitstream.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TypedDict

import numpy as np
import torch
from torch import nn

from pico.learned.context import ContextDecoder
from pico.learned.entropy import FactorizedPrior, ScaleDecoder, ScaleTables, gaussian_likelihood, round_ste
from pico.learned.layers import ConvScale, fold_scales, haar_down, haar_up

DOWNSAMPLING = 64  # input size must be a multiple: 4 Haar levels to y, 2 more to z


@dataclass(frozen=True)
class ModelConfig:
    """Channel widths and the number of quality levels."""

    c1: int = 32
    c2: int = 48
    c3: int = 64
    y_channels: int = 64
    z_channels: int = 32
    hyper_hidden: int = 48
    context_hidden: int = 64
    levels: int = 8

    def to_dict(self) -> dict[str, int]:
        """Plain dict, stored in checkpoints and weights files."""
        return asdict(self)


class Encoder(nn.Module):
    """Analysis transform with the hyper-encoder folded in: x, level -> (y_g, z)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.a1 = ConvScale(12, cfg.c1)
        self.a2 = ConvScale(4 * cfg.c1, cfg.c2)
        self.a3 = ConvScale(cfg.c2, cfg.c2)
        self.a4 = ConvScale(4 * cfg.c2, cfg.c3)
        self.a5 = ConvScale(4 * cfg.c3, cfg.y_channels)
        self.h1 = ConvScale(4 * cfg.y_channels, cfg.hyper_hidden)
        self.h2 = ConvScale(4 * cfg.hyper_hidden, cfg.z_channels)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor, gain: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` in [-1/2, 1/2], (N, 3, H, W); ``gain`` (N, Cy, 1, 1). Returns y_g (H/16), z (H/64)."""
        t = self.act(self.a1(haar_down(x)))
        t = self.act(self.a2(haar_down(t)))
        t = self.act(self.a3(t))
        t = self.act(self.a4(haar_down(t)))
        y = self.a5(haar_down(t)) * gain
        z = self.h2(haar_down(self.act(self.h1(haar_down(y)))))
        return y, z


class Synthesis(nn.Module):
    """Synthesis transform: reconstructed latents (already divided by the gain) -> image."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.s1 = ConvScale(cfg.y_channels, 4 * cfg.c3)
        self.s2 = ConvScale(cfg.c3, cfg.c3)
        self.s3 = ConvScale(cfg.c3, 4 * cfg.c2)
        self.s4 = ConvScale(cfg.c2, cfg.c2)
        self.s5 = ConvScale(cfg.c2, 4 * cfg.c1)
        self.s6 = ConvScale(cfg.c1, 12)
        self.act = nn.GELU()

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """(N, Cy, h, w) -> (N, 3, 16h, 16w), centred on 0."""
        t = haar_up(self.act(self.s1(y)))
        t = self.act(self.s2(t))
        t = haar_up(self.act(self.s3(t)))
        t = self.act(self.s4(t))
        t = haar_up(self.act(self.s5(t)))
        return haar_up(self.s6(t))


class ForwardOutput(TypedDict):
    """The training pass's result: the reconstruction in [0, 1] and each latent's likelihoods."""

    x_hat: torch.Tensor
    likelihoods: dict[str, torch.Tensor]


class PicoModel(nn.Module):
    """All networks and entropy parameters of the codec; see the module docstring for the flow."""

    def __init__(self, cfg: ModelConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or ModelConfig()
        self.encoder = Encoder(cfg)
        self.synthesis = Synthesis(cfg)
        self.scale_decoder = ScaleDecoder(cfg.z_channels, cfg.y_channels, cfg.hyper_hidden, cfg.levels)
        self.context = ContextDecoder(cfg.z_channels, cfg.y_channels, cfg.context_hidden, cfg.levels)
        self.z_prior = FactorizedPrior(cfg.z_channels)
        self.scale_tables = ScaleTables()
        init = torch.linspace(np.log(0.4), np.log(4.0), cfg.levels)
        self.log_gain = nn.Parameter(init[:, None].repeat(1, cfg.y_channels))
        self.log_inv_gain = nn.Parameter(-init[:, None].repeat(1, cfg.y_channels))

    def _gains(self, level: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.log_gain[level].exp()[:, :, None, None], self.log_inv_gain[level].exp()[:, :, None, None]

    def forward(self, x: torch.Tensor, level: torch.Tensor) -> ForwardOutput:
        """Training pass: x in [0, 1] (N, 3, H, W), level (N,) int64 -> x_hat and likelihoods."""
        gain, inv_gain = self._gains(level)
        y, z = self.encoder(x - 0.5, gain)
        z_noisy = z + torch.empty_like(z).uniform_(-0.5, 0.5)
        z_hat = round_ste(z)
        sigma = self.scale_decoder(z_hat, level)
        h = self.context.hyper(z_hat, level)
        lik_y = torch.ones_like(y)

        def code(k: int, mu: torch.Tensor, q: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            nonlocal lik_y
            r = (y - mu) / q
            r_noisy = r + torch.empty_like(r).uniform_(-0.5, 0.5)
            lik_y = torch.where(mask > 0, gaussian_likelihood(r_noisy, sigma), lik_y)
            return q * round_ste(r) + mu

        y_rec = self.context.run(h, code)
        x_hat = self.synthesis(y_rec * inv_gain) + 0.5
        return {"x_hat": x_hat, "likelihoods": {"y": lik_y, "z": self.z_prior.likelihood(z_noisy)}}

    def update(self) -> None:
        """Freeze every integer table the entropy coder reads (run once after training)."""
        self.scale_decoder.freeze()
        self.scale_tables.update()
        self.z_prior.update()

    def fold(self) -> PicoModel:
        """Fold ConvScale scales into plain convolutions for inference (in place)."""
        fold_scales(self.encoder)
        fold_scales(self.synthesis)
        fold_scales(self.context)
        return self

    @torch.no_grad()
    def compress(self, x: torch.Tensor, level: int) -> dict[str, torch.Tensor]:
        """Tiles x in [0, 1] (N, 3, H, W) -> integer symbols: z (N, Cz, H/64, W/64), y and σ index."""
        lv = torch.full((x.shape[0],), level, dtype=torch.long)
        gain, _ = self._gains(lv)
        y, z = self.encoder(x - 0.5, gain)
        z_int = torch.round(z).long()
        index = self.scale_decoder.indices(z_int, level)
        h = self.context.hyper(z_int.float(), lv)
        symbols = torch.zeros_like(y, dtype=torch.long)

        def code(k: int, mu: torch.Tensor, q: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            r = torch.round((y - mu) / q)
            symbols.copy_(torch.where(mask > 0, r.long(), symbols))
            return q * r + mu

        self.context.run(h, code)
        return {"z": z_int, "y": symbols, "index": index}

    @torch.no_grad()
    def scale_indices(self, z_int: torch.Tensor, level: int) -> torch.Tensor:
        """Integer σ indices of the latents, from ẑ alone (what the decoder needs before decoding y)."""
        return self.scale_decoder.indices(z_int, level)

    @torch.no_grad()
    def decompress(self, z_int: torch.Tensor, symbols: torch.Tensor, level: int) -> torch.Tensor:
        """Integer symbols -> tiles in [0, 1] (N, 3, H, W)."""
        lv = torch.full((z_int.shape[0],), level, dtype=torch.long)
        _, inv_gain = self._gains(lv)
        h = self.context.hyper(z_int.float(), lv)
        sym = symbols.float()

        def code(k: int, mu: torch.Tensor, q: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            return q * sym + mu

        y_rec = self.context.run(h, code)
        return (self.synthesis(y_rec * inv_gain) + 0.5).clamp(0.0, 1.0)


def macs_per_pixel(model: PicoModel, size: int = 256) -> dict[str, float]:
    """Multiply-accumulates per input pixel of the encoder and the decoder (convolutions only)."""
    counts = {"encoder": 0.0, "decoder": 0.0}
    hooks = []

    def hook_for(part: str, conv: nn.Conv2d) -> Callable[[nn.Module, tuple[torch.Tensor, ...], torch.Tensor], None]:
        macs_per_output = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]

        def hook(mod: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
            counts[part] += out[0].numel() * macs_per_output

        return hook

    # A ConvScale calls F.conv2d itself, so its inner nn.Conv2d never fires a hook of its own.
    for part, mods in (("encoder", [model.encoder]), ("decoder", [model.synthesis, model.context])):
        for m in mods:
            for sub in m.modules():
                if isinstance(sub, ConvScale):
                    hooks.append(sub.register_forward_hook(hook_for(part, sub.conv)))
                elif isinstance(sub, nn.Conv2d):
                    hooks.append(sub.register_forward_hook(hook_for(part, sub)))
    with torch.no_grad():
        model(torch.rand(1, 3, size, size), torch.zeros(1, dtype=torch.long))
    for hk in hooks:
        hk.remove()
    cfg = model.cfg
    zh = size // 64  # the integer scale decoder is not hooked: count it analytically
    counts["decoder"] += 9 * (
        zh * zh * cfg.z_channels * 4 * cfg.hyper_hidden
        + (2 * zh) ** 2 * cfg.hyper_hidden * 4 * cfg.hyper_hidden
        + (4 * zh) ** 2 * cfg.hyper_hidden * cfg.y_channels
    )
    return {k: v / (size * size) for k, v in counts.items()}
