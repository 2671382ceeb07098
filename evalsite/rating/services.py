"""Every write of a rater's session: start, consent, display check, trials, judgments, exclusion.

Keyword-only functions, each in one transaction, each leaving a RaterEvent audit row. They
raise ``RatingError`` with a stable code; views show its message. Which pair comes next is
``assignment``'s business, display geometry ``geometry``'s; this module only writes.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from evalsite.rating import assignment, selectors
from evalsite.rating.errors import RatingError
from evalsite.rating.geometry import check_display
from evalsite.rating.imaging import crop_box
from evalsite.rating.models import Judgment, Rater, RaterEvent, Trial, lock_rater
from evalsite.rating.scheduler import Pair
from evalsite.rating.stages import stage_after
from evalsite.rating.stimuli import make_rater_stimuli
from evalsite.rating.tasks import queue_design_refresh
from evalsite.studies.models import Reference, Study

CROWD_PARAMS = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID", "pid")


def prepare_rater_stimuli(*, study: Study) -> None:
    """Create the attention-check and artifact-screening stimuli of every reference (idempotent)."""
    with transaction.atomic():
        make_rater_stimuli(study=study)


def _event(rater: Rater, kind: str, **detail: object) -> None:
    RaterEvent.objects.create(rater=rater, kind=kind, detail=detail)


def _require_open(study: Study) -> None:
    if study.state == Study.State.PAUSED:
        raise RatingError("study_paused")
    if study.state == Study.State.CLOSED:
        raise RatingError("study_closed")
    if study.state != Study.State.LIVE:
        raise RatingError("study_not_live")


def _require_active(rater: Rater) -> None:
    """The rater's study is open and the rater is not excluded."""
    _require_open(rater.study)
    if rater.excluded:
        raise RatingError("excluded")


def _finish_stage(rater: Rater, expected: str) -> None:
    if rater.stage != expected:
        raise RatingError("wrong_stage")
    rater.stage = stage_after(rater.study, expected)
    rater.save(update_fields=["stage"])
    _event(rater, f"{expected}_done", next=rater.stage)


def start_rater(*, study: Study, params: Mapping[str, str], user_agent: str = "") -> Rater:
    """A new rater for the study link, or the existing one for a returning crowd id (who resumes).

    New raters are refused once the study has ``target_judgments`` compared judgments from
    raters in good standing; raters already in the study may finish.
    """
    crowd = {name: str(params[name])[:128] for name in CROWD_PARAMS if params.get(name)}
    crowd_id = crowd.get("PROLIFIC_PID") or crowd.get("pid") or ""
    if crowd_id:
        existing = Rater.objects.filter(study=study, crowd_id=crowd_id).first()
        if existing:
            return existing
    _require_open(study)
    if study.target_judgments and selectors.judged_count(study) >= study.target_judgments:
        raise RatingError("study_full")
    try:
        with transaction.atomic():
            rater = Rater.objects.create(
                study=study, crowd_id=crowd_id, crowd_params=crowd, user_agent=user_agent[:400]
            )
            _event(rater, "start", params=crowd)
    except IntegrityError:
        # The same crowd id arrived twice at once (two tabs): the unique constraint let one in.
        return Rater.objects.get(study=study, crowd_id=crowd_id)
    return rater


def give_consent(*, rater: Rater) -> None:
    """Record informed consent and move on to the instructions."""
    with transaction.atomic():
        _finish_stage(lock_rater(rater), Rater.Stage.CONSENT)


def finish_instructions(*, rater: Rater) -> None:
    """The rater has read the instructions and the worked example."""
    with transaction.atomic():
        _finish_stage(lock_rater(rater), Rater.Stage.INSTRUCTIONS)


def record_display(
    *,
    rater: Rater,
    device_pixel_ratio: float,
    window_width: int,
    window_height: int,
    zoom_ok: bool,
    coarse_pointer: bool,
    user_agent: str,
) -> None:
    """Check and store the rater's display; refuses phones, small windows and browser zoom."""
    with transaction.atomic():
        rater = lock_rater(rater)
        if rater.stage != Rater.Stage.DISPLAY:
            raise RatingError("wrong_stage")
        check_display(
            rater.study,
            device_pixel_ratio=device_pixel_ratio,
            window_width=window_width,
            window_height=window_height,
            zoom_ok=zoom_ok,
            coarse_pointer=coarse_pointer,
            user_agent=user_agent,
        )
        rater.device_pixel_ratio = device_pixel_ratio
        rater.window_width, rater.window_height = window_width, window_height
        rater.user_agent = user_agent[:400]
        rater.save(update_fields=["device_pixel_ratio", "window_width", "window_height", "user_agent"])
        _finish_stage(rater, Rater.Stage.DISPLAY)


