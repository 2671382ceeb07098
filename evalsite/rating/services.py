"""Every write of a rater's session: start, consent, display check, trials, judgments, exclusion.

Keyword-only functions, each in one transaction, each leaving a RaterEvent audit row. They
raise ``RatingError`` with a stable code; views show its message.
"""

from __future__ import annotations

import random
import re
import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache, partial
from math import ceil
from types import MappingProxyType

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from evalsite.rating import selectors
from evalsite.rating.errors import RatingError
from evalsite.rating.imaging import crop_box
from evalsite.rating.models import Judgment, Rater, RaterEvent, Trial
from evalsite.rating.scheduler import (
    AdaptiveSampler,
    Condition,
    Pair,
    RaterState,
    Sampler,
    StudyState,
    attention_positions,
    design_pairs,
    pair_targets,
    planned_trials,
)
from evalsite.rating.stages import stage_after
from evalsite.rating.stimuli import make_rater_stimuli
from evalsite.studies.design import base_shares, refresh_due
from evalsite.studies.models import Reference, Stimulus, Study
from evalsite.studies.tasks import refresh_design_task

CROWD_PARAMS = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID", "pid")
MOBILE_AGENT = re.compile(r"Mobi|Android|iPhone|iPad|iPod|Silk|Kindle", re.IGNORECASE)
GAP_CSS_PX = 16
CONTROLS_CSS_PX = 140
MAIN_KINDS = (Trial.Kind.TRIAL, Trial.Kind.ATTENTION)


def rater_link(study: Study) -> str:
    """The link raters open (append ``?PROLIFIC_PID=...`` or ``?pid=...`` on a crowd platform)."""
    return reverse("rating:entry", args=[study.slug])


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


def _locked(rater: Rater) -> Rater:
    """Re-read ``rater`` under a row lock; callers hold a transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("_locked() must run inside transaction.atomic()")
    return Rater.objects.select_for_update().select_related("study").get(pk=rater.pk)


def _advance(rater: Rater, expected: str) -> None:
    if rater.stage != expected:
        raise RatingError("wrong_stage")
    rater.stage = stage_after(rater.study, expected)
    rater.save(update_fields=["stage"])
    _event(rater, f"{expected}_done", next=rater.stage)


def _judged(study: Study) -> int:
    return Judgment.objects.filter(
        trial__rater__study=study, trial__kind=Trial.Kind.TRIAL, trial__rater__excluded=False
    ).count()


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
    if study.target_judgments and _judged(study) >= study.target_judgments:
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
        _advance(_locked(rater), Rater.Stage.CONSENT)


def finish_instructions(*, rater: Rater) -> None:
    """The rater has read the instructions and the worked example."""
    with transaction.atomic():
        _advance(_locked(rater), Rater.Stage.INSTRUCTIONS)


def crop_size(study: Study) -> tuple[int, int]:
    """The largest crop (w, h) in image pixels the study shows."""
    sizes = study.references.aggregate(w=Max("width"), h=Max("height"))
    return min(study.crop_width, sizes["w"] or study.crop_width), min(
        study.crop_height, sizes["h"] or study.crop_height
    )


def required_window(study: Study, device_pixel_ratio: float) -> tuple[int, int]:
    """Smallest browser window (CSS px) that shows the study's crops at 1:1 device pixels."""
    crop_w, crop_h = crop_size(study)
    columns = 3 if study.mode == Study.Mode.SIDE_BY_SIDE else 1
    width = columns * ceil(crop_w / device_pixel_ratio) + (columns + 1) * GAP_CSS_PX
    return width, ceil(crop_h / device_pixel_ratio) + CONTROLS_CSS_PX


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
        rater = _locked(rater)
        if rater.stage != Rater.Stage.DISPLAY:
            raise RatingError("wrong_stage")
        if MOBILE_AGENT.search(user_agent) or coarse_pointer:
            raise RatingError("mobile")
        if not 0.5 <= device_pixel_ratio <= 6 or window_width <= 0 or window_height <= 0:
            raise RatingError("bad_display")
        if not zoom_ok:
            raise RatingError("zoom")
        need_w, need_h = required_window(rater.study, device_pixel_ratio)
        if window_width < need_w or window_height < need_h:
            raise RatingError(
                "window_too_small",
                f"Please make it at least {need_w} x {need_h} (now {window_width} x {window_height}), "
                "for example by maximising it or using full screen (F11).",
            )
        rater.device_pixel_ratio = device_pixel_ratio
        rater.window_width, rater.window_height = window_width, window_height
        rater.user_agent = user_agent[:400]
        rater.save(update_fields=["device_pixel_ratio", "window_width", "window_height", "user_agent"])
        _advance(rater, Rater.Stage.DISPLAY)


