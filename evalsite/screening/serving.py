"""Which stored images a screening item shows: its colour plate, or the artifact test's reference and two copies.

The screening pages seal these names into the rater flow's one opaque image URL
(``rating.serving.image_urls``). Plates and crops are stored files, drawn ahead and rendered at
generation; only a plate the dry pool could not give is drawn here, once.
"""

from __future__ import annotations

from evalsite.rating import selectors
from evalsite.rating.serving import COMPARISON_SLOTS, crop_boxes
from evalsite.screening import pool
from evalsite.screening.models import ScreeningAttempt, ScreeningItem
from evalsite.screening.services import plate_spec
from evalsite.studies.models import Study


def _artifact_file(item: ScreeningItem, slot: str, study: Study) -> str:
    spec = item.spec
    odd = slot != "reference" and slot == spec["odd"]
    stored = spec.get("stimulus_file" if odd else "reference_file")
    if stored:
        return str(stored)
    # An attempt started before its items named their crops: find them as they were found then.
    files = selectors.source_files(study)
    source = files.stimuli[spec["stimulus"]] if odd else files.references[spec["reference"]]
    return selectors.file_crop(*source, crop_boxes(study)[spec["reference"]])


def item_images(item: ScreeningItem, study: Study) -> dict[str, str]:
    """The stored names of ``item``'s images by slot: ``plate``, or ``reference``, ``left`` and ``right``."""
    if item.attempt.kind == ScreeningAttempt.Kind.COLOUR:
        return {"plate": str(item.spec.get("file") or pool.plate_file(plate_spec(item)))}  # no file: the pool was dry
    return {slot: _artifact_file(item, slot, study) for slot in COMPARISON_SLOTS}
