"""Training and held-out photos from Debian's openly licensed wallpaper packages.

``python -m pico.learned.data [--install] [--out var/learned/data]`` locates (or, with
``--install``, apt-installs) the packages below, downscales each image by an integer box filter
(at least x2 per side, i.e. x0.25 area or less, until the long side is <= 2048 px) to wash out the
packages' JPEG artifacts, and writes PNGs to ``train/`` and ``heldout/``. The held-out photos are
never used in training; ``benchmarks/bench_learned.py`` and the model card evaluate on them.

Sources and licences (from each package's ``/usr/share/doc/<package>/copyright``):

* ``lomiri-wallpapers-16.04`` / ``-20.04``: Ubuntu wallpaper contest photos, CC-BY-4.0 / CC-BY-SA-3.0/4.0
* ``mate-backgrounds``: MATE desktop backgrounds, GPL-2+
* ``ukui-wallpapers``: Ubuntu Kylin community wallpapers, CC-BY-SA-3.0
* ``plasma-workspace-wallpapers``: KDE Visual Design Group wallpapers, GPL-2+
* ``gnome-backgrounds``: GNOME backgrounds (illustrations), CC-BY-SA-3.0
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

PACKAGES = (
    "lomiri-wallpapers-16.04",
    "lomiri-wallpapers-20.04",
    "mate-backgrounds",
    "ukui-wallpapers",
    "plasma-workspace-wallpapers",
    "gnome-backgrounds",
)
HELDOUT = (
    "Bridge_by_Sander_Klootwijk",
    "picosdeeuropa_by_Aitzol_Berasategi",
    "sunset_by_Aitzol_Berasategi",
    "Dune",
    "LadyBird",
    "TwoWings",
)
MAX_SIDE = 2048
MIN_SIDE = 256
DEFAULT_OUT = Path("var/learned/data")


def package_images(package: str) -> list[Path]:
    """Raster images installed by ``package`` (empty if it is not installed)."""
    done = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return []
    files = [Path(p) for p in done.stdout.splitlines() if p.lower().endswith((".jpg", ".jpeg", ".png", ".webp"))]
    files = [p for p in files if p.is_file() and p.stat().st_size > 10_000]
    if package == "plasma-workspace-wallpapers":
        files = _largest_per_wallpaper(files)
    return sorted(files)


def _largest_per_wallpaper(files: list[Path]) -> list[Path]:
    """KDE ships each wallpaper in many sizes under <name>/contents/images/; keep the largest."""
    best: dict[str, Path] = {}
    for p in files:
        name = p.parts[p.parts.index("wallpapers") + 1] if "wallpapers" in p.parts else p.stem
        if "images_dark" in p.parts:
            name += "-dark"
        if name not in best or p.stat().st_size > best[name].stat().st_size:
            best[name] = p
    return list(best.values())


def downscale(img: Image.Image) -> Image.Image:
    """Integer box downscale by >= 2 until the long side is <= MAX_SIDE (removes JPEG artifacts)."""
    factor = 2
    while max(img.size) / factor > MAX_SIDE:
        factor += 1
    return img.reduce(factor)


def iter_sources(packages: tuple[str, ...] = PACKAGES) -> Iterator[tuple[str, Path]]:
    """(package, path) for every usable source image."""
    for pkg in packages:
        for path in package_images(pkg):
            yield pkg, path


def prepare(out: Path, install: bool = False, heldout_only: bool = False) -> dict[str, int]:
    """Write downscaled PNGs to ``out/train`` and ``out/heldout`` (only the latter if asked); returns counts."""
    if install:
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES], check=True)
    missing = [p for p in PACKAGES if not package_images(p)]
    if len(missing) == len(PACKAGES):
        raise SystemExit(f"none of {', '.join(PACKAGES)} is installed; rerun with --install (needs root)")
    counts = {"train": 0, "heldout": 0, "skipped": 0}
    seen: set[str] = set()
    for pkg, path in iter_sources():
        if heldout_only and not any(h in path.stem for h in HELDOUT):
            continue
        stem = (
            path.stem
            if pkg != "plasma-workspace-wallpapers"
            else path.parts[-4] + ("-dark" if "images_dark" in path.parts else "")
        )
        key = f"{pkg}-{stem}".replace(" ", "_")
        if key in seen:
            continue
        seen.add(key)
        try:
            img = Image.open(path).convert("RGB")
        except OSError:
            counts["skipped"] += 1
            continue
        small = downscale(img)
        if min(small.size) < MIN_SIDE or np.asarray(small).std() < 8:
            counts["skipped"] += 1
            continue
        split = "heldout" if any(stem.startswith(h) for h in HELDOUT) else "train"
        if heldout_only and split == "train":
            continue
        dest = out / split / f"{key}.png"
        dest.parent.mkdir(parents=True, exist_ok=True)
        small.save(dest)
        counts[split] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m pico.learned.data", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--install", action="store_true", help="apt-get install the packages first (root)")
    args = parser.parse_args(argv)
    counts = prepare(args.out, install=args.install)
    print(
        f"{counts['train']} training and {counts['heldout']} held-out images in {args.out} ({counts['skipped']} skipped)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
