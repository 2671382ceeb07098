"""Core ML export: the float networks as ``.mlpackage`` files, for on-device encode and decode.

``python -m pico.learned.export --out var/learned/coreml [--weights PATH] [--tile 512]``

Exported (ConvScale folded, fixed tile size, FP16 compute): ``encoder`` (x, gain -> y_g, z),
``context_hyper`` (ẑ, level embedding -> h), ``context_step`` (h, decoded latents, mask -> μ, q)
and ``synthesis`` (latents × inverse gain -> x̂). The integer scale decoder is not exported: as in
the paper it runs on the CPU in fixed point (``entropy.ScaleDecoder.indices``), which is what makes
the entropy parameters identical on every device. Conversion goes through ``torch.jit.trace`` and
``coremltools.convert(source="pytorch")``; running the packages needs macOS.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pico.learned.layers import fold_scales
from pico.learned.model import PicoModel


class _Encoder(nn.Module):
    def __init__(self, model: PicoModel) -> None:
        super().__init__()
        self.encoder = model.encoder

    def forward(self, x: torch.Tensor, gain: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encoder(x - 0.5, gain)


class _ContextHyper(nn.Module):
    def __init__(self, model: PicoModel) -> None:
        super().__init__()
        self.context = model.context

    def forward(self, z_hat: torch.Tensor, level_embedding: torch.Tensor) -> torch.Tensor:
        from pico.learned.layers import haar_up

        c = self.context
        h = c.act(c.h1(z_hat) + level_embedding)
        return c.act(haar_up(c.h2(haar_up(h))))


class _ContextStep(nn.Module):
    def __init__(self, model: PicoModel) -> None:
        super().__init__()
        self.context = model.context

    def forward(self, h: torch.Tensor, y_rec: torch.Tensor, known: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.context.step(h, y_rec, known)


class _Synthesis(nn.Module):
    def __init__(self, model: PicoModel) -> None:
        super().__init__()
        self.synthesis = model.synthesis

    def forward(self, y_rec: torch.Tensor, inv_gain: torch.Tensor) -> torch.Tensor:
        return (self.synthesis(y_rec * inv_gain) + 0.5).clamp(0.0, 1.0)


def example_inputs(model: PicoModel, tile: int = 512) -> dict[str, dict[str, torch.Tensor]]:
    """Named example inputs of each exported network, at tile size ``tile``."""
    c = model.cfg
    ly, lz = tile // 16, tile // 64
    return {
        "encoder": {"x": torch.rand(1, 3, tile, tile), "gain": torch.ones(1, c.y_channels, 1, 1)},
        "context_hyper": {
            "z_hat": torch.zeros(1, c.z_channels, lz, lz),
            "level_embedding": torch.zeros(1, 4 * c.context_hidden, 1, 1),
        },
        "context_step": {
            "h": torch.zeros(1, c.context_hidden, ly, ly),
            "y_rec": torch.zeros(1, c.y_channels, ly, ly),
            "known": torch.zeros(1, 1, ly, ly),
        },
        "synthesis": {"y_rec": torch.zeros(1, c.y_channels, ly, ly), "inv_gain": torch.ones(1, c.y_channels, 1, 1)},
    }


OUTPUT_NAMES = {
    "encoder": ["y", "z"],
    "context_hyper": ["h"],
    "context_step": ["mu", "q"],
    "synthesis": ["x_hat"],
}


def wrappers(model: PicoModel) -> dict[str, nn.Module]:
    """The exported networks as traceable modules (ConvScale folded)."""
    fold_scales(model)
    mods = {
        "encoder": _Encoder(model),
        "context_hyper": _ContextHyper(model),
        "context_step": _ContextStep(model),
        "synthesis": _Synthesis(model),
    }
    return {k: m.eval() for k, m in mods.items()}


def convert(model: PicoModel, tile: int = 512) -> dict[str, Any]:
    """Convert every network to an in-memory Core ML ``MLModel`` (ML program, FP16)."""
    import coremltools as ct

    inputs = example_inputs(model, tile)
    out = {}
    for name, module in wrappers(model).items():
        args = tuple(inputs[name].values())
        with torch.no_grad():
            traced = torch.jit.trace(module, args)
        out[name] = ct.convert(
            traced,
            source="pytorch",
            inputs=[ct.TensorType(name=k, shape=v.shape) for k, v in inputs[name].items()],
            outputs=[ct.TensorType(name=n) for n in OUTPUT_NAMES[name]],
            convert_to="mlprogram",
            minimum_deployment_target=ct.target.iOS16,
            compute_precision=ct.precision.FLOAT16,
        )
    return out


def export(model: PicoModel, out_dir: Path, tile: int = 512) -> list[Path]:
    """Write ``<name>.mlpackage`` for every network; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, mlmodel in convert(model, tile).items():
        path = out_dir / f"{name}.mlpackage"
        mlmodel.save(str(path))
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    from pico.learned import zoo

    parser = argparse.ArgumentParser(prog="python -m pico.learned.export", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("var/learned/coreml"))
    parser.add_argument("--weights", type=Path, default=zoo.DEFAULT_WEIGHTS)
    parser.add_argument("--tile", type=int, default=512)
    args = parser.parse_args(argv)
    model, model_id = zoo.model_from_bytes(args.weights.read_bytes())
    for path in export(model, args.out, args.tile):
        print(f"{model_id}: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
