"""The command line: `python -m pico codecs` lists every row; errors become exit codes with messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

from pico.cli import main

ROOT = Path(__file__).parents[2]


def test_codecs_lists_every_row_with_its_availability():
    done = subprocess.run(
        [sys.executable, "-m", "pico", "codecs", "--json"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    rows = {row["name"]: row for row in map(json.loads, done.stdout.splitlines())}
    for name in ["jpeg", "jpeg444", "webp", "jp2", "avif", "avif-svt", "heic", "jxl", "vvc", "pico", "vtm", "cwebp"]:
        assert name in rows
        assert rows[name]["status"] == "available" or rows[name]["status"].startswith("unavailable: ")
    assert rows["vtm"]["kind"] == "external" and "VTM_DIR" in rows["vtm"]["status"]
    assert rows["pico"]["kind"] == "learned"


def test_metrics_prints_every_score_for_a_pair(tmp_path, photo, capsys):
    Image.fromarray(photo).save(tmp_path / "ref.png")
    Image.fromarray(photo).save(tmp_path / "dist.jpg", quality=50)
    assert main(["metrics", str(tmp_path / "ref.png"), str(tmp_path / "dist.jpg")]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert set(scores) == {"psnr", "psnr_y", "ms_ssim", "ssimulacra2"}
    assert 20 < scores["psnr"] < 50


def test_a_missing_image_folder_is_an_error_not_a_traceback(tmp_path, capsys):
    assert main(["ladder", str(tmp_path / "nope"), "--codecs", "jpeg", "--bpp", "1", "--out", str(tmp_path / "o")]) == 1
    assert "no such file or folder" in capsys.readouterr().err
