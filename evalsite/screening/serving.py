"""Images of screening items, served through the rater flow's one opaque image URL.

``ScreeningConfig.ready`` registers :func:`item_image` with ``rating.serving`` for owners of
kind :data:`ITEM`; a request for an item of another rater or study, or a slot the item does not
have, resolves to no image. Plates and
crops are stored files (drawn ahead, rendered at generation); nothing is drawn here.
"""

from __future__ import annotations

from evalsite.rating import selectors
from evalsite.rating.serving import COMPARISON_SLOTS, reference_box
from evalsite.rating.tokens import resolve_slot
from evalsite.screening import pool
from evalsite.screening.models import ScreeningAttempt, ScreeningItem
from evalsite.screening.services import plate_spec
from evalsite.studies.models import Reference, Stimulus

ITEM = "s"
"""The image URL's owner kind of a screening item."""


def _item_file(item: ScreeningItem, slot: str) -> str:
    spec = item.spec
    if item.attempt.kind == ScreeningAttempt.Kind.COLOUR:
        return spec.get("file") or pool.plate_file(plate_spec(item))  # the pool was dry
    odd = slot != "reference" and slot == spec["odd"]
    stored = spec.get("stimulus_file" if odd else "reference_file")
    if stored:
        return stored
    # An attempt started before its items named their crops: find them as they were found then.
    reference = Reference.objects.get(pk=spec["reference"])
    box = reference_box(reference, item.attempt.rater.study)
    return selectors.source_crop(Stimulus.objects.get(pk=spec["stimulus"]) if odd else reference, box)


def item_image(study_slug: str, rater_id: int, owner: str, key: str) -> str | None:
    """The study-files name of the screening item ``owner``'s slot named by ``key``, if the item is rater ``rater_id``'s of study ``study_slug``.

    One query: the item and its attempt; the files were named when the attempt was made.
    """
    item = (
        ScreeningItem.objects.select_related("attempt")
        .filter(token=owner, attempt__rater_id=rater_id, attempt__rater__study__slug=study_slug)
        .first()
    )
    if item is None:
        return None
    slots = ("plate",) if item.attempt.kind == ScreeningAttempt.Kind.COLOUR else COMPARISON_SLOTS
    slot = resolve_slot(owner, key, slots)
    return _item_file(item, slot) if slot else None
