"""Every write a researcher makes: build a study from its file, move it through its states, manage raters.

Each function is keyword-only, runs its database writes in ``transaction.atomic`` and leaves a
:class:`~evalsite.studies.models.StudyEvent`. Failures a researcher can fix raise
:class:`StudyError` with a stable ``code`` (views show the message; tests assert the code).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from evalsite import atomic
from evalsite.errors import CodedError
from evalsite.rating import services as rating
from evalsite.studies import generation
from evalsite.studies.config import StudyConfig, load_study_file, with_crop_positions
from evalsite.studies.crops import busiest_crop, crop_limits
from evalsite.studies.models import Reference, Stimulus, Study, StudyEvent
from pico.images import load_reference, save_png
from pico.manifest import read_manifest_records

if TYPE_CHECKING:
    from evalsite.rating.models import Rater

Progress = Callable[[int, int, str], None]
"""Called as ``progress(done, total, note)`` while reconstructions are made."""

ERROR_MESSAGES = {
    "stimuli_frozen": "Study {slug!r} is {state}: its stimuli are frozen. Use a new slug for a changed study.",
    "slug_taken": "The slug {slug!r} belongs to another researcher's study; choose another slug.",
    "bad_transition": "A {state} study cannot be {action}; allowed from: {allowed}.",
    "no_stimuli": "Study {slug!r} has no reconstructions yet; generate them before launching.",
    "generation_running": "Study {slug!r} is still generating its reconstructions; wait until it is done.",
    "wrong_study": "Rater {rater} does not take part in study {slug!r}.",
    "no_study_file": "Study {slug!r} was made from a file on the server: rerun `manage.py create_study FILE` there.",
    "crops_frozen": "Study {slug!r} is {state}: its crops are frozen with its stimuli, as raters have seen them. "
    "Use a new slug for other crops.",
    "generation_failed": "Study {slug!r}'s generation failed; run it again (it chooses the crops afresh), then choose crops.",
    "crop_outside": "A {crop_w}x{crop_h} crop at ({x}, {y}) leaves the {width}x{height} image {name!r}: "
    "x must be 0 to {max_x} and y 0 to {max_y}.",
}


class StudyError(CodedError):
    """A researcher action that cannot be done; ``code`` is a key of :data:`ERROR_MESSAGES`."""

    MESSAGES = ERROR_MESSAGES


def study_dir(study_or_slug: Study | str) -> Path:
    """The folder holding a study's references, reconstructions and study file."""
    slug = study_or_slug.slug if isinstance(study_or_slug, Study) else study_or_slug
    return Path(settings.STUDY_DATA_DIR) / slug


def analysis_dir(study: Study) -> Path:
    """Where a study's analysis outputs (elo.csv, bdrate.csv, curves.png, report.html) are written."""
    return study_dir(study) / "analysis"


def _event(study: Study, action: str, actor: User | None = None, detail: str = "") -> None:
    StudyEvent.objects.create(study=study, actor=actor, action=action, detail=detail)


def create_study_from_file(
    path: str | Path, *, owner: User, progress: Progress | None = None, config: StudyConfig | None = None
) -> Study:
    """Validate a study file, generate its reconstructions (resumable) and import them as a draft study.

    Every problem with the file, its images or its codecs is raised as
    :class:`~evalsite.studies.config.StudyFileError` before anything is generated. Running it
    again for the same draft study resumes an interrupted generation: the ladder's cache
    skips every reconstruction already made. ``config`` is the file already validated, if the caller
    read it first (``create_study`` does, to print its warnings before generation).
    """
    config = config or load_study_file(path)
    study = register_study(config=config, owner=owner, study_file=Path(path).read_text(encoding="utf-8"))
    return generate_study(study=study, config=config, progress=progress)


def register_study(*, config: StudyConfig, owner: User, study_file: str) -> Study:
    """Create the draft study for ``config``, or update the owner's existing draft of that slug."""
    with transaction.atomic():
        # Lock the row so that a concurrent launch cannot slip between this check and the update.
        study = Study.objects.select_for_update().filter(slug=config.slug).first()
        if study is None:
            study = Study.objects.create(slug=config.slug, owner=owner, study_file=study_file, **config.study_fields())
            _event(study, "created", owner, str(config.source))
            return study
        if study.owner_id != owner.pk:
            raise StudyError("slug_taken", slug=config.slug)
        if study.state != Study.State.DRAFT:
            raise StudyError("stimuli_frozen", slug=study.slug, state=study.state)
        for name, value in config.study_fields().items():
            setattr(study, name, value)
        study.study_file = study_file
        study.save()
        _event(study, "updated", owner, str(config.source))
        return study


