"""The images a rater's page shows, each named by an opaque URL sealed to that rater's session.

The page works out which stored file each image is (the trial's crops, the worked example's,
a screening item's) and seals the name into the URL (``tokens.seal``); the image request only
unseals it and streams the file, with no database query. Screening pages use the same URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from django.urls import reverse

from evalsite.rating import selectors
from evalsite.rating.imaging import crop_box
from evalsite.rating.models import Rater
from evalsite.rating.tokens import seal
from evalsite.studies.models import Reference, Stimulus, Study

COMPARISON_SLOTS = ("reference", "left", "right")


def image_urls(names: Mapping[str, str], *, study_slug: str, session_key: str | None, owner: str) -> dict[str, str]:
    """The opaque URLs of ``owner``'s stored images (``names``: stored name by slot), for this session only."""
    return {
        slot: reverse(
            "rating:image",
            args=[study_slug, seal(name, owner=owner, slot=slot, study_slug=study_slug, session_key=session_key)],
        )
        for slot, name in names.items()
    }


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


@selectors.frozen_after_launch
def crop_boxes(study_id: int) -> Mapping[int, tuple[int, int, int, int]]:
    """Each reference's crop box (``reference_box``) by reference id: two queries, once per process once launched."""
    study = Study.objects.get(pk=study_id)
    return MappingProxyType({reference.pk: reference_box(reference, study) for reference in study.references.all()})


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


def trial_images(files: selectors.TrialFiles) -> dict[str, str]:
    """The stored names of a trial's reference, left and right images (rendered first if missing)."""
    right = "b" if files.shown_left == "a" else "a"
    by_side = {"a": files.a, "b": files.b}
    return {
        "reference": selectors.file_crop(*files.reference, files.box),
        "left": selectors.file_crop(*by_side[files.shown_left], files.box),
        "right": selectors.file_crop(*by_side[right], files.box),
    }


def example_images(rater: Rater) -> dict[str, str] | None:
    """The stored names of the worked example's reference, left (better) and right images; None if the study has no pair."""
    # A practice pair (the study's own conditions) rather than the attention pair, so that the
    # worked example does not teach raters what an attention check looks like.
    pairs = {ref: options[0] for ref, options in selectors.practice_pairs(rater.study).items()}
    pairs = pairs or selectors.attention_pairs(rater.study)
    if not pairs:
        return None
    image = min(pairs)
    box, (good, bad) = crop_boxes(rater.study)[image], pairs[image]
    files = selectors.source_files(rater.study)
    return {
        "reference": selectors.file_crop(*files.references[image], box),
        "left": selectors.file_crop(*files.stimuli[good], box),
        "right": selectors.file_crop(*files.stimuli[bad], box),
    }
