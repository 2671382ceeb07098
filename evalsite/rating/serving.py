"""Turn an opaque image URL back into pixels, for the rater it was issued to only.

Owners are trials (slots reference/left/right) and the rater (the instructions' worked
example). Apps further up the rater's flow serve their own owners through the same URL by
registering an :data:`ImageSource` (screening items do, in ``ScreeningConfig.ready``), so this
module needs no import of them. Anything that does not resolve, or belongs to another rater,
is answered the same way: no image.
"""

from __future__ import annotations

from collections.abc import Callable

from django.urls import reverse

from evalsite.rating import selectors
from evalsite.rating.imaging import crop_box, crop_png
from evalsite.rating.models import Rater, Trial
from evalsite.rating.tokens import image_key, resolve_slot
from evalsite.studies.models import Reference

COMPARISON_SLOTS = ("reference", "left", "right")
EXAMPLE_SLOTS = ("example-reference", "example-left", "example-right")

ImageSource = Callable[[Rater, str, str], bytes | None]
"""``source(rater, owner, key)``: PNG bytes if ``owner`` is one of the source's and was issued to ``rater``."""

_sources: list[ImageSource] = []


def register_image_source(source: ImageSource) -> None:
    """Let :func:`resolve_image` also serve ``source``'s images (called once, from an app's ``ready``)."""
    if source not in _sources:
        _sources.append(source)


def image_url(study_slug: str, owner: str, slot: str) -> str:
    """The opaque URL of ``slot`` of ``owner``."""
    return reverse("rating:image", args=[study_slug, owner, image_key(owner, slot)])


def comparison_urls(study_slug: str, owner: str) -> dict[str, str]:
    """URLs of the reference and the left and right images of a trial or artifact item."""
    return {slot: image_url(study_slug, owner, slot) for slot in COMPARISON_SLOTS}


def reference_box(reference: Reference) -> tuple[int, int, int, int]:
    """The crop (x, y, w, h) the study shows of ``reference`` outside trials (examples, screening)."""
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


def _example_image(rater: Rater, slot: str) -> bytes | None:
    # A practice pair (the study's own conditions) rather than the attention pair, so that the
    # worked example does not teach raters what an attention check looks like.
    pairs = {ref: options[0] for ref, options in selectors.practice_pairs(rater.study).items()}
    pairs = pairs or selectors.attention_pairs(rater.study)
    if not pairs:
        return None
    reference = Reference.objects.select_related("study").get(pk=min(pairs))
    box = reference_box(reference)
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
    if owner == rater.token:
        slot = resolve_slot(owner, key, EXAMPLE_SLOTS)
        return _example_image(rater, slot) if slot else None
    for source in _sources:
        data = source(rater, owner, key)
        if data is not None:
            return data
    return None
