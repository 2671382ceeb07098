"""Released weights: save, load and identify them (the id is written into every bitstream)."""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache
from pathlib import Path

import torch

from pico.errors import CodecUnavailable
from pico.learned.model import ModelConfig, PicoModel

WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "pico-small.pt"
WEIGHTS_FORMAT = 1


def load_state(model: PicoModel, state: dict[str, torch.Tensor]) -> PicoModel:
    """Load a state dict, resizing the frozen integer tables (their size is known only after update())."""
    for key, value in state.items():
        path, _, name = key.rpartition(".")
        owner = model.get_submodule(path) if path else model
        if name in owner._buffers:
            owner._buffers[name] = value.clone()
    model.load_state_dict(state, strict=True)
    return model


def weights_bytes(model: PicoModel, name: str, meta: dict[str, object] | None = None) -> bytes:
    """Serialized weights of a trained model, with its integer tables frozen first."""
    model.update()
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    buf = io.BytesIO()
    torch.save(
        {"format": WEIGHTS_FORMAT, "name": name, "config": model.cfg.to_dict(), "state": state, "meta": meta or {}}, buf
    )
    return buf.getvalue()


def save_weights(model: PicoModel, path: Path, name: str, meta: dict[str, object] | None = None) -> str:
    """Write released weights to ``path``; returns the model id."""
    data = weights_bytes(model, name, meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return model_id_of(data, name)


def model_id_of(data: bytes, name: str) -> str:
    """Bitstream model id: the weights' name plus a hash of the weights file."""
    return f"{name}-{hashlib.sha256(data).hexdigest()[:12]}"


def model_from_bytes(data: bytes) -> tuple[PicoModel, str]:
    """(inference-ready model, model id) from the bytes of a weights file."""
    blob = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    if blob.get("format") != WEIGHTS_FORMAT:
        raise CodecUnavailable(f"weights format {blob.get('format')!r} is not {WEIGHTS_FORMAT}; re-export the weights")
    model = PicoModel(ModelConfig(**blob["config"]))
    load_state(model, blob["state"])
    model.eval().fold()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, model_id_of(data, blob["name"])


@lru_cache(maxsize=4)
def load(path: str = str(DEFAULT_WEIGHTS)) -> tuple[PicoModel, str]:
    """Load (and cache per process) released weights; raises CodecUnavailable if missing."""
    p = Path(path)
    if not p.is_file():
        raise CodecUnavailable(
            f"{p}: learned codec weights missing; train with `python -m pico.learned.train` or restore the file from git"
        )
    return model_from_bytes(p.read_bytes())
