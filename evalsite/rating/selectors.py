"""The one place rater-facing code reads stimulus metadata (codec, level, bpp).

Everything here stays on the server: the scheduler's view of the conditions and of the trials
issued so far, which attention stimulus is the good one, and the file behind a stimulus id.
Views and templates receive trials and opaque image URLs only; grep this module to audit what
could leak.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache, wraps
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from django.conf import settings
from django.db.models import Sum

from evalsite.rating.imaging import crop_file
from evalsite.rating.models import Judgment, PairCount, Rater, Trial
from evalsite.rating.scheduler import Condition
from evalsite.rating.stimuli import (
    ATTENTION_HIGH,
    ATTENTION_LOW,
    CLEAR_LEVELS,
    CLEAR_PSNR_DB,
    SCREENING_CODEC,
    SCREENING_QUALITIES,
)
from evalsite.studies.models import Reference, Stimulus, Study

T = TypeVar("T")


def frozen_after_launch(read: Callable[[int], T]) -> Callable[[Study], T]:
    """Decorator: ``read(study_id)`` once per process for a launched study, every time for a draft.

    A launched study's stimuli are frozen, so what is derived from them alone can be kept (a
    paper-scale study has over a thousand conditions); the key is the study's id and creation
    time, so that a reused id is another key. ``read`` must return something immutable.
    """
    frozen = lru_cache(maxsize=32)(lambda study_id, created_at: read(study_id))

    @wraps(read)
    def get(study: Study) -> T:
        if study.state == Study.State.DRAFT:
            return read(study.pk)
        return frozen(study.pk, study.created_at)

    return get


@frozen_after_launch
def study_conditions(study_id: int) -> tuple[Condition, ...]:
    """The study's condition stimuli as the scheduler sees them."""
    rows = Stimulus.objects.filter(study_id=study_id, role=Stimulus.Role.CONDITION).values_list(
        "pk", "reference_id", "codec", "level", "bpp"
    )
    return tuple(
        Condition(stimulus_id=pk, image=ref, codec=codec, level=level, bpp=bpp) for pk, ref, codec, level, bpp in rows
    )


def condition_levels(study: Study) -> set[tuple[str, int]]:
    """The study's conditions as (codec, level), over all images."""
    rows = Stimulus.objects.filter(study=study, role=Stimulus.Role.CONDITION).values_list("codec", "level")
    return set(rows.distinct())


def issued_pairs(study: Study) -> list[tuple[int, int, int, int]]:
    """(reference id, stimulus a, stimulus b, trials issued) over the study's compared trials.

    Read from the tally kept as trials are issued (``models.PairCount``): one row per pair in
    use, so the cost does not grow with the trials issued.
    """
    return list(PairCount.objects.filter(study=study).values_list("reference_id", "first_id", "second_id", "issued"))


def issued_count(study: Study) -> int:
    """Compared trials issued so far (previews left out), from the tally: a sum over the pairs in use, not the trials."""
    return PairCount.objects.filter(study=study).aggregate(n=Sum("issued"))["n"] or 0


def rater_history(rater: Rater) -> list[tuple[str, int, int, int]]:
    """(kind, reference id, stimulus a, stimulus b) of every trial issued to ``rater``."""
    return list(rater.trials.values_list("kind", "reference_id", "a_id", "b_id"))