def generate_study(*, study: Study, config: StudyConfig, progress: Progress | None = None) -> Study:
    """Make the reconstructions of a draft study with pico, then import references and stimuli.

    Progress is stored on the study (its page polls it) and passed on to ``progress``. A failure
    marks the generation failed with the error's message and re-raises.
    """
    if study.state != Study.State.DRAFT:
        raise StudyError("stimuli_frozen", slug=study.slug, state=study.state)
    _set_generation(study, Study.Generation.RUNNING, 0, 0, "checking codecs and images")

    def report(done: int, total: int, note: str) -> None:
        _set_generation(study, Study.Generation.RUNNING, done, total, note)
        if progress:
            progress(done, total, note)

    try:
        outcome = generation.reconstruct(config, study_dir(study) / "ladder", jobs=ladder_jobs(), progress=report)
        import_stimuli(study=study, config=config, manifest=outcome.manifest)
        rating.prepare_rater_stimuli(study=study)
    except Exception as exc:
        _set_generation(study, Study.Generation.FAILED, study.generation_done, study.generation_total, str(exc))
        raise
    note = f"ready to launch ({outcome.computed} reconstructions made, {outcome.cached} reused)"
    if outcome.skipped:
        note += "; targets the ladder dropped: " + "; ".join(outcome.skipped)
    warnings = [*(str(w) for w in config.warnings), *quality_warnings(study)]
    if warnings:
        note += "; warning: " + "; warning: ".join(warnings)
    _set_generation(study, Study.Generation.DONE, study.generation_total, study.generation_total, note)
    _event(study, "generated", None, note)
    return study


def quality_warnings(study: Study) -> list[str]:
    """What the generated pair design does to quality control: shortened sessions, exclusion that cannot fire.

    Known only once the stimuli exist (the design's pairs); the study file's own checks are in
    ``config.py``. Shown in the generation note (study page) and printed by ``create_study``.
    """
    plan = rating.session_plan(study=study)
    warnings = []
    if plan.length < study.trials_per_rater:
        warnings.append(
            f"rating.trials_per_rater: the pair design has {plan.compared} pairs, so each rater makes {plan.length} "
            f"trials ({plan.compared} comparisons, {len(plan.attention)} attention checks, {len(plan.repeats)} "
            f"repeats), not {study.trials_per_rater}"
        )
    # A full session's checks are already weighed by the study-file check (config.py); only a
    # session the design shortened can newly fall below the exclusion threshold.
    if plan.length < study.trials_per_rater and 0 < len(plan.attention) <= study.attention_max_failures:
        warnings.append(
            f"rating.attention_max_failures: raters get {len(plan.attention)} attention checks, so more than "
            f"{study.attention_max_failures} failures never happen and nobody is excluded; set it to at most "
            f"{len(plan.attention) - 1} or raise attention_min"
        )
    return warnings


def ladder_jobs() -> int:
    """Worker processes for the ladder: setting STUDY_LADDER_JOBS, else one per CPU core (at most 8)."""
    return int(getattr(settings, "STUDY_LADDER_JOBS", 0) or min(os.cpu_count() or 1, 8))


def _set_generation(study: Study, state: str, done: int, total: int, message: str) -> None:
    study.generation, study.generation_done, study.generation_total = state, done, total
    study.generation_message = message[:2000]
    # save(), not update(): apps further down the rater's flow act on post_save (the colour plate
    # pool is drawn once the stimuli are generated).
    study.save(update_fields=["generation", "generation_done", "generation_total", "generation_message"])


