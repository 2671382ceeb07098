"""The pool of colour plates drawn ahead: colour attempts take plates from it, the worker refills it.

The pool holds plates for ``SCREENING_PLATE_POOL_RATERS`` raters (default 100), in the mix of
axes a test of ``POOL_PLATES_PER_RATER`` plates uses. Each plate is given to one attempt only,
so raters still cannot share answers. When the pool runs dry (a burst larger than it, or no
worker), a missing plate is drawn when the colour page first shows it:
slower, never wrong.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections import Counter
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from evalsite.rating.files import stored
from evalsite.screening.models import ColourPlate
from evalsite.screening.plates import PLATE_PX, PlateSpec, new_plate, plate_axes, plate_png

logger = logging.getLogger(__name__)

POOL_PLATES_PER_RATER = 8  # the default test's length (screening.colour_plates): sets the mix of axes


def pool_target() -> Counter[str]:
    """Untaken plates per axis the worker keeps in the pool."""
    raters = settings.SCREENING_PLATE_POOL_RATERS
    per_rater = Counter(plate_axes(POOL_PLATES_PER_RATER))
    return Counter({axis: n * raters for axis, n in per_rater.items()})


def plate_file(spec: PlateSpec) -> str:
    """The study-files name of the plate of ``spec``, drawn and stored first if it is not there yet."""
    digest = hashlib.sha256(f"plate:{PLATE_PX}:{spec.axis}:{spec.digit}:{spec.seed}".encode()).hexdigest()
    return stored(f"plates/{digest[:2]}/{digest}.png", lambda: plate_png(spec))


def untaken() -> Counter[str]:
    """Plates in the pool per axis (one grouped query: four rows)."""
    rows = ColourPlate.objects.filter(taken_at__isnull=True).order_by().values_list("axis").annotate(n=Count("pk"))
    return Counter(dict(rows))


def running_low() -> bool:
    """Whether some axis has fallen to half its target or below."""
    have, target = untaken(), pool_target()
    return any(have[axis] <= n // 2 for axis, n in target.items())


def top_up() -> int:
    """Draw plates until every axis holds its target; returns how many were drawn (run by the worker).

    Each plate is added as soon as it is stored, so raters arriving meanwhile already find it.
    """
    rng = secrets.SystemRandom()
    have, drawn = untaken(), 0
    for axis, n in pool_target().items():
        for _ in range(n - have[axis]):
            spec = new_plate(axis, rng)
            ColourPlate.objects.create(digit=spec.digit, axis=axis, seed=spec.seed, file=plate_file(spec))
            drawn += 1
    return drawn


def take(axes: Sequence[str]) -> list[tuple[PlateSpec, str | None]]:
    """One plate per entry of ``axes``: spec and study-files name from the pool, or a new spec (no file yet)
    where the pool has run dry, whose image is then drawn when the page first shows it (``plate_file``).

    Must run in the caller's transaction: on PostgreSQL the rows are locked, and rows another
    attempt holds are skipped, so two raters never get the same plate and never wait for each other.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("take() must run inside transaction.atomic()")
    pooled: dict[str, list[ColourPlate]] = {}
    for axis, n in Counter(axes).items():
        rows = ColourPlate.objects.select_for_update(skip_locked=True).filter(axis=axis, taken_at__isnull=True)
        pooled[axis] = list(rows[:n])
    ColourPlate.objects.filter(pk__in=[p.pk for ps in pooled.values() for p in ps]).update(taken_at=timezone.now())
    rng = secrets.SystemRandom()
    plates: list[tuple[PlateSpec, str | None]] = []
    for axis in axes:
        if pooled[axis]:
            plate = pooled[axis].pop(0)
            plates.append((PlateSpec(digit=plate.digit, axis=axis, seed=plate.seed), plate.file))
        else:
            plates.append((new_plate(axis, rng), None))
    missing = sum(file is None for _, file in plates)
    if missing:
        logger.warning("the colour plate pool ran dry: %d plates are drawn in a rater's requests", missing)
    return plates
