"""Learned codec benchmark: BD-rate of `pico` vs `avif` and `jpeg` on held-out photos, and 12 MP CPU times.

Run by ``make bench`` (or ``python benchmarks/bench_learned.py [--images DIR] [--json OUT]``). The
held-out photos come from ``python -m pico.learned.data`` (never used in training). BD-rate
(Bjøntegaard, Akima interpolation, ``bjontegaard`` package) is computed per image on
(bpp, metric) curves and averaged; negative = pico needs fewer bits than the anchor. MS-SSIM
enters as -10·log10(1 - MS-SSIM) dB.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pico.codecs import get_codec  # noqa: E402
from pico.metrics import ms_ssim, psnr, ssimulacra2  # noqa: E402

PARAMS = {
    "pico": [0, 1, 2, 3, 4, 5, 6, 7],
    "avif": [10, 25, 40, 52, 62, 72, 82, 90],
    "jpeg": [8, 15, 25, 40, 55, 70, 82, 92],
}
DEFAULT_IMAGES = ROOT / "var/learned/data/heldout"
METRICS = ("psnr", "ms_ssim_db", "ssimulacra2")


def rd_points(codec_name: str, image: np.ndarray) -> list[dict[str, float]]:
    """(bpp, metrics) for every parameter of the codec on one image."""
    codec = get_codec(codec_name)
    codec.require_available()
    h, w = image.shape[:2]
    rows = []
    for param in PARAMS[codec_name]:
        data = codec.encode(image, param)
        out = codec.reconstruct(data, w, h)
        ms = ms_ssim(image, out)
        rows.append(
            {
                "param": param,
                "bpp": 8 * len(data) / (w * h),
                "psnr": psnr(image, out),
                "ms_ssim": ms,
                "ms_ssim_db": -10 * math.log10(max(1e-10, 1 - ms)),
                "ssimulacra2": ssimulacra2(image, out),
            }
        )
    return rows


def bd_rate(anchor: list[dict], test: list[dict], metric: str) -> float:
    """BD-rate in percent over the overlapping quality range; NaN when the curves don't overlap."""
    import bjontegaard

    a = sorted(anchor, key=lambda r: r["bpp"])
    t = sorted(test, key=lambda r: r["bpp"])
    try:
        return float(
            bjontegaard.bd_rate(
                [r["bpp"] for r in a],
                [r[metric] for r in a],
                [r["bpp"] for r in t],
                [r[metric] for r in t],
                method="akima",
                require_matching_points=False,
                min_overlap=0.0,
            )
        )
    except (ValueError, ZeroDivisionError, np.linalg.LinAlgError):
        return float("nan")


def time_12mp(source: np.ndarray, level: int = 4) -> dict[str, float]:
    """Encode and decode a 4000x3000 image (a held-out photo mirrored to that size) on the CPU."""
    import torch

    image = np.pad(
        source, ((0, max(0, 3000 - source.shape[0])), (0, max(0, 4000 - source.shape[1])), (0, 0)), mode="symmetric"
    )
    image = np.ascontiguousarray(image[:3000, :4000])
    codec = get_codec("pico")
    codec.encode(image[:512, :512], level)  # load weights and warm up outside the timing
    t0 = time.perf_counter()
    data = codec.encode(image, level)
    t1 = time.perf_counter()
    out = codec.decode(data)
    t2 = time.perf_counter()
    return {
        "encode_s": t1 - t0,
        "decode_s": t2 - t1,
        "bpp": 8 * len(data) / image.shape[0] / image.shape[1],
        "psnr": psnr(image, out),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch_threads": torch.get_num_threads(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES)
    parser.add_argument("--json", type=Path, default=ROOT / "var/learned/bench.json")
    parser.add_argument("--skip-12mp", action="store_true")
    parser.add_argument(
        "--anchors-from",
        type=Path,
        help="reuse the avif/jpeg curves of an earlier run's JSON (same images and codec builds) instead of re-encoding",
    )
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    earlier = json.loads(args.anchors_from.read_text())["curves"] if args.anchors_from else {}
    files = sorted(args.images.glob("*.png"))
    if not files and args.images == DEFAULT_IMAGES:
        from pico.learned.data import prepare

        prepare(DEFAULT_IMAGES.parent, heldout_only=True)  # from the Debian packages in debian-packages.txt
        files = sorted(args.images.glob("*.png"))
    if not files:
        print(f"{args.images}: no held-out PNGs; run `python -m pico.learned.data --install` first", file=sys.stderr)
        return 1
    result: dict[str, object] = {}
    if not args.skip_12mp:
        timing = time_12mp(np.asarray(Image.open(files[0]).convert("RGB")))
        result["12mp"] = timing
        print(
            f"12 MP (4000x3000) pico level 4 on CPU ({timing['torch_threads']} threads): encode {timing['encode_s']:.1f} s, "
            f"decode {timing['decode_s']:.1f} s, {timing['bpp']:.3f} bpp, {timing['psnr']:.2f} dB, peak RSS {timing['peak_rss_mb']:.0f} MB",
            flush=True,
        )
    curves: dict[str, dict[str, list]] = {}
    for f in files:
        image = np.asarray(Image.open(f).convert("RGB"))
        curves[f.stem] = {
            name: earlier[f.stem][name] if name != "pico" and f.stem in earlier else rd_points(name, image)
            for name in PARAMS
        }
        print(f"{f.stem}: {image.shape[1]}x{image.shape[0]} done", flush=True)
    result["curves"] = curves
    table = {}
    print(f"\nBD-rate of pico (%, negative = fewer bits), mean over {len(files)} held-out photos:")
    print(f"{'anchor':8s}" + "".join(f"{m:>14s}" for m in METRICS))
    for anchor in ("avif", "jpeg"):
        row = {}
        for metric in METRICS:
            values = [bd_rate(c[anchor], c["pico"], metric) for c in curves.values()]
            finite = [v for v in values if math.isfinite(v)]
            row[metric] = {"mean": float(np.mean(finite)) if finite else float("nan"), "images": len(finite)}
        table[anchor] = row
        print(f"{anchor:8s}" + "".join(f"{row[m]['mean']:>10.1f} ({row[m]['images']})" for m in METRICS))
    result["bdrate"] = table
    print("\nMean bpp / PSNR / MS-SSIM / SSIMULACRA2 per parameter:")
    for name in PARAMS:
        for i, param in enumerate(PARAMS[name]):
            pts = [c[name][i] for c in curves.values()]
            print(
                f"  {name:5s} {param:>3}: {np.mean([p['bpp'] for p in pts]):.3f} bpp  {np.mean([p['psnr'] for p in pts]):.2f} dB  "
                f"{np.mean([p['ms_ssim'] for p in pts]):.4f}  {np.mean([p['ssimulacra2'] for p in pts]):.1f}"
            )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
