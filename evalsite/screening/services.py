"""Screening writes: start a test (one attempt per rater and test), submit answers, pass or stop.

A rater who fails is moved to ``screened_out`` and, because their crowd id is unique per
study and the attempt is unique per test, cannot start over or retake the test.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import asdict

from django.db import transaction
from django.utils import timezone

from evalsite.rating import selectors
from evalsite.rating.models import Rater, RaterEvent, lock_rater
from evalsite.rating.serving import crop_boxes
from evalsite.rating.stages import stage_after
from evalsite.screening import artifacts, plates, pool
from evalsite.screening.errors import ScreeningError
from evalsite.screening.models import ScreeningAttempt, ScreeningItem
from evalsite.screening.tasks import queue_top_up

STAGE_OF: dict[str, str] = {
    ScreeningAttempt.Kind.COLOUR: Rater.Stage.COLOUR,
    ScreeningAttempt.Kind.ARTIFACT: Rater.Stage.ARTIFACT,
}


def _colour_items(attempt: ScreeningAttempt) -> list[ScreeningItem]:
    # Plates come from the pool drawn ahead (pool.py): the request draws none while it lasts.
    drawn = pool.take(plates.plate_axes(attempt.rater.study.colour_plates))
    if pool.running_low():
        queue_top_up()
    return [
        ScreeningItem(attempt=attempt, index=i, spec={**asdict(spec), "file": file or ""}, expected=spec.digit)
        for i, (spec, file) in enumerate(drawn)
    ]


def _artifact_items(attempt: ScreeningAttempt) -> list[ScreeningItem]:
    study = attempt.rater.study
    candidates = [
        artifacts.Candidate(key=pk, image=ref, difficulty=difficulty, clear=clear, own=own)
        for pk, ref, difficulty, clear, own in selectors.artifact_candidates(study)
    ]
    if not any(c.clear for c in candidates):
        raise ScreeningError("no_screening_stimuli")
    specs = artifacts.plan_items(
        candidates, items=study.artifact_items, pass_mark=study.artifact_pass, seed=attempt.seed
    )
    # The spec stays on the server (ScreeningItem); "stimulus" and "reference" are what serving.py
    # shows, and their crops' file names are kept so that each image request reads the item only.
    sources, boxes = selectors.source_files(study), crop_boxes(study)
    items = []
    for i, spec in enumerate(specs):
        box = boxes[spec.image]
        files = {
            "reference_file": selectors.file_crop(*sources.references[spec.image], box),
            "stimulus_file": selectors.file_crop(*sources.stimuli[spec.key], box),
        }
        items.append(
            ScreeningItem(
                attempt=attempt,
                index=i,
                spec={**asdict(spec), "reference": spec.image, "stimulus": spec.key, **files},
                expected=spec.odd,
            )
        )
    return items


def plate_spec(item: ScreeningItem) -> plates.PlateSpec:
    """The plate a colour item shows (its spec also names the stored file)."""
    return plates.PlateSpec(digit=item.spec["digit"], axis=item.spec["axis"], seed=item.spec["seed"])


def open_attempt(*, rater: Rater, kind: str) -> ScreeningAttempt | None:
    """The rater's attempt at this test if one was started: a plain read (submitting takes the locks)."""
    attempt = ScreeningAttempt.objects.filter(rater=rater, kind=kind).first()
    if attempt is not None:
        attempt.rater = rater
    return attempt


def start_attempt(*, rater: Rater, kind: str) -> ScreeningAttempt:
    """The rater's attempt at this test: created with fresh random items on first call, the same one after."""
    with transaction.atomic():
        # Locks the rater so that two tabs opening the test at once make one attempt, not two
        # (the one-attempt-per-test constraint is the backstop).
        rater = lock_rater(rater)
        if rater.stage != STAGE_OF[kind]:
            raise ScreeningError("wrong_stage")
        attempt = open_attempt(rater=rater, kind=kind)
        if attempt is not None:
            return attempt
        attempt = ScreeningAttempt.objects.create(rater=rater, kind=kind, seed=secrets.randbits(62))
        attempt.rater = rater
        build = _colour_items if kind == ScreeningAttempt.Kind.COLOUR else _artifact_items
        ScreeningItem.objects.bulk_create(build(attempt))
        RaterEvent.objects.create(rater=rater, kind=f"{kind}_started")
        return attempt


def submit_attempt(*, attempt: ScreeningAttempt, answers: Mapping[int, str]) -> ScreeningAttempt:
    """Score the answers (item index -> answer), then move the rater on or screen them out."""
    with transaction.atomic():
        rater = lock_rater(attempt.rater)
        attempt = ScreeningAttempt.objects.select_for_update().get(pk=attempt.pk)
        if attempt.finished_at is not None:
            raise ScreeningError("already_finished")
        if rater.stage != STAGE_OF[attempt.kind]:
            raise ScreeningError("wrong_stage")
        items = list(attempt.items.all())
        study = rater.study
        if attempt.kind == ScreeningAttempt.Kind.COLOUR:
            # An empty answer means "I see no number", which is wrong on every plate; anything but
            # digits is a typo, refused so that the rater can correct it rather than scored wrong.
            if any(not plates.is_answer(answers.get(item.index, "")) for item in items):
                raise ScreeningError("not_a_number")
            for item in items:
                item.answer = answers.get(item.index, "").strip()[:16]
                item.correct = plates.is_correct(plate_spec(item), item.answer)
            attempt.score = sum(bool(item.correct) for item in items)
            attempt.passed = attempt.score >= min(study.colour_pass, len(items))
        else:
            if any(answers.get(item.index) not in artifacts.SIDES for item in items):
                raise ScreeningError("incomplete")
            specs = [
                artifacts.ArtifactSpec(
                    key=item.spec["stimulus"],
                    image=item.spec["reference"],
                    difficulty=item.spec.get("difficulty", 0.0),
                    odd=item.spec["odd"],
                    clear=item.spec["clear"],
                )
                for item in items
            ]
            for item in items:
                item.answer = answers[item.index]
                item.correct = item.answer == item.expected
            clear = sum(spec.clear for spec in specs)
            result = artifacts.score_items(
                specs, [item.answer for item in items], pass_mark=min(study.artifact_pass, clear)
            )
            attempt.score, attempt.passed = result.clear_correct, result.passed
        ScreeningItem.objects.bulk_update(items, ["answer", "correct"])
        attempt.finished_at = timezone.now()
        attempt.save(update_fields=["score", "passed", "finished_at"])
        rater.stage = stage_after(study, rater.stage) if attempt.passed else Rater.Stage.SCREENED_OUT
        rater.save(update_fields=["stage"])
        RaterEvent.objects.create(
            rater=rater,
            kind=f"{attempt.kind}_{'passed' if attempt.passed else 'failed'}",
            detail={"score": attempt.score},
        )
        attempt.rater = rater  # moved on: the caller's next page is the rater's new stage
        return attempt
