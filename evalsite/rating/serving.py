"""Turn an opaque image URL back into a stored image, for the rater it was issued to only.

Owners are trials (slots reference/left/right) and the rater (the instructions' worked
example). Apps further up the rater's flow serve their own owners through the same URL by
registering an :data:`ImageSource` under a kind of their own (screening items do, in
``ScreeningConfig.ready``), so this module needs no import of them. The URL names the owner's
kind, so a request asks one table, not each in turn. Anything that does not resolve, or
belongs to another rater or study, is answered the same way: no image.
"""

from __future__ import annotations

from collections.abc import Callable

from django.urls import reverse

from evalsite.rating import selectors
from evalsite.rating.imaging import crop_box
from evalsite.rating.models import Rater
from evalsite.rating.tokens import image_key, resolve_slot
from evalsite.studies.models import Reference, Stimulus, Study

COMPARISON_SLOTS = ("reference", "left", "right")
EXAMPLE_SLOTS = ("example-reference", "example-left", "example-right")

TRIAL, EXAMPLE = "t", "e"
"""Owner kinds of this app: a trial, a rater's worked example."""

ImageSource = Callable[[str, int, str, str], str | None]
"""``source(study_slug, rater_id, owner, key)``: the study-files name of the image if ``owner``
is the source's and was issued to rater ``rater_id`` of the study ``study_slug``."""

_sources: dict[str, ImageSource] = {}


def register_image_source(kind: str, source: ImageSource) -> None:
    """Let :func:`resolve_image` serve owners of ``kind`` with ``source`` (called once, from an app's ``ready``)."""
    if kind in (TRIAL, EXAMPLE) or _sources.setdefault(kind, source) is not source:
        raise ValueError(f"image owner kind {kind!r} is taken")


def image_url(study_slug: str, owner: str, slot: str, *, kind: str = TRIAL) -> str:
    """The opaque URL of ``slot`` of ``owner``, an owner of ``kind``."""
    return reverse("rating:image", args=[study_slug, kind, owner, image_key(owner, slot)])


def comparison_urls(study_slug: str, owner: str, *, kind: str = TRIAL) -> dict[str, str]:
    """URLs of the reference and the left and right images of a trial or artifact item."""
    return {slot: image_url(study_slug, owner, slot, kind=kind) for slot in COMPARISON_SLOTS}


def reference_box(reference: Reference, study: Study) -> tuple[int, int, int, int]:
    """The crop (x, y, w, h) the study shows of ``reference``: in every trial, example and screening item."""
    return crop_box(
        width=reference.width,
        height=reference.height,
        crop_w=study.crop_width,
        crop_h=study.crop_height,
        x=reference.crop_x,
        y=reference.crop_y,
    )


def render_study_crops(study: Study) -> int:
    """Render and store every crop the study's raters can be shown (each reference and all its stimuli); returns how many.

    Run at generation, so that no rater's request renders one; crops already stored are skipped.
    """
    references = {reference.pk: reference for reference in study.references.all()}
    sources: list[Reference | Stimulus] = [*references.values(), *Stimulus.objects.filter(study=study)]
    for source in sources:
        reference = source if isinstance(source, Reference) else references[source.reference_id]
        selectors.source_crop(source, reference_box(reference, study))
    return len(sources)


def _trial_image(files: selectors.TrialFiles, slot: str) -> str:
    if slot == "reference":
        return selectors.file_crop(*files.reference, files.box)
    shown = files.shown_left if slot == "left" else ("b" if files.shown_left == "a" else "a")
    return selectors.file_crop(*(files.a if shown == "a" else files.b), files.box)


def _example_image(rater: Rater, slot: str) -> str | None:
    # A practice pair (the study's own conditions) rather than the attention pair, so that the
    # worked example does not teach raters what an attention check looks like.
    pairs = {ref: options[0] for ref, options in selectors.practice_pairs(rater.study).items()}
    pairs = pairs or selectors.attention_pairs(rater.study)
    if not pairs:
        return None
    reference = Reference.objects.get(pk=min(pairs))
    box = reference_box(reference, rater.study)
    if slot == "example-reference":
        return selectors.source_crop(reference, box)
    good, bad = pairs[reference.pk]
    return selectors.source_crop(Stimulus.objects.get(pk=good if slot == "example-left" else bad), box)


def resolve_image(*, study_slug: str, rater_id: int, kind: str, owner: str, key: str) -> str | None:
    """The study-files name of the image named by (kind, owner, key) if it was issued to rater ``rater_id`` of the study, else None.

    One query for a trial's image, by far the most asked for, and for a registered source's (a
    screening item's); only the worked example, three images per rater, reads more.
    """
    if kind == TRIAL:
        files = selectors.trial_files(token=owner, rater_id=rater_id, study_slug=study_slug)
        if files is None:
            return None
        slot = resolve_slot(owner, key, COMPARISON_SLOTS)
        return _trial_image(files, slot) if slot else None
    if kind == EXAMPLE:
        rater = Rater.objects.select_related("study").filter(pk=rater_id, study__slug=study_slug, token=owner).first()
        if rater is None:
            return None
        slot = resolve_slot(owner, key, EXAMPLE_SLOTS)
        return _example_image(rater, slot) if slot else None
    source = _sources.get(kind)
    return source(study_slug, rater_id, owner, key) if source is not None else None
