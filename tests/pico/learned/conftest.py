"""Shared fixtures of the learned-codec tests: a tiny seeded random model and small photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pico.learned.model import ModelConfig, PicoModel  # noqa: E402

TINY = ModelConfig(c1=8, c2=8, c3=8, y_channels=8, z_channels=4, hyper_hidden=8, context_hidden=8, levels=8)
DATA = Path(__file__).parent / "data"


def make_tiny_model(seed: int = 0) -> PicoModel:
    """A randomly initialised (seeded) model with frozen tables, ready to code."""
    torch.manual_seed(seed)
    model = PicoModel(TINY)
    with torch.no_grad():
        # Spread the scale decoder's output over the table so many CDF tables get exercised.
        model.scale_decoder.l3.bias.uniform_(0, 60)
    model.update()
    return model.eval().fold()


@pytest.fixture(scope="session")
def tiny_model() -> PicoModel:
    return make_tiny_model()


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A 96x136 crop of a held-out photo (CC-BY-SA-4.0, see data/LICENSE)."""
    from PIL import Image

    return np.asarray(Image.open(DATA / "bridge-crop.png").convert("RGB"))