def import_stimuli(*, study: Study, config: StudyConfig, manifest: Path) -> None:
    """Copy the references into the study folder and mirror ``manifest`` as condition stimuli.

    Stimulus paths point into the ladder output (relative to STUDY_DATA_DIR); condition rows
    no longer in the manifest are deleted, so a regenerated draft matches its file exactly.
    """
    rows = read_manifest_records(manifest, check_files=True)
    root = Path(settings.STUDY_DATA_DIR)
    manifest_dir = manifest.parent.resolve().relative_to(root.resolve())
    references_dir = study_dir(study) / "references"
    references_dir.mkdir(parents=True, exist_ok=True)
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if locked.state != Study.State.DRAFT:
            raise StudyError("stimuli_frozen", slug=locked.slug, state=locked.state)
        references = {}
        for image in config.images:
            references[image.stem] = _import_reference(study, config, image, references_dir)
        study.references.exclude(name__in=list(references)).delete()
        kept: set[int] = set()
        codecs = {c.name for c in config.codecs}
        for row in rows:
            if row["codec"] not in codecs or row["image"] not in references:
                continue
            stimulus, _ = Stimulus.objects.update_or_create(
                reference=references[row["image"]],
                role=Stimulus.Role.CONDITION,
                codec=row["codec"],
                level=row["level"],
                defaults={
                    "study": study,
                    "bpp": row["bpp"],
                    "target_bpp": row.get("target_bpp"),
                    "param": str(row.get("param") or ""),
                    "nbytes": row.get("bytes"),
                    "path": str(manifest_dir / row["path"]),
                    "sha256": row.get("sha256") or "",
                    "psnr": row.get("psnr"),
                    "ms_ssim": row.get("ms_ssim"),
                    "ssimulacra2": row.get("ssimulacra2"),
                },
            )
            kept.add(stimulus.pk)
        study.stimuli.filter(role=Stimulus.Role.CONDITION).exclude(pk__in=kept).delete()
        _event(study, "stimuli_imported", None, f"{len(references)} references, {len(kept)} reconstructions")


def _import_reference(study: Study, config: StudyConfig, image: Path, folder: Path) -> Reference:
    """Save one reference as the 8-bit RGB PNG the codecs were given, and choose its crop."""
    loaded = load_reference(image)
    target = save_png(loaded.pixels, folder / f"{image.stem}.png")
    crop_x = crop_y = None
    if config.crop_positions == "auto":
        luma = loaded.pixels @ np.array([0.2126, 0.7152, 0.0722])
        crop_x, crop_y = busiest_crop(luma, config.crop_width, config.crop_height)
    elif config.crop_positions == "explicit" and image.stem in config.crops:
        crop_x, crop_y = config.crops[image.stem]
    reference, _ = Reference.objects.update_or_create(
        study=study,
        name=image.stem,
        defaults={
            "path": str(target.relative_to(Path(settings.STUDY_DATA_DIR))),
            "width": loaded.width,
            "height": loaded.height,
            "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
            "crop_x": crop_x,
            "crop_y": crop_y,
        },
    )
    return reference


# State machine: action -> (states it may start from, state it leads to).
TRANSITIONS = {
    "launched": ((Study.State.DRAFT, Study.State.PAUSED), Study.State.LIVE),
    "paused": ((Study.State.LIVE,), Study.State.PAUSED),
    "closed": ((Study.State.LIVE, Study.State.PAUSED), Study.State.CLOSED),
}


def _transition(study: Study, action: str, actor: User | None) -> Study:
    allowed, target = TRANSITIONS[action]
    with transaction.atomic():
        # Lock the study row: two researchers pressing "launch" and "close" at once must not both win.
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if locked.state not in allowed:
            raise StudyError("bad_transition", state=locked.state, action=action, allowed=", ".join(allowed))
        if target == Study.State.LIVE and locked.state == Study.State.DRAFT:
            if locked.generation in (Study.Generation.QUEUED, Study.Generation.RUNNING):
                raise StudyError("generation_running", slug=locked.slug)
            if not locked.stimuli.filter(role=Stimulus.Role.CONDITION).exists():
                raise StudyError("no_stimuli", slug=locked.slug)
            locked.launched_at = timezone.now()
        if target == Study.State.CLOSED:
            locked.closed_at = timezone.now()
        locked.state = target
        locked.save(update_fields=["state", "launched_at", "closed_at"])
        _event(locked, action, actor)
    study.refresh_from_db()
    return study


def launch_study(*, study: Study, actor: User | None = None) -> Study:
    """Open the rater link (draft -> live, or resume a paused study); from now on the stimuli are frozen."""
    return _transition(study, "launched", actor)


def pause_study(*, study: Study, actor: User | None = None) -> Study:
    """Stop issuing trials for a while (live -> paused); raters mid-way see a pause notice."""
    return _transition(study, "paused", actor)


def close_study(*, study: Study, actor: User | None = None) -> Study:
    """End data collection for good (live or paused -> closed)."""
    return _transition(study, "closed", actor)


