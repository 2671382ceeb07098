"""Stage-1 training: ``python -m pico.learned.train --config pico/learned/configs/small.toml``.

Reproducible (seeded per step, so a resumed run draws the same crops and noise as an unbroken
one), checkpoints every ``checkpoint_every`` steps to ``<out>/checkpoint.pt`` and resumes from it,
and stops cleanly after ``max_minutes`` so each call fits a time-limited command (rerun to go on).
``--release PATH`` freezes the latest checkpoint into released weights (``zoo.save_weights``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from pico.learned import zoo
from pico.learned.losses import level_lambdas, rate_distortion
from pico.learned.model import ModelConfig, PicoModel


def load_config(path: Path) -> dict:
    """The TOML training recipe."""
    with path.open("rb") as f:
        return tomllib.load(f)


def load_images(folder: Path) -> list[np.ndarray]:
    """All PNGs of ``folder`` as HxWx3 uint8 arrays (kept in memory: ~100 images)."""
    files = sorted(folder.glob("*.png"))
    if not files:
        raise SystemExit(f"{folder}: no training PNGs; run `python -m pico.learned.data --install` first")
    return [np.asarray(Image.open(f).convert("RGB")) for f in files]


def sample_batch(images: list[np.ndarray], rng: np.random.Generator, batch: int, crop: int) -> torch.Tensor:
    """Random crops with random horizontal flips, (N, 3, crop, crop) in [0, 1]."""
    out = np.empty((batch, crop, crop, 3), dtype=np.uint8)
    for i in range(batch):
        img = images[rng.integers(len(images))]
        y = rng.integers(img.shape[0] - crop + 1)
        x = rng.integers(img.shape[1] - crop + 1)
        patch = img[y : y + crop, x : x + crop]
        out[i] = patch[:, ::-1] if rng.random() < 0.5 else patch
    return torch.from_numpy(out).permute(0, 3, 1, 2).float() / 255.0


def learning_rate(step: int, t: dict) -> float:
    """Linear warm-up, then cosine decay from ``lr`` to ``lr_final``, with optional warm restarts.

    ``restarts = [s1, s2, ...]`` (steps) splits the run into cycles: the first cycle decays from
    ``lr`` to ``lr_final`` at ``s1`` exactly as a run with ``steps = s1`` would, each later cycle
    warms up again to ``restart_lr`` and decays to ``lr_final`` at the next restart (or ``steps``).
    So a finished run can be continued by adding its old ``steps`` to ``restarts`` and raising
    ``steps``: its checkpoint is then exactly the state of the longer run at that step.
    """
    bounds = [0, *(int(s) for s in t.get("restarts", ())), int(t["steps"])]
    cycle = max(i for i in range(len(bounds) - 1) if bounds[i] <= step or i == 0)
    begin, end = bounds[cycle], bounds[cycle + 1]
    peak = t["lr"] if cycle == 0 else t["restart_lr"]
    local = step - begin
    if local < t["warmup"]:
        return peak * (local + 1) / t["warmup"]
    frac = (local - t["warmup"]) / max(1, end - begin - t["warmup"])
    return t["lr_final"] + 0.5 * (peak - t["lr_final"]) * (1 + math.cos(math.pi * min(1.0, frac)))


def load_training_state(model: PicoModel, state: dict[str, torch.Tensor]) -> None:
    """Load trained parameters; frozen integer buffers (filled by ``update()``) may be absent."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    params = {name for name, _ in model.named_parameters()}
    if unexpected or params.intersection(missing):
        raise SystemExit(f"checkpoint does not match the model: missing {missing}, unexpected {unexpected}")


