"""Images of screening items, served through the rater flow's one opaque image URL.

``ScreeningConfig.ready`` registers :func:`item_image` with ``rating.serving``; a request for
an item of another rater, or a slot the item does not have, resolves to no image.
"""

from __future__ import annotations

from functools import lru_cache

from evalsite.rating import selectors
from evalsite.rating.imaging import crop_png, encode_png
from evalsite.rating.models import Rater
from evalsite.rating.serving import COMPARISON_SLOTS, reference_box
from evalsite.rating.tokens import resolve_slot
from evalsite.screening.models import ScreeningAttempt, ScreeningItem
from evalsite.screening.plates import PlateSpec, render_plate
from evalsite.studies.models import Reference


@lru_cache(maxsize=64)
def _plate_png(spec: PlateSpec) -> bytes:
    # Drawing a plate takes about half a second (benchmarks/bench_rating.py); reloads reuse it.
    return encode_png(render_plate(spec))


def _item_png(item: ScreeningItem, slot: str) -> bytes:
    if item.attempt.kind == ScreeningAttempt.Kind.COLOUR:
        return _plate_png(PlateSpec(**item.spec))
    reference = Reference.objects.select_related("study").get(pk=item.spec["reference"])
    box = reference_box(reference)
    if slot == "reference" or slot != item.spec["odd"]:
        return crop_png(selectors.reference_file(reference), box)
    return crop_png(selectors.stimulus_file(item.spec["stimulus"]), box)


def item_image(rater: Rater, owner: str, key: str) -> bytes | None:
    """PNG bytes of the screening item ``owner``'s slot named by ``key``, if the item is ``rater``'s."""
    item = ScreeningItem.objects.select_related("attempt").filter(token=owner, attempt__rater=rater).first()
    if item is None:
        return None
    slots = ("plate",) if item.attempt.kind == ScreeningAttempt.Kind.COLOUR else COMPARISON_SLOTS
    slot = resolve_slot(owner, key, slots)
    return _item_png(item, slot) if slot else None
