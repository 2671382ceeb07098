"""Training is seeded per step: a run resumed from its checkpoint ends where an unbroken run ends."""

import copy
import tomllib
from pathlib import Path

import numpy as np
import pytest
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


def test_a_warm_restart_continues_a_finished_run_without_changing_its_past():
    """Raising ``steps`` and listing the old end in ``restarts`` keeps every earlier learning rate,
    so the old checkpoint is exactly the longer run's state at the restart step."""
    short = {"steps": 600, "lr": 5e-4, "lr_final": 3e-5, "warmup": 20}
    longer = {**short, "steps": 1800, "restarts": [600], "restart_lr": 3e-4}
    assert [train.learning_rate(s, short) for s in range(600)] == [train.learning_rate(s, longer) for s in range(600)]
    assert train.learning_rate(599, longer) == pytest.approx(3e-5, rel=1e-3)
    assert train.learning_rate(600, longer) < train.learning_rate(619, longer) == pytest.approx(3e-4)
    assert train.learning_rate(1799, longer) == pytest.approx(3e-5, rel=1e-3)
    rates = [train.learning_rate(s, longer) for s in range(620, 1800)]
    assert rates == sorted(rates, reverse=True)