def _sampler(study: Study) -> Sampler:
    """AdaptiveSampler for an adaptive study (whatever RATING_SAMPLER says), else the configured sampler."""
    if study.design == Study.Design.ADAPTIVE:
        return AdaptiveSampler()
    return import_string(getattr(settings, "RATING_SAMPLER", "evalsite.rating.scheduler.BalancedSampler"))()


@lru_cache(maxsize=32)
def _design(conditions: tuple[Condition, ...]) -> tuple[Pair, ...]:
    # A live study's stimuli are frozen, so its design is computed once per process
    # (about 0.2 s for 1,440 conditions, see benchmarks/bench_rating.py), not once per trial.
    return tuple(design_pairs(conditions))


@lru_cache(maxsize=32)
def _adaptive_design(
    conditions: tuple[Condition, ...], shares: tuple[tuple[str, int, str, int, float], ...]
) -> tuple[tuple[Pair, ...], Mapping[Pair, float]]:
    """Pairs with a target, and the targets; the base design while no shares are stored.

    Cached like ``_design`` (per stored design): 30 images x 20 conditions give 5,700 pairs.
    """
    if not shares:
        shares = tuple(map(tuple, base_shares((c.codec, c.level) for c in conditions)))
    targets = pair_targets(conditions, shares)
    return tuple(sorted(targets)), MappingProxyType(targets)


def _study_design(study: Study) -> tuple[tuple[Pair, ...], Mapping[Pair, float]]:
    """The pairs the study's raters may get and, for an adaptive study, their target shares."""
    conditions = tuple(selectors.study_conditions(study))
    if study.design == Study.Design.ADAPTIVE:
        shares = tuple((a, int(la), b, int(lb), float(share)) for a, la, b, lb, share in study.design_shares)
        return _adaptive_design(conditions, shares)
    return _design(conditions), MappingProxyType({})


def _study_state(study: Study) -> StudyState:
    pairs, targets = _study_design(study)
    issued = (
        Trial.objects.filter(rater__study=study, kind=Trial.Kind.TRIAL)
        .values_list("reference_id", "a_id", "b_id")
        .annotate(n=Count("pk"))
    )
    pair_counts: Counter[Pair] = Counter()
    image_counts: Counter[int] = Counter()
    for ref, a, b, n in issued:
        pair_counts[Pair.of(ref, a, b)] += n
        image_counts[ref] += n
    return StudyState(pairs=pairs, pair_counts=pair_counts, image_counts=image_counts, targets=targets)


def _rater_state(rater: Rater, seq: int) -> RaterState:
    shown = list(rater.trials.values_list("kind", "reference_id", "a_id", "b_id"))
    seen = frozenset(Pair.of(ref, a, b) for kind, ref, a, b in shown if kind == Trial.Kind.TRIAL)
    return RaterState(seen=seen, image_counts=Counter(ref for _, ref, _, _ in shown), seed=f"{rater.token}:{seq}")