def save_crop(*, study: Study, reference: Reference, x: int, y: int, actor: User | None = None) -> Reference:
    """Show raters ``reference`` at the crop whose top-left corner is (x, y) in reference pixels (drafts only).

    Raises :class:`StudyError` ``crops_frozen`` once the study was launched, ``generation_running``
    or ``generation_failed`` while generation (which chooses crops afresh) would still overwrite it,
    ``crop_outside`` for a crop that leaves the image.
    """
    with transaction.atomic():
        # Lock the study row as launching does: a crop saved while someone launches the study
        # must not change what the live study's raters see.
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if locked.state != Study.State.DRAFT:
            raise StudyError("crops_frozen", slug=locked.slug, state=locked.state)
        if locked.generation in (Study.Generation.QUEUED, Study.Generation.RUNNING):
            raise StudyError("generation_running", slug=locked.slug)
        if locked.generation == Study.Generation.FAILED:
            raise StudyError("generation_failed", slug=locked.slug)
        max_x, max_y = crop_limits(reference.width, reference.height, locked.crop_width, locked.crop_height)
        if not (0 <= x <= max_x and 0 <= y <= max_y):
            raise StudyError(
                "crop_outside",
                crop_w=locked.crop_width,
                crop_h=locked.crop_height,
                x=x,
                y=y,
                width=reference.width,
                height=reference.height,
                name=reference.name,
                max_x=max_x,
                max_y=max_y,
            )
        Reference.objects.filter(pk=reference.pk, study=locked).update(crop_x=x, crop_y=y)
        _keep_crops_in_study_file(locked)
        _event(locked, "crop_set", actor, f"{reference.name}: ({x}, {y})")
    # The new crops are rendered now, so that no rater's request renders one.
    rating.prepare_rater_stimuli(study=locked)
    reference.refresh_from_db()
    return reference


def _keep_crops_in_study_file(study: Study) -> None:
    """Write every reference's crop into the study file, so that generating the draft again (Run
    again) keeps the crops chosen by eye and the bundle's ``study.toml`` shows what raters saw.

    The copy the site keeps in its study folder is rewritten (atomically, once the transaction has
    committed) with the stored text; a file elsewhere on the server, from ``create_study``, is the
    researcher's own and is left alone. Runs in the caller's transaction, with the study row locked.
    """
    crops = {
        name: (x, y)
        for name, x, y in study.references.values_list("name", "crop_x", "crop_y")
        if x is not None and y is not None
    }
    text = with_crop_positions(study.study_file, crops)
    Study.objects.filter(pk=study.pk).update(study_file=text)
    on_disk = study_dir(study) / "study.toml"

    def write() -> None:
        if on_disk.is_file():
            atomic.write_text(on_disk, text)

    transaction.on_commit(write)  # the file follows the database, never a rolled-back crop


def share_study(*, study: Study, user: User, actor: User | None = None) -> None:
    """Let another researcher see and manage the study."""
    with transaction.atomic():
        study.shared_with.add(user)
        _event(study, "shared", actor, user.get_username())


def exclude_rater(*, study: Study, rater: Rater, reason: str, actor: User | None = None) -> None:
    """Leave a rater's judgments out of exports and fits (they are kept, and flagged when included)."""
    if rater.study_id != study.pk:
        raise StudyError("wrong_study", rater=rater.pk, slug=study.slug)
    with transaction.atomic():
        rating.exclude_rater(rater=rater, reason=reason)
        _event(study, "rater_excluded", actor, f"rater {rater.pk}: {reason}")


def include_rater(*, study: Study, rater: Rater, actor: User | None = None) -> None:
    """Undo :func:`exclude_rater`."""
    if rater.study_id != study.pk:
        raise StudyError("wrong_study", rater=rater.pk, slug=study.slug)
    with transaction.atomic():
        rating.include_rater(rater=rater)
        _event(study, "rater_included", actor, f"rater {rater.pk}")


def preview_study(*, study: Study, actor: User) -> Rater:
    """A preview rater for ``actor`` to walk the study as raters do; left out of the study's data (rating.services)."""
    with transaction.atomic():
        rater = rating.start_preview(study=study)
        _event(study, "preview", actor, f"preview rater {rater.pk}")
    return rater


def purge_identifiers(*, study: Study, actor: User | None = None) -> int:
    """Remove the crowd ids and browser strings of a closed study's raters (judgments stay); returns how many."""
    with transaction.atomic():
        purged = rating.purge_identifiers(study=study)
        _event(study, "identifiers_purged", actor, f"{purged} raters")
    return purged
