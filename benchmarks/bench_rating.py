"""Rater-side benchmark: pair design and sampling at PICO scale, plate drawing, crop serving.

Run by ``make bench`` (or ``python benchmarks/bench_rating.py``). Pure parts only (no
database): the figures bound the CPU a trial or screening page costs the server.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.design import base_allocation  # noqa: E402
from evalsite.rating.imaging import crop_png  # noqa: E402
from evalsite.rating.scheduler import (  # noqa: E402
    AdaptiveSampler,
    BalancedSampler,
    Condition,
    RaterState,
    StudyState,
    design_pairs,
    pair_targets,
)
from evalsite.screening.plates import plan_plates, render_plate  # noqa: E402

ISSUED = 75_000
"""Judgments issued so far in the sampler timings: a study at the PICO paper's size."""


def _timed(function: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``function()`` in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


def pico_scale_conditions(images: int = 30, codecs: int = 8, levels: int = 6) -> list[Condition]:
    """A PICO-sized study: every codec on a ladder of bpp targets, with per-codec jitter."""
    rng = random.Random(0)
    rows, next_id = [], 0
    for image in range(images):
        for codec in range(codecs):
            for level in range(levels):
                bpp = 0.05 * 2 ** (level * 0.6) * (1 + 0.15 * rng.uniform(-1, 1)) * (1 + codec * 0.1)
                rows.append(Condition(next_id, image, f"c{codec}", level, bpp))
                next_id += 1
    return rows


def main() -> None:
    conditions = pico_scale_conditions()
    pairs = tuple(design_pairs(conditions))
    print(f"pair design: {len(conditions)} conditions -> {len(pairs)} pairs")
    print(f"  design_pairs           {_timed(lambda: design_pairs(conditions), 5):8.1f} ms")
    rng = random.Random(1)
    counts = Counter({pair: rng.randrange(2 * ISSUED // len(pairs)) for pair in pairs})  # ~ISSUED so far
    images: Counter[int] = Counter()
    for pair, n in counts.items():
        images[pair.image] += n
    study = StudyState(pairs=pairs, pair_counts=counts, image_counts=images)
    seen = frozenset(rng.sample(pairs, 120))
    rater = RaterState(seen=seen, image_counts=Counter(p.image for p in seen), seed="bench")
    print(
        f"  next_pair (balanced)   {_timed(lambda: BalancedSampler().next_pair(study, rater), 20):8.1f} ms"
        f"  ({sum(counts.values())} judgments issued, 120 seen by the rater)"
    )

    # An adaptive study offers every same-image pair: 30 images x 20 conditions -> 30 x 190 pairs.
    conditions = pico_scale_conditions(codecs=4, levels=5)
    grid = sorted({(c.codec, c.level) for c in conditions})
    shares = list(base_allocation(pd.DataFrame(grid, columns=["codec", "level"])).itertuples(index=False))
    targets = pair_targets(conditions, shares)
    pairs = tuple(sorted(targets))
    counts = Counter({pair: rng.randrange(2 * ISSUED // len(pairs)) for pair in pairs})
    images = Counter()
    for pair, n in counts.items():
        images[pair.image] += n
    study = StudyState(pairs=pairs, pair_counts=counts, image_counts=images, targets=targets)
    seen = frozenset(rng.sample(pairs, 120))
    rater = RaterState(seen=seen, image_counts=Counter(p.image for p in seen), seed="bench")
    print(f"adaptive design: {len(conditions)} conditions -> {len(pairs)} pairs")
    print(f"  pair_targets           {_timed(lambda: pair_targets(conditions, shares), 5):8.1f} ms (once per refresh)")
    print(
        f"  next_pair (adaptive)   {_timed(lambda: AdaptiveSampler().next_pair(study, rater), 20):8.1f} ms"
        f"  ({sum(counts.values())} judgments issued, 120 seen by the rater)"
    )

    specs = plan_plates(8, seed=3)
    print(f"colour plate, 360 px     {_timed(lambda: render_plate(specs[1]), 5):8.1f} ms")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reference.png"
        noise = np.random.default_rng(0).integers(0, 256, (1536, 2048, 3), dtype=np.uint8)
        Image.fromarray(noise).save(path)

        def cold() -> bytes:
            crop_png.cache_clear()
            return crop_png(path, (700, 500, 512, 512))

        print(
            f"crop 512x512 -> PNG      {_timed(cold, 5):8.1f} ms (cold), "
            f"{_timed(lambda: crop_png(path, (700, 500, 512, 512)), 20):.3f} ms (cached)"
        )


if __name__ == "__main__":
    main()