def _create_trial(rater: Rater, kind: str, pair: Pair, seq: int, rng: random.Random) -> Trial:
    reference = Reference.objects.get(pk=pair.image)
    a, b = (pair.first, pair.second) if rng.random() < 0.5 else (pair.second, pair.first)
    x, y, w, h = crop_box(
        width=reference.width,
        height=reference.height,
        crop_w=rater.study.crop_width,
        crop_h=rater.study.crop_height,
        x=reference.crop_x,
        y=reference.crop_y,
    )
    return Trial.objects.create(
        rater=rater,
        seq=seq,
        kind=kind,
        reference=reference,
        a_id=a,
        b_id=b,
        shown_left=rng.choice(Trial.Side.values),
        crop_x=x,
        crop_y=y,
        crop_w=w,
        crop_h=h,
    )


def _complete(rater: Rater) -> None:
    rater.stage = Rater.Stage.DONE
    rater.completed_at = timezone.now()
    rater.completion_code = rater.study.completion_code or secrets.token_hex(4).upper()
    rater.save(update_fields=["stage", "completed_at", "completion_code"])
    _event(rater, "completed")


def issue_trial(*, rater: Rater) -> Trial | None:
    """The rater's current trial: the unanswered one (after a reload), else a new one; None when done."""
    with transaction.atomic():
        # Locks the rater: two tabs asking at once would otherwise both create trial number n
        # (the unique (rater, seq) constraint is the backstop where rows cannot be locked).
        rater = lock_rater(rater)
        _require_active(rater)
        if rater.stage not in (Rater.Stage.PRACTICE, Rater.Stage.TRIALS):
            raise RatingError("wrong_stage")
        practice = rater.stage == Rater.Stage.PRACTICE
        pending = rater.trials.filter(judgment__isnull=True).order_by("-seq").first()
        if pending and (pending.kind == Trial.Kind.PRACTICE) == practice:
            return pending
        history = selectors.rater_history(rater)
        seq = len(history)
        rng = random.Random(f"{rater.token}:{seq}")
        kind, pair = assignment.next_trial(rater, history, rng, practice=practice)
        if pair is None:
            _complete(rater)
            return None
        return _create_trial(rater, kind, pair, seq, rng)


@dataclass(frozen=True)
class JudgmentResult:
    """A stored judgment; ``created`` is False for an idempotent retry, ``correct`` set on golden trials."""

    judgment: Judgment
    created: bool
    correct: bool | None


def _max_per_minute() -> int:
    return int(getattr(settings, "RATING_MAX_JUDGMENTS_PER_MINUTE", 40))


def _locked_trial(rater: Rater, trial_token: str) -> Trial:
    """The trial of ``trial_token`` under a row lock, if it was issued to ``rater``.

    The lock serialises a double click, a retry and a second tab submitting the same trial:
    the later ones find the first one's judgment. The one-to-one constraint on
    Judgment.trial is the backstop.
    """
    trial = Trial.objects.select_for_update().filter(token=trial_token).first()
    if trial is None:
        raise RatingError("unknown_trial")
    if trial.rater_id != rater.pk:
        raise RatingError("not_your_trial")
    return trial


def _chosen_side(trial: Trial, choice: str) -> str:
    """The side ('a' or 'b') behind the rater's choice of 'left' or 'right'."""
    if choice not in ("left", "right"):
        raise RatingError("bad_choice")
    other = Trial.Side.B if trial.shown_left == Trial.Side.A else Trial.Side.A
    return trial.shown_left if choice == "left" else other


def _check_answerable(rater: Rater, trial: Trial, response_ms: int) -> None:
    """A new answer is accepted only from an active rater who looked long enough and is not racing."""
    _require_active(rater)
    elapsed_ms = (timezone.now() - trial.issued_at).total_seconds() * 1000
    if response_ms < rater.study.min_view_ms or elapsed_ms < rater.study.min_view_ms:
        raise RatingError("too_fast")
    recent = Judgment.objects.filter(trial__rater=rater, created_at__gte=timezone.now() - timedelta(minutes=1))
    if recent.count() >= _max_per_minute():
        raise RatingError("rate_limited")


