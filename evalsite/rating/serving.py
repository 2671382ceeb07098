"""Turn an opaque image URL back into pixels, for the rater it was issued to only.

Owners are trials (slots reference/left/right), screening items (plate, or
reference/left/right) and the rater (the instructions' worked example). Anything that does
not resolve, or belongs to another rater, is answered the same way: no image.
"""

from __future__ import annotations

from functools import lru_cache

from django.urls import reverse

from evalsite.rating import selectors
from evalsite.rating.imaging import crop_box, crop_png, encode_png
from evalsite.rating.models import Rater, Trial
from evalsite.rating.tokens import image_key, resolve_slot
from evalsite.screening.models import ScreeningAttempt, ScreeningItem
from evalsite.screening.plates import PlateSpec, render_plate
from evalsite.studies.models import Reference

COMPARISON_SLOTS = ("reference", "left", "right")
EXAMPLE_SLOTS = ("example-reference", "example-left", "example-right")


def image_url(study_slug: str, owner: str, slot: str) -> str:
    """The opaque URL of ``slot`` of ``owner``."""
    return reverse("rating:image", args=[study_slug, owner, image_key(owner, slot)])


def comparison_urls(study_slug: str, owner: str) -> dict[str, str]:
    """URLs of the reference and the left and right images of a trial or artifact item."""
    return {slot: image_url(study_slug, owner, slot) for slot in COMPARISON_SLOTS}


def _reference_box(reference: Reference) -> tuple[int, int, int, int]:
    study = reference.study
    return crop_box(
        width=reference.width,
        height=reference.height,
        crop_w=study.crop_width,
        crop_h=study.crop_height,
        x=reference.crop_x,
        y=reference.crop_y,
    )


def _trial_image(trial: Trial, slot: str) -> bytes:
    box = (trial.crop_x, trial.crop_y, trial.crop_w, trial.crop_h)
    if slot == "reference":
        return crop_png(selectors.reference_file(trial.reference), box)
    shown = trial.shown_left if slot == "left" else ("b" if trial.shown_left == "a" else "a")
    return crop_png(selectors.stimulus_file(trial.a_id if shown == "a" else trial.b_id), box)


@lru_cache(maxsize=64)
def _plate_png(spec: PlateSpec) -> bytes:
    # Drawing a plate takes about half a second (benchmarks/bench_rating.py); reloads reuse it.
    return encode_png(render_plate(spec))


def _item_image(item: ScreeningItem, slot: str) -> bytes:
    if item.attempt.kind == ScreeningAttempt.Kind.COLOUR:
        return _plate_png(PlateSpec(**item.spec))
    reference = Reference.objects.select_related("study").get(pk=item.spec["reference"])
    box = _reference_box(reference)
    if slot == "reference" or slot != item.spec["odd"]:
        return crop_png(selectors.reference_file(reference), box)
    return crop_png(selectors.stimulus_file(item.spec["stimulus"]), box)


def _example_image(rater: Rater, slot: str) -> bytes | None:
    pairs = selectors.attention_pairs(rater.study)
    if not pairs:
        return None
    reference = Reference.objects.select_related("study").get(pk=min(pairs))
    box = _reference_box(reference)
    if slot == "example-reference":
        return crop_png(selectors.reference_file(reference), box)
    good, bad = pairs[reference.pk]
    return crop_png(selectors.stimulus_file(good if slot == "example-left" else bad), box)


def resolve_image(*, rater: Rater, owner: str, key: str) -> bytes | None:
    """PNG bytes of the image named by (owner, key) if it was issued to ``rater``, else None."""
    trial = Trial.objects.select_related("reference").filter(token=owner, rater=rater).first()
    if trial is not None:
        slot = resolve_slot(owner, key, COMPARISON_SLOTS)
        return _trial_image(trial, slot) if slot else None
    item = ScreeningItem.objects.select_related("attempt").filter(token=owner, attempt__rater=rater).first()
    if item is not None:
        slots = ("plate",) if item.attempt.kind == ScreeningAttempt.Kind.COLOUR else COMPARISON_SLOTS
        slot = resolve_slot(owner, key, slots)
        return _item_image(item, slot) if slot else None
    if owner == rater.token:
        slot = resolve_slot(owner, key, EXAMPLE_SLOTS)
        return _example_image(rater, slot) if slot else None
    return None
