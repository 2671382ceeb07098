"""The PICO-style learned codec (``pico/learned``) behind the codec interface.

Torch is imported on first use only, so listing codecs stays cheap; ``param`` is the integer
quality level written in the bitstream (0 = fewest bits).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pico.codecs.base import Codec, check_image

if TYPE_CHECKING:
    from pico.learned.model import PicoModel

WEIGHTS_ENV = "PICO_LEARNED_WEIGHTS"
DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "learned" / "weights" / "pico-small.pt"
LEVELS = 8


class Pico(Codec):
    """Learned codec: hyperprior with integer one-shot scales, 4-pass μ/q context, Haar transforms."""

    name = "pico"
    kind = "learned"
    library = "pico.learned (PyTorch)"
    param_name = "level"
    param_range = (0.0, float(LEVELS - 1))
    param_integer = True
    higher_param_more_bits = True
    chroma = "444"
    extension = "pico"
    doublings_per_unit = 0.46  # measured: mean bpp 0.092 .. 0.866 over levels 0..7 on held-out photos, 0.298 at level 3

    def __init__(self, weights: str | os.PathLike | None = None) -> None:
        self.weights = Path(weights or os.environ.get(WEIGHTS_ENV) or DEFAULT_WEIGHTS)

    def available(self) -> str | None:
        if importlib.util.find_spec("torch") is None:
            return "PyTorch is not installed; `pip install -r requirements.txt`"
        if importlib.util.find_spec("constriction") is None:
            return "constriction is not installed; `pip install -r requirements.txt`"
        if not self.weights.is_file():
            return f"weights {self.weights} missing; restore them from git or train with `python -m pico.learned.train`"
        return None

    def _model(self) -> tuple[PicoModel, str]:
        """The model and its id; torch is imported here, on first use."""
        self.require_available()
        from pico.learned import zoo

        return zoo.load(str(self.weights))

    def version(self) -> str:
        import torch

        _, model_id = self._model()
        return f"{model_id} / torch {torch.__version__.split('+')[0]}"

    def initial_param(self, target_bpp: float) -> float:
        return float(np.clip(round(3 + np.log2(target_bpp / 0.298) / self.doublings_per_unit), 0, LEVELS - 1))

    def encode(self, image: np.ndarray, param: float) -> bytes:
        from pico.learned.codec import encode_image

        check_image(image)
        model, model_id = self._model()
        return encode_image(model, model_id, image, int(self.clamp_param(param)))

    def decode(self, data: bytes) -> np.ndarray:
        from pico.learned.codec import decode_image

        model, model_id = self._model()
        return decode_image(model, model_id, data)

    def settings(self) -> dict[str, Any]:
        return {"chroma": self.chroma, "weights": self.weights.name, "tile": 504, "margin": 4}