def _repeat(existing: Judgment, winner: str) -> JudgmentResult:
    """A second submission of a judged trial: the same answer is an idempotent retry, another is refused."""
    if existing.winner != winner:
        raise RatingError("already_judged")
    return JudgmentResult(existing, created=False, correct=None)


def _attention_score(trial: Trial, winner: str) -> bool | None:
    """On practice and attention trials, whether the rater chose the near-lossless copy; else None."""
    if trial.kind not in (Trial.Kind.PRACTICE, Trial.Kind.ATTENTION):
        return None
    good = selectors.good_attention_stimulus((trial.a_id, trial.b_id))
    return good == (trial.a_id if winner == Trial.Side.A else trial.b_id)


def _store(trial: Trial, winner: str, *, response_ms: int, switches: int, correct: bool | None) -> JudgmentResult:
    """Insert the judgment; where another request stored one first, treat this one as its repeat."""
    try:
        with transaction.atomic():
            judgment = Judgment.objects.create(
                trial=trial, winner=winner, response_ms=max(0, int(response_ms)), switches=max(0, int(switches))
            )
    except IntegrityError:
        # Only where the trial row could not be locked: the one-to-one constraint caught the race.
        return _repeat(Judgment.objects.get(trial=trial), winner)
    return JudgmentResult(judgment, created=True, correct=correct)


def _after_judgment(rater: Rater, trial: Trial, correct: bool | None) -> None:
    """Move the session on: count a failed check (excluding past the limit), end practice, complete, refresh design."""
    study = rater.study
    if trial.kind == Trial.Kind.ATTENTION and not correct:
        Rater.objects.filter(pk=rater.pk).update(attention_failures=F("attention_failures") + 1)
        rater.refresh_from_db(fields=["attention_failures"])
        _event(rater, "attention_failed", trial=trial.seq, failures=rater.attention_failures)
        if rater.attention_failures > study.attention_max_failures:
            _exclude(rater, f"failed {rater.attention_failures} attention checks", automatic=True)
    if trial.kind == Trial.Kind.PRACTICE:
        if rater.trials.filter(kind=Trial.Kind.PRACTICE, judgment__isnull=False).count() >= study.practice_trials:
            _finish_stage(rater, Rater.Stage.PRACTICE)
    elif not rater.excluded:
        judged = Judgment.objects.filter(trial__rater=rater, trial__kind__in=assignment.MAIN_KINDS).count()
        if judged >= study.trials_per_rater:
            _complete(rater)
    if trial.kind == Trial.Kind.TRIAL and study.design == Study.Design.ADAPTIVE:
        queue_design_refresh(study)


def record_judgment(
    *, rater: Rater, trial_token: str, choice: str, response_ms: int, switches: int = 0
) -> JudgmentResult:
    """Store the rater's choice ('left' or 'right') on the trial issued to them, exactly once.

    Validate, score the attention check, store, then move the session on.
    """
    with transaction.atomic():
        trial = _locked_trial(rater, trial_token)
        winner = _chosen_side(trial, choice)
        existing = Judgment.objects.filter(trial=trial).first()
        if existing is not None:
            return _repeat(existing, winner)
        rater = lock_rater(rater)
        _check_answerable(rater, trial, response_ms)
        correct = _attention_score(trial, winner)
        result = _store(trial, winner, response_ms=response_ms, switches=switches, correct=correct)
        if result.created:
            _after_judgment(rater, trial, correct)
        return result


def _exclude(rater: Rater, reason: str, *, automatic: bool) -> None:
    rater.excluded = True
    rater.excluded_reason = reason[:200]
    rater.save(update_fields=["excluded", "excluded_reason"])
    _event(rater, "excluded", reason=reason, automatic=automatic)


def exclude_rater(*, rater: Rater, reason: str) -> None:
    """Exclude a rater (their judgments stay stored, flagged by Rater.excluded); stops their session."""
    with transaction.atomic():
        _exclude(lock_rater(rater), reason, automatic=False)


def include_rater(*, rater: Rater) -> None:
    """Undo an exclusion; the rater may continue where they stopped."""
    with transaction.atomic():
        rater = lock_rater(rater)
        rater.excluded = False
        rater.excluded_reason = ""
        rater.save(update_fields=["excluded", "excluded_reason"])
        _event(rater, "included")


def completion_redirect(rater: Rater) -> str:
    """The crowd platform's return URL with ``{code}`` filled in, or '' when the study has none."""
    return rater.study.completion_redirect.replace("{code}", rater.completion_code)
