"""Per-codec encode and decode time on a 12 MP image, and rate-control encodes per reconstruction.

Usage: python benchmarks/bench_codecs.py [--codecs a,b] [--targets 0.15,0.3,0.6] [--search-side PX]

The 12 MP image is fixtures/images/garden.png resized to 4000x3000 (Lanczos), or a synthetic
photo-like image when the fixture is absent. Timing encodes use the parameter that rate
control finds for 0.3 bpp on a crop. Rate control is measured on centre crops of every fixture
photo at each target: 768 px, or 384 px for heic/avif/avif-svt and 256 px for vvc so that each
codec's run stays within minutes (a full 12 MP search would take tens of minutes for vvc/avif).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pico.codecs import get_codec  # noqa: E402
from pico.ratecontrol import find_param  # noqa: E402

DEFAULT_CODECS = "jpeg,jpeg444,webp,jp2,avif,avif-svt,heic,jxl,vvc"
PHOTOS = ["garden", "ladybird", "yellowflower", "wood"]
SEARCH_SIDE = {"heic": 384, "avif": 384, "avif-svt": 384, "vvc": 256, "vvc-slow": 256}


def twelve_megapixels() -> np.ndarray:
    """A 4000x3000 RGB test image."""
    fixture = ROOT / "fixtures" / "images" / "garden.png"
    if fixture.is_file():
        with Image.open(fixture) as image:
            return np.asarray(image.convert("RGB").resize((4000, 3000), Image.Resampling.LANCZOS))
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:3000, 0:4000].astype(np.float32)
    pixels = np.stack([x / 16 % 255, y / 12 % 255, (x + y) / 28 % 255], axis=-1) + rng.normal(0, 6, (3000, 4000, 3))
    return np.clip(pixels, 0, 255).astype(np.uint8)


def crops(side: int) -> list[np.ndarray]:
    """Centre crops of the fixture photos (or of the 12 MP image when they are absent)."""
    found = []
    for name in PHOTOS:
        path = ROOT / "fixtures" / "images" / f"{name}.png"
        if path.is_file():
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("RGB"))
            top, left = (pixels.shape[0] - side) // 2, (pixels.shape[1] - side) // 2
            found.append(np.ascontiguousarray(pixels[max(top, 0) : top + side, max(left, 0) : left + side]))
    return found or [twelve_megapixels()[:side, :side].copy()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codecs", default=DEFAULT_CODECS)
    parser.add_argument("--targets", default="0.15,0.3,0.6")
    parser.add_argument(
        "--search-side", type=int, help="crop side for rate control (default: per codec, 768 px for fast ones)"
    )
    args = parser.parse_args()
    targets = [float(t) for t in args.targets.split(",")]
    big = twelve_megapixels()
    pixels = big.shape[0] * big.shape[1]
    print(f"12 MP image: {big.shape[1]}x{big.shape[0]}; rate control on fixture crops at {targets} bpp")
    header = f"{'codec':10} {'crop':>5} {'param':>7} {'bpp':>6} {'encode_s':>9} {'decode_s':>9}"
    print(f"{header} {'encodes/recon':>14} {'within tol':>10}")
    for name in args.codecs.split(","):
        side = args.search_side or SEARCH_SIDE.get(name, 768)
        small = crops(side)
        codec = get_codec(name)
        reason = codec.available()
        if reason:
            print(f"{name:10} unavailable: {reason}")
            continue
        searches = [find_param(codec, crop, target) for crop in small for target in targets]
        reached = [s for s in searches if s.status != "unreachable"]
        mean_encodes = sum(s.n_encodes for s in reached) / max(len(reached), 1)
        within = sum(s.status == "ok" for s in reached)
        param = find_param(codec, small[0], 0.3).param
        started = time.perf_counter()
        data = codec.encode(big, param)
        encode_s = time.perf_counter() - started
        started = time.perf_counter()
        codec.reconstruct(data, big.shape[1], big.shape[0])
        decode_s = time.perf_counter() - started
        bpp = 8 * len(data) / pixels
        print(
            f"{name:10} {side:5} {param:7.3g} {bpp:6.3f} {encode_s:9.2f} {decode_s:9.2f} {mean_encodes:14.2f} {within:>4}/{len(reached):<5}"
        )
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
