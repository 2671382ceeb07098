"""The registry adapter `pico.codecs.learned.Pico`: cheap to import, clear when unusable."""

import subprocess
import sys
from pathlib import Path

from pico.codecs.learned import Pico

ROOT = Path(__file__).parents[3]


def test_importing_the_codec_registry_does_not_import_torch():
    code = "import sys, pico.codecs, pico.codecs.learned; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "False"


def test_missing_weights_are_reported_with_the_fix(tmp_path):
    reason = Pico(weights=tmp_path / "nope.pt").available()
    assert reason is not None
    assert "nope.pt" in reason and "pico.learned.train" in reason


def test_quality_levels_are_integers_with_more_bits_upwards():
    assert Pico.param_integer and Pico.higher_param_more_bits
    assert Pico.param_range == (0.0, 7.0)
    assert Pico().clamp_param(9.4) == 7.0