def judged_count(study: Study) -> int:
    """Compared judgments (not practice or attention checks) from raters in good standing (previews left out)."""
    return Judgment.objects.filter(
        trial__rater__study=study,
        trial__kind=Trial.Kind.TRIAL,
        trial__rater__excluded=False,
        trial__rater__preview=False,
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


def practice_gap(levels: int) -> int:
    """Levels apart of a practice pair on a ladder of ``levels``: about two thirds of it (0 vs 2 of 3, 0 vs 3 of 5)."""
    return max(1, levels - 1 - (levels - 1) // 3)


def practice_pairs(study: Study) -> dict[int, list[tuple[int, int]]]:
    """Per reference id: (better, worse) condition stimulus ids for practice, with a right answer.

    Both of one codec, levels ``practice_gap`` apart, the better one of higher bpp: a clear but not
    extreme difference made of the study's own conditions, never the attention pair.
    """
    ladders: dict[tuple[int, str], list[tuple[int, float, int]]] = {}
    for condition in study_conditions(study):  # a launched study's: read once per process
        ladders.setdefault((condition.image, condition.codec), []).append(
            (condition.level, condition.bpp, condition.stimulus_id)
        )
    pairs: dict[int, list[tuple[int, int]]] = {}
    for (ref, _), ladder in sorted(ladders.items()):
        ladder.sort()
        gap = practice_gap(len(ladder))
        for (_, low_bpp, low), (_, high_bpp, high) in zip(ladder, ladder[gap:], strict=False):
            if high_bpp > low_bpp:
                pairs.setdefault(ref, []).append((high, low))
    return pairs


def golden_winner(stimulus_ids: tuple[int, int]) -> int | None:
    """The right answer of a practice or attention pair: the near-lossless attention stimulus, or of two
    conditions of one codec the one of higher level and bpp; None when the pair has no right answer."""
    rows = list(Stimulus.objects.filter(pk__in=stimulus_ids).values_list("pk", "role", "codec", "level", "bpp"))
    for pk, _, codec, _, _ in rows:
        if codec == ATTENTION_HIGH:
            return pk
    if len(rows) != 2 or any(role != Stimulus.Role.CONDITION for _, role, *_ in rows) or rows[0][2] != rows[1][2]:
        return None
    (pk_x, _, _, level_x, bpp_x), (pk_y, _, _, level_y, bpp_y) = rows
    if level_x > level_y and bpp_x > bpp_y:
        return pk_x
    if level_y > level_x and bpp_y > bpp_x:
        return pk_y
    return None


@frozen_after_launch
def artifact_candidates(study_id: int) -> tuple[tuple[int, int, float, bool, bool], ...]:
    """(stimulus id, reference id, difficulty, clear, own) of every copy the artifact test may show.

    ``own``: the study's conditions; per image and codec, difficulty is the bitrate rank scaled to
    0 (lowest bpp) .. 1 (highest), and the lowest one is clear when its PSNR is under
    ``CLEAR_PSNR_DB``. Then the ``screening-jpeg`` copies: levels under ``CLEAR_LEVELS`` clear,
    the rest graded by level. Server side only, like everything here.
    """
    ladders: dict[tuple[int, str], list[tuple[float, int, float | None]]] = {}
    rows = Stimulus.objects.filter(study_id=study_id, role=Stimulus.Role.CONDITION).values_list(
        "pk", "reference_id", "codec", "bpp", "psnr"
    )
    for pk, ref, codec, bpp, psnr in rows:
        ladders.setdefault((ref, codec), []).append((bpp, pk, psnr))
    found = []
    for (ref, _), ladder in ladders.items():
        ladder.sort()
        for rank, (_, pk, psnr) in enumerate(ladder):
            clear = rank == 0 and psnr is not None and psnr < CLEAR_PSNR_DB
            found.append((pk, ref, rank / (len(ladder) - 1) if len(ladder) > 1 else 0.5, clear, True))
    screening = Stimulus.objects.filter(
        study_id=study_id, role=Stimulus.Role.SCREENING, codec=SCREENING_CODEC
    ).values_list("pk", "reference_id", "level")
    top = max(len(SCREENING_QUALITIES) - 1, 1)
    for pk, ref, level in screening:
        found.append((pk, ref, level / top, level < CLEAR_LEVELS, False))
    return tuple(sorted(found))


@dataclass(frozen=True)
class SourceFiles:
    """A study's image files and their content hashes, by reference id and by stimulus id."""

    references: Mapping[int, tuple[str, str]]
    stimuli: Mapping[int, tuple[str, str]]


@frozen_after_launch
def source_files(study_id: int) -> SourceFiles:
    """Every reference's and stimulus's (path, sha256) in the study: two queries, once per process once launched."""
    references = Reference.objects.filter(study_id=study_id).values_list("pk", "path", "sha256")
    stimuli = Stimulus.objects.filter(study_id=study_id).values_list("pk", "path", "sha256")
    return SourceFiles(
        MappingProxyType({pk: (path, sha) for pk, path, sha in references}),
        MappingProxyType({pk: (path, sha) for pk, path, sha in stimuli}),
    )


@dataclass(frozen=True)
class TrialFiles:
    """What showing a trial's images needs: its crop box, the side shown left, and each image's file and content hash."""

    box: tuple[int, int, int, int]
    shown_left: str
    reference: tuple[str, str]
    a: tuple[str, str]
    b: tuple[str, str]


def trial_files(trial: Trial, study: Study) -> TrialFiles:
    """The files behind ``trial`` of ``study``, for sealing into its image URLs: no query once the study's files are read."""
    files = source_files(study)
    return TrialFiles(
        (trial.crop_x, trial.crop_y, trial.crop_w, trial.crop_h),
        trial.shown_left,
        files.references[trial.reference_id],
        files.stimuli[trial.a_id],
        files.stimuli[trial.b_id],
    )


def file_crop(path: str, sha256: str, box: tuple[int, int, int, int]) -> str:
    """The study-files name of the ``box`` crop of the image file ``path`` (relative to STUDY_DATA_DIR), rendered on first use only.

    Keyed by the file's content hash (its path where none is stored), never by anything in a URL.
    """
    return crop_file(Path(settings.STUDY_DATA_DIR) / path, sha256 or f"path:{path}", box)


def source_crop(source: Reference | Stimulus, box: tuple[int, int, int, int]) -> str:
    """The study-files name of the ``box`` crop of a reference's or stimulus's image (``file_crop``)."""
    return file_crop(source.path, source.sha256, box)
