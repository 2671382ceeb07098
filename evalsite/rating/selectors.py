"""The one place rater-facing code reads stimulus metadata (codec, level, bpp).

Everything here stays on the server: the scheduler's view of the conditions and of the trials
issued so far, which attention stimulus is the good one, and the file behind a stimulus id.
Views and templates receive trials and opaque image URLs only; grep this module to audit what
could leak.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db.models import Count

from evalsite.rating.models import Judgment, Rater, Trial
from evalsite.rating.scheduler import Condition
from evalsite.rating.stimuli import ATTENTION_HIGH, ATTENTION_LOW, SCREENING_CODEC
from evalsite.studies.models import Reference, Stimulus, Study


def study_conditions(study: Study) -> list[Condition]:
    """The study's condition stimuli as the scheduler sees them."""
    rows = Stimulus.objects.filter(study=study, role=Stimulus.Role.CONDITION).values_list(
        "pk", "reference_id", "codec", "level", "bpp"
    )
    return [
        Condition(stimulus_id=pk, image=ref, codec=codec, level=level, bpp=bpp) for pk, ref, codec, level, bpp in rows
    ]


def condition_levels(study: Study) -> set[tuple[str, int]]:
    """The study's conditions as (codec, level), over all images."""
    rows = Stimulus.objects.filter(study=study, role=Stimulus.Role.CONDITION).values_list("codec", "level")
    return set(rows.distinct())


def issued_pairs(study: Study) -> list[tuple[int, int, int, int]]:
    """(reference id, stimulus a, stimulus b, trials issued) over the study's compared trials.

    One grouped query, so its cost grows with the pairs in use, not with the trials issued.
    """
    rows = (
        Trial.objects.filter(rater__study=study, kind=Trial.Kind.TRIAL)
        .values_list("reference_id", "a_id", "b_id")
        .annotate(n=Count("pk"))
    )
    return list(rows)


def rater_history(rater: Rater) -> list[tuple[str, int, int, int]]:
    """(kind, reference id, stimulus a, stimulus b) of every trial issued to ``rater``."""
    return list(rater.trials.values_list("kind", "reference_id", "a_id", "b_id"))


def judged_count(study: Study) -> int:
    """Compared judgments (not practice or attention checks) from raters in good standing."""
    return Judgment.objects.filter(
        trial__rater__study=study, trial__kind=Trial.Kind.TRIAL, trial__rater__excluded=False
    ).count()


def attention_pairs(study: Study) -> dict[int, tuple[int, int]]:
    """Per reference id: (near-lossless stimulus id, heavily degraded stimulus id)."""
    found: dict[int, dict[str, int]] = {}
    rows = Stimulus.objects.filter(study=study, role=Stimulus.Role.ATTENTION).values_list("pk", "reference_id", "codec")
    for pk, ref, codec in rows:
        found.setdefault(ref, {})[codec] = pk
    return {
        ref: (c[ATTENTION_HIGH], c[ATTENTION_LOW])
        for ref, c in found.items()
        if {ATTENTION_HIGH, ATTENTION_LOW} <= c.keys()
    }


def good_attention_stimulus(stimulus_ids: tuple[int, int]) -> int | None:
    """Which of two stimulus ids is the near-lossless attention stimulus (None if neither)."""
    return Stimulus.objects.filter(pk__in=stimulus_ids, codec=ATTENTION_HIGH).values_list("pk", flat=True).first()


def screening_ladders(study: Study) -> dict[int, list[int]]:
    """Per reference id: the artifact-screening stimulus ids by level (strongest artifacts first)."""
    ladders: dict[int, dict[int, int]] = {}
    rows = Stimulus.objects.filter(study=study, role=Stimulus.Role.SCREENING, codec=SCREENING_CODEC).values_list(
        "pk", "reference_id", "level"
    )
    for pk, ref, level in rows:
        ladders.setdefault(ref, {})[level] = pk
    return {ref: [by_level[lv] for lv in sorted(by_level)] for ref, by_level in ladders.items()}


def stimulus_file(stimulus_id: int) -> Path:
    """The decoded PNG of a stimulus."""
    return Path(settings.STUDY_DATA_DIR) / Stimulus.objects.values_list("path", flat=True).get(pk=stimulus_id)


def reference_file(reference: Reference) -> Path:
    """The reference image's file."""
    return Path(settings.STUDY_DATA_DIR) / reference.path