def _golden_pair(rater: Rater, rng: random.Random) -> Pair:
    """An attention pair (near-lossless vs heavily degraded) on the image this rater saw least."""
    golden = selectors.attention_pairs(rater.study)
    if not golden:
        raise RatingError("no_trials", "(The study has no attention-check images.)")
    used = Counter(rater.trials.values_list("reference_id", flat=True))
    ref = min(golden, key=lambda r: (used[r], rng.random()))
    return Pair.of(ref, *golden[ref])


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
    trial = Trial.objects.create(
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
    return trial


def session_length(rater: Rater) -> int:
    """Main trials (compared and attention) this rater will make, for the progress bar."""
    study = rater.study
    attention = attention_positions(study.trials_per_rater, study.attention_rate, rater.token)
    pairs, _ = _study_design(study)
    return planned_trials(study.trials_per_rater, attention, len(pairs))


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
        rater = _locked(rater)
        _require_open(rater.study)
        if rater.excluded:
            raise RatingError("excluded")
        if rater.stage not in (Rater.Stage.PRACTICE, Rater.Stage.TRIALS):
            raise RatingError("wrong_stage")
        practice = rater.stage == Rater.Stage.PRACTICE
        pending = rater.trials.filter(judgment__isnull=True).order_by("-seq").first()
        if pending and (pending.kind == Trial.Kind.PRACTICE) == practice:
            return pending
        seq = rater.trials.count()
        rng = random.Random(f"{rater.token}:{seq}")
        if practice:
            return _create_trial(rater, Trial.Kind.PRACTICE, _golden_pair(rater, rng), seq, rng)
        main_index = rater.trials.filter(kind__in=MAIN_KINDS).count()
        if main_index in attention_positions(rater.study.trials_per_rater, rater.study.attention_rate, rater.token):
            return _create_trial(rater, Trial.Kind.ATTENTION, _golden_pair(rater, rng), seq, rng)
        pair = _sampler(rater.study).next_pair(_study_state(rater.study), _rater_state(rater, seq))
        if pair is None:
            _complete(rater)
            return None
        return _create_trial(rater, Trial.Kind.TRIAL, pair, seq, rng)


@dataclass(frozen=True)
class JudgmentResult:
    """A stored judgment; ``created`` is False for an idempotent retry, ``correct`` set on golden trials."""

    judgment: Judgment
    created: bool
    correct: bool | None


def _max_per_minute() -> int:
    return int(getattr(settings, "RATING_MAX_JUDGMENTS_PER_MINUTE", 40))


def record_judgment(
    *, rater: Rater, trial_token: str, choice: str, response_ms: int, switches: int = 0
) -> JudgmentResult:
    """Store the rater's choice ('left' or 'right') on the trial issued to them, exactly once."""
    with transaction.atomic():
        # Locks the trial row: a double click, a retry and a second tab submitting the same
        # trial serialise here, and the later ones find the first one's judgment. The
        # one-to-one constraint on Judgment.trial is the backstop.
        trial = Trial.objects.select_for_update().filter(token=trial_token).first()
        if trial is None:
            raise RatingError("unknown_trial")
        if trial.rater_id != rater.pk:
            raise RatingError("not_your_trial")
        if choice not in ("left", "right"):
            raise RatingError("bad_choice")
        other = Trial.Side.B if trial.shown_left == Trial.Side.A else Trial.Side.A
        winner = trial.shown_left if choice == "left" else other
        existing = Judgment.objects.filter(trial=trial).first()
        if existing is not None:
            if existing.winner != winner:
                raise RatingError("already_judged")
            return JudgmentResult(existing, created=False, correct=None)
        rater = _locked(rater)
        _require_open(rater.study)
        if rater.excluded:
            raise RatingError("excluded")
        study = rater.study
        elapsed_ms = (timezone.now() - trial.issued_at).total_seconds() * 1000
        if response_ms < study.min_view_ms or elapsed_ms < study.min_view_ms:
            raise RatingError("too_fast")
        recent = Judgment.objects.filter(trial__rater=rater, created_at__gte=timezone.now() - timedelta(minutes=1))
        if recent.count() >= _max_per_minute():
            raise RatingError("rate_limited")
        try:
            with transaction.atomic():
                judgment = Judgment.objects.create(
                    trial=trial, winner=winner, response_ms=max(0, int(response_ms)), switches=max(0, int(switches))
                )
        except IntegrityError:
            # Only where the trial row could not be locked: another request stored it first.
            existing = Judgment.objects.get(trial=trial)
            if existing.winner != winner:
                raise RatingError("already_judged") from None
            return JudgmentResult(existing, created=False, correct=None)
        correct = None
        if trial.kind in (Trial.Kind.PRACTICE, Trial.Kind.ATTENTION):
            good = selectors.good_attention_stimulus((trial.a_id, trial.b_id))
            correct = good == (trial.a_id if winner == Trial.Side.A else trial.b_id)
        if trial.kind == Trial.Kind.ATTENTION and not correct:
            Rater.objects.filter(pk=rater.pk).update(attention_failures=F("attention_failures") + 1)
            rater.refresh_from_db(fields=["attention_failures"])
            _event(rater, "attention_failed", trial=trial.seq, failures=rater.attention_failures)
            if rater.attention_failures > study.attention_max_failures:
                _exclude(rater, f"failed {rater.attention_failures} attention checks", automatic=True)
        if trial.kind == Trial.Kind.PRACTICE:
            if rater.trials.filter(kind=Trial.Kind.PRACTICE, judgment__isnull=False).count() >= study.practice_trials:
                _advance(rater, Rater.Stage.PRACTICE)
        elif not rater.excluded:
            judged = Judgment.objects.filter(trial__rater=rater, trial__kind__in=MAIN_KINDS).count()
            if judged >= study.trials_per_rater:
                _complete(rater)
        if trial.kind == Trial.Kind.TRIAL and study.design == Study.Design.ADAPTIVE:
            _queue_design_refresh(study)
        return JudgmentResult(judgment, created=True, correct=correct)


def _queue_design_refresh(study: Study) -> None:
    """Queue a background refresh of an adaptive study's design once enough judgments arrived since the last one.

    The fit takes seconds, so it never runs in the rater's request; a failing refresh keeps the
    old shares (``refresh_design_task``), and a failing enqueue is logged, not raised (``robust``).
    """
    judged = _judged(study)
    conditions = study.stimuli.filter(role=Stimulus.Role.CONDITION).values("codec", "level").distinct().count()
    if not refresh_due(judged=judged, requested=study.design_requested, n_conditions=conditions):
        return
    # Conditional update: of the requests that reach the step at once, only the first one queues.
    if Study.objects.filter(pk=study.pk, design_requested=study.design_requested).update(design_requested=judged):
        transaction.on_commit(partial(refresh_design_task.enqueue, study.pk), robust=True)


def _exclude(rater: Rater, reason: str, *, automatic: bool) -> None:
    rater.excluded = True
    rater.excluded_reason = reason[:200]
    rater.save(update_fields=["excluded", "excluded_reason"])
    _event(rater, "excluded", reason=reason, automatic=automatic)


def exclude_rater(*, rater: Rater, reason: str) -> None:
    """Exclude a rater (their judgments stay stored, flagged by Rater.excluded); stops their session."""
    with transaction.atomic():
        _exclude(_locked(rater), reason, automatic=False)


def include_rater(*, rater: Rater) -> None:
    """Undo an exclusion; the rater may continue where they stopped."""
    with transaction.atomic():
        rater = _locked(rater)
        rater.excluded = False
        rater.excluded_reason = ""
        rater.save(update_fields=["excluded", "excluded_reason"])
        _event(rater, "included")


def completion_redirect(rater: Rater) -> str:
    """The crowd platform's return URL with ``{code}`` filled in, or '' when the study has none."""
    return rater.study.completion_redirect.replace("{code}", rater.completion_code)