def train(cfg: dict, root: Path = Path(".")) -> Path:
    """Run (or resume) training; returns the checkpoint path."""
    t = cfg["train"]
    torch.set_num_threads(int(t.get("threads", 1)))
    out = root / cfg["out"]
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoint.pt"
    torch.manual_seed(cfg["seed"])
    model = PicoModel(ModelConfig(**cfg["model"]))
    opt = torch.optim.Adam(model.parameters(), lr=t["lr"])
    step, wall_s = 0, 0.0
    if ckpt_path.is_file():
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        load_training_state(model, ck["model"])
        opt.load_state_dict(ck["optimizer"])
        step, wall_s = ck["step"], ck["wall_s"]
        print(f"resumed at step {step} ({wall_s / 60:.1f} min so far)", flush=True)
    images = load_images(root / cfg["data"])
    lambdas = level_lambdas(model.cfg.levels, t["lambda_lo"], t["lambda_hi"])
    start = time.monotonic()
    log = (out / "log.csv").open("a")
    if step == 0:
        log.write("step,lr,loss,bpp,psnr,ms_ssim,wall_s\n")

    def save() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "step": step,
                "wall_s": wall_s + time.monotonic() - start,
                "config": cfg,
            },
            tmp,
        )
        tmp.replace(ckpt_path)

    model.train()
    acc: dict[str, float] = {}
    while step < t["steps"]:
        rng = np.random.default_rng([cfg["seed"], step])
        torch.manual_seed(cfg["seed"] * 1_000_003 + step)
        x = sample_batch(images, rng, t["batch"], t["crop"])
        level = torch.from_numpy(rng.integers(model.cfg.levels, size=t["batch"]))
        lr = learning_rate(step, t)
        for g in opt.param_groups:
            g["lr"] = lr
        parts = rate_distortion(model(x, level), x, level, lambdas, t["ms_ssim_weight"], t["ms_ssim_scale"])
        opt.zero_grad(set_to_none=True)
        parts["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), t["clip_grad"])
        opt.step()
        step += 1
        for k, v in parts.items():
            acc[k] = acc.get(k, 0.0) + float(v.detach())
        if step % t["log_every"] == 0:
            n = t["log_every"]
            psnr = -10 * math.log10(max(acc["mse"] / n, 1e-10))
            elapsed = wall_s + time.monotonic() - start
            row = f"{step},{lr:.3g},{acc['loss'] / n:.4f},{acc['bpp'] / n:.4f},{psnr:.2f},{acc['ms_ssim'] / n:.4f},{elapsed:.0f}"
            log.write(row + "\n")
            log.flush()
            print(row, flush=True)
            acc = {}
        if step % t["checkpoint_every"] == 0 or step == t["steps"]:
            save()
        if t.get("max_minutes") and time.monotonic() - start > 60 * t["max_minutes"]:
            save()
            print(f"stopped after {t['max_minutes']} min at step {step}; rerun the same command to resume", flush=True)
            break
    log.close()
    return ckpt_path


def release(cfg: dict, dest: Path, root: Path = Path(".")) -> str:
    """Freeze the latest checkpoint into released weights at ``dest``; returns the model id."""
    ck = torch.load(root / cfg["out"] / "checkpoint.pt", map_location="cpu", weights_only=False)
    model = PicoModel(ModelConfig(**cfg["model"]))
    load_training_state(model, ck["model"])
    meta = {
        "steps": ck["step"],
        "train_wall_s": round(ck["wall_s"]),
        "data": cfg["data"],
        "seed": cfg["seed"],
        "recipe": cfg["name"],
        "train": cfg["train"],
    }
    return zoo.save_weights(model, dest, cfg["name"], meta)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m pico.learned.train", description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--release", type=Path, help="write released weights from the latest checkpoint and exit")
    parser.add_argument("--steps", type=int, help="override train.steps")
    args = parser.parse_args(argv)
    cfg = load_config(args.config)
    if args.steps is not None:
        cfg["train"]["steps"] = args.steps
    if args.release:
        print(f"released {release(cfg, args.release)} to {args.release}")
        return 0
    print(f"checkpoint: {train(cfg)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
