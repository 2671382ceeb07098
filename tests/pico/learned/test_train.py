"""Training is seeded per step: a run resumed from its checkpoint ends where an unbroken run ends."""

import copy
import tomllib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from pico.learned import train, zoo

SMOKE = Path(train.__file__).parent / "configs" / "smoke.toml"


def _config(tmp_path: Path, out: str, steps: int) -> dict:
    cfg = tomllib.loads(SMOKE.read_text())
    cfg["data"] = str(tmp_path / "data")
    cfg["out"] = str(tmp_path / out)
    cfg["train"].update(steps=steps, checkpoint_every=2, log_every=1)
    return cfg


def _write_data(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    (tmp_path / "data").mkdir()
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (160, 200, 3), dtype=np.uint8)).save(tmp_path / "data" / f"{i}.png")


def test_a_resumed_run_equals_an_unbroken_one_and_releases_codable_weights(tmp_path):
    _write_data(tmp_path)
    before = torch.get_num_threads()
    try:
        train.train(_config(tmp_path, "straight", 4))
        half = _config(tmp_path, "resumed", 4)
        first = copy.deepcopy(half)
        first["train"]["steps"] = 2
        train.train(first)
        train.train(half)
    finally:
        torch.set_num_threads(before)
    a = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=False)
    b = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=False)
    assert a["step"] == b["step"] == 4
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    model_id = train.release(half, tmp_path / "w.pt")
    model, loaded_id = zoo.model_from_bytes((tmp_path / "w.pt").read_bytes())
    assert loaded_id == model_id and model_id.startswith("pico-smoke-")
