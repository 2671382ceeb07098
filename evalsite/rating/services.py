"""Every write of a rater's session: start, consent, display check, trials, judgments, exclusion.

Keyword-only functions, each in one transaction, each leaving a RaterEvent audit row. They
raise ``RatingError`` with a stable code; views show its message. Which pair comes next is
``assignment``'s business, display geometry ``geometry``'s; this module only writes.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac

from evalsite.rating import assignment, selectors
from evalsite.rating.errors import RatingError
from evalsite.rating.geometry import REFUSED_DEVICE_CODES, Display, browser_family, check_display
from evalsite.rating.models import Judgment, Rater, RaterEvent, Trial, count_issued, lock_rater
from evalsite.rating.outcomes import COMPLETED, outcome
from evalsite.rating.scheduler import Pair, SessionPlan
from evalsite.rating.serving import crop_boxes, render_study_crops
from evalsite.rating.stages import stage_after
from evalsite.rating.stimuli import make_rater_stimuli
from evalsite.rating.tasks import queue_design_refresh
from evalsite.studies.models import Study, StudyEvent

CROWD_PARAMS = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID", "pid")
PREVIEW_KEEP = timedelta(days=1)  # a researcher's preview raters are deleted when a new preview starts after this


def prepare_rater_stimuli(*, study: Study) -> None:
    """Create the attention-check and artifact-screening stimuli of every reference, and render
    every crop raters can be shown into the study files (idempotent; run at generation)."""
    with transaction.atomic():
        make_rater_stimuli(study=study)
    render_study_crops(study)


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


def crowd_hash(study: Study, crowd_id: str) -> str:
    """A salted hash of a crowd id in ``study``: kept after purge_identifiers, so the id cannot start again."""
    return salted_hmac("pico.rating.crowd", f"{study.pk}:{crowd_id}", algorithm="sha256").hexdigest()


def start_rater(*, study: Study, params: Mapping[str, str], user_agent: str = "") -> Rater:
    """A new rater for the study link, or the existing one for a returning crowd id (who resumes).

    New raters are refused once the study has ``target_judgments`` compared judgments from
    raters in good standing; raters already in the study may finish. A study with
    ``require_crowd_id`` refuses links without ``PROLIFIC_PID`` or ``pid``. ``user_agent`` is not
    stored here (nothing but the crowd parameters is kept before consent; the display check stores it).
    """
    crowd = {name: str(params[name])[:128] for name in CROWD_PARAMS if params.get(name)}
    crowd_id = crowd.get("PROLIFIC_PID") or crowd.get("pid") or ""
    hashed = crowd_hash(study, crowd_id) if crowd_id else ""
    if crowd_id:
        existing = Rater.objects.filter(study=study, crowd_id=crowd_id).first()
        if existing:
            return existing
        if Rater.objects.filter(study=study, crowd_hash=hashed, crowd_id="").exists():
            raise RatingError("already_taken_part")  # the id was purged, its hash kept
    _require_open(study)
    if study.require_crowd_id and not crowd_id:
        raise RatingError("crowd_id_required")
    if study.target_judgments and selectors.judged_count(study) >= study.target_judgments:
        raise RatingError("study_full")
    try:
        with transaction.atomic():
            rater = Rater.objects.create(
                study=study, crowd_id=crowd_id, crowd_hash=hashed, crowd_params=crowd
            )  # no browser string before consent: record_display stores it
            _event(rater, "start", params=crowd)
    except IntegrityError:
        # The same crowd id arrived twice at once (two tabs): the unique constraint let one in.
        return Rater.objects.get(study=study, crowd_id=crowd_id)
    return rater


def start_preview(*, study: Study) -> Rater:
    """A researcher's preview rater: walks the whole flow, and is left out of every table, fit and count.

    Preview raters have no crowd id; those older than ``PREVIEW_KEEP`` are deleted here, so
    previews do not pile up. The study must be live (raters' pages are).
    """
    _require_open(study)
    with transaction.atomic():
        Rater.objects.filter(study=study, preview=True, started_at__lt=timezone.now() - PREVIEW_KEEP).delete()
        rater = Rater.objects.create(study=study, preview=True)
        _event(rater, "start", preview=True)
    return rater


def consent_version(study: Study) -> str:
    """The study's information-sheet version: ``[consent] version``, else a hash of the sheet's text."""
    if study.consent_version:
        return study.consent_version
    sheet = "\n".join(
        [
            study.consent_title,
            study.consent_duration,
            study.consent_pay,
            study.consent_contact,
            study.consent_ethics_reference,
            study.consent_retention,
            study.consent_text,
            str(study.trials_per_rater),
        ]
    )
    return "sha256:" + hashlib.sha256(sheet.encode("utf-8")).hexdigest()[:12]


def give_consent(*, rater: Rater) -> None:
    """Record informed consent (with the information sheet's version) and move on to the instructions."""
    with transaction.atomic():
        rater = lock_rater(rater)
        if rater.stage == Rater.Stage.CONSENT:
            rater.consent_version = consent_version(rater.study)
            rater.consented_at = timezone.now()
            rater.save(update_fields=["consent_version", "consented_at"])
        _finish_stage(rater, Rater.Stage.CONSENT)


def decline_consent(*, rater: Rater) -> None:
    """The rater did not consent: delete the rater (crowd id, browser string, events); nothing identifying stays.

    Only a rater still at the consent step can decline. The study's audit trail counts the
    decline without naming anyone; the same crowd id may open the link again and start afresh.
    """
    with transaction.atomic():
        rater = lock_rater(rater)
        if rater.stage != Rater.Stage.CONSENT:
            raise RatingError("wrong_stage")
        if not rater.preview:
            StudyEvent.objects.create(study=rater.study, action="rater_declined")
        rater.delete()


def finish_instructions(*, rater: Rater) -> None:
    """The rater has read the instructions and the worked example."""
    with transaction.atomic():
        _finish_stage(lock_rater(rater), Rater.Stage.INSTRUCTIONS)


def record_display(*, rater: Rater, display: Display) -> Rater:
    """Check and store the rater's display, refusing phones, small windows, browser zoom and too dense screens.

    Returns the rater as stored now (with its study and next step). The viewing conditions (pixel
    ratio, window, browser family, zoom hint) are stored when the display passes and when it is
    refused for good (a phone, a pixel ratio the study refuses: the ``refused_device`` outcome,
    with a ``device_refused`` event).
    """
    refused: RatingError | None = None
    with transaction.atomic():
        rater = lock_rater(rater)
        if rater.stage != Rater.Stage.DISPLAY:
            raise RatingError("wrong_stage")
        try:
            check_display(rater.study, display)
        except RatingError as exc:
            if exc.code not in REFUSED_DEVICE_CODES:
                raise  # the rater can fix it (window size, zoom) and try again
            refused = exc  # kept, with the viewing conditions, for the decisions export
        rater.device_pixel_ratio = display.device_pixel_ratio
        rater.window_width, rater.window_height = display.window_width, display.window_height
        rater.zoom_hint = display.zoom_hint
        rater.user_agent = display.user_agent[:400]
        rater.browser = browser_family(display.user_agent)
        rater.save(
            update_fields=[
                "device_pixel_ratio",
                "window_width",
                "window_height",
                "zoom_hint",
                "user_agent",
                "browser",
            ]
        )
        if refused is not None:
            _event(rater, "device_refused", code=refused.code)
        else:
            _finish_stage(rater, Rater.Stage.DISPLAY)
    if refused is not None:
        raise refused
    return rater


def _create_trial(rater: Rater, kind: str, pair: Pair, seq: int, rng: random.Random) -> Trial:
    a, b = (pair.first, pair.second) if rng.random() < 0.5 else (pair.second, pair.first)
    shown_left = rng.choice(Trial.Side.values)
    if kind == Trial.Kind.REPEAT:
        # The same pair as the rater's earlier trial, each stimulus on the other side of the screen.
        earlier = rater.trials.get(kind=Trial.Kind.TRIAL, reference_id=pair.image, a_id__in=(a, b), b_id__in=(a, b))
        a, b = earlier.a_id, earlier.b_id
        shown_left = Trial.Side.B if earlier.shown_left == Trial.Side.A else Trial.Side.A
    x, y, w, h = crop_boxes(rater.study)[pair.image]
    if kind == Trial.Kind.TRIAL and not rater.preview:
        count_issued(study_id=rater.study_id, reference_id=pair.image, first_id=pair.first, second_id=pair.second)
    return Trial.objects.create(
        rater=rater,
        seq=seq,
        kind=kind,
        reference_id=pair.image,
        a_id=a,
        b_id=b,
        shown_left=shown_left,
        crop_x=x,
        crop_y=y,
        crop_w=w,
        crop_h=h,
    )


def _complete(rater: Rater) -> None:
    rater.stage = Rater.Stage.DONE
    rater.completed_at = timezone.now()
    rater.completion_code = outcome(rater.study, COMPLETED).code  # study-wide, so the platform can match it
    rater.save(update_fields=["stage", "completed_at", "completion_code"])
    _event(rater, "completed")


def issue_trial(*, rater: Rater) -> Trial | None:
    """The rater's current trial: the unanswered one (after a reload), else a new one; None when done."""
    with transaction.atomic():
        # Locks the rater: two tabs asking at once would otherwise both create trial number n
        # (the unique (rater, seq) constraint is the backstop where rows cannot be locked).
        rater = lock_rater(rater)
        _require_active(rater)
        if rater.stage == Rater.Stage.DONE:
            return None  # the last judgment completed the session
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
    # With its judgment, if any (one read): a retry is answered without another query.
    trial = Trial.objects.select_for_update(of=("self",)).select_related("judgment").filter(token=trial_token).first()
    if trial is None:
        raise RatingError("unknown_trial")
    if trial.rater_id != rater.pk:
        raise RatingError("not_your_trial")
    return trial


def _chosen_side(trial: Trial, choice: str, *, allow_ties: bool) -> str:
    """The winner ('a', 'b' or 'tie') behind the rater's choice of 'left', 'right' or, where the study allows it, 'tie'."""
    if choice == "tie" and allow_ties:
        return Judgment.Winner.TIE
    if choice not in ("left", "right"):
        raise RatingError("bad_choice")
    other = Trial.Side.B if trial.shown_left == Trial.Side.A else Trial.Side.A
    return trial.shown_left if choice == "left" else other


def _check_answerable(rater: Rater, trial: Trial, response_ms: int, switches: int) -> None:
    """A new answer is accepted only from an active rater who looked long enough (at both copies, if asked) and is not racing."""
    _require_active(rater)
    study = rater.study
    if study.mode == Study.Mode.FLICKER and study.flicker_view_both and switches < 1:
        raise RatingError("view_both")  # the view opens on A, so B was never shown
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
    """On practice and attention trials, whether the rater chose the right answer (``selectors.golden_winner``)."""
    if trial.kind not in (Trial.Kind.PRACTICE, Trial.Kind.ATTENTION):
        return None
    good = selectors.golden_winner((trial.a_id, trial.b_id))
    return good is not None and good == trial.chosen(winner)  # a tie on a pair with a right answer is wrong


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
    if trial.kind == Trial.Kind.TRIAL and study.design == Study.Design.ADAPTIVE and not rater.preview:
        queue_design_refresh(study)


def record_judgment(
    *, rater: Rater, trial_token: str, choice: str, response_ms: int, switches: int = 0
) -> JudgmentResult:
    """Store the rater's choice ('left' or 'right') on the trial issued to them, exactly once.

    Validate, score the attention check, store, then move the session on.
    """
    with transaction.atomic():
        trial = _locked_trial(rater, trial_token)
        winner = _chosen_side(trial, choice, allow_ties=rater.study.allow_ties)
        existing = getattr(trial, "judgment", None)
        if existing is not None:
            return _repeat(existing, winner)
        rater = lock_rater(rater)
        _check_answerable(rater, trial, response_ms, switches)
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


def purge_identifiers(*, study: Study) -> int:
    """Blank the crowd ids, crowd parameters and browser strings of a closed study's raters; returns how many.

    Judgments, trials and the rater rows stay (pseudonymous: ``r<id>``); each rater keeps the salted
    hash of their crowd id (``crowd_hash``), so the unique (study, crowd id) constraint has nothing
    left to compare and ``start_rater`` still refuses that id. Run by ``manage.py purge_identifiers``.
    """
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study.pk)
        if study.state != Study.State.CLOSED:
            raise RatingError("study_not_closed")
        now = timezone.now()
        purged = 0
        for rater in study.raters.filter(identifiers_purged_at__isnull=True).select_for_update():
            if rater.crowd_id and not rater.crowd_hash:
                rater.crowd_hash = crowd_hash(study, rater.crowd_id)  # raters from before hashes were kept
            rater.crowd_id, rater.crowd_params, rater.user_agent = "", {}, ""
            rater.identifiers_purged_at = now
            rater.save(update_fields=["crowd_id", "crowd_hash", "crowd_params", "user_agent", "identifiers_purged_at"])
            rater.events.filter(kind="start").update(detail={})  # the start event recorded the crowd parameters
            _event(rater, "identifiers_purged")
            purged += 1
        return purged


def session_plan(*, study: Study) -> SessionPlan:
    """The session every rater of ``study`` is planned to make: its length, attention checks and repeats.

    Positions differ per rater, the counts do not; the researcher side warns from it when the pair
    design shortens sessions or exclusion cannot fire (``studies.services.quality_warnings``).
    """
    return assignment.study_plan(study, "")
