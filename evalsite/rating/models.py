"""Raters, the trials issued to them and their judgments.

A rater never sees a stimulus id: trials carry an opaque random ``token`` and images are
served by per-trial tokens (see ``rating/tokens.py``).
"""

from __future__ import annotations

import secrets

from django.db import IntegrityError, models, transaction
from django.db.models import F, Q

from evalsite.studies.models import Reference, Stimulus, Study


def new_token() -> str:
    """A URL-safe random token (128 bits) for raters and trials."""
    return secrets.token_urlsafe(16)


class Rater(models.Model):
    """One participant of one study, identified by a browser token and optionally a crowd id."""

    class Stage(models.TextChoices):
        CONSENT = "consent"
        INSTRUCTIONS = "instructions"
        DISPLAY = "display"
        COLOUR = "colour"
        ARTIFACT = "artifact"
        PRACTICE = "practice"
        TRIALS = "trials"
        DONE = "done"
        SCREENED_OUT = "screened_out"
        EXCLUDED = "excluded"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="raters")
    token = models.CharField(max_length=32, unique=True, default=new_token)
    crowd_id = models.CharField(max_length=128, blank=True, help_text="PROLIFIC_PID or pid from the study link.")
    crowd_params = models.JSONField(default=dict, blank=True)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.CONSENT)
    excluded = models.BooleanField(default=False)
    excluded_reason = models.CharField(max_length=200, blank=True)
    attention_failures = models.PositiveIntegerField(default=0)
    device_pixel_ratio = models.FloatField(null=True, blank=True)
    window_width = models.PositiveIntegerField(null=True, blank=True)
    window_height = models.PositiveIntegerField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completion_code = models.CharField(max_length=64, blank=True)
    # Viewing conditions besides the window and pixel ratio above (display check; raters.csv).
    browser = models.CharField(max_length=32, blank=True, help_text="Browser family read from the user agent.")
    zoom_hint = models.FloatField(
        null=True, blank=True, help_text="outerWidth / innerWidth at the display check (about 1 at 100% zoom)."
    )
    consent_version = models.CharField(max_length=64, blank=True, help_text="Information sheet consented to.")
    consented_at = models.DateTimeField(null=True, blank=True)
    # A salted hash of the crowd id: after purge_identifiers blanks crowd_id, the same id still
    # cannot start again (docs/studies.md, "Privacy").
    crowd_hash = models.CharField(max_length=64, blank=True, db_index=True)
    identifiers_purged_at = models.DateTimeField(null=True, blank=True)
    preview = models.BooleanField(
        default=False, help_text="A researcher's walk through the flow: left out of every table, fit and count."
    )
    # sha256 of the key of the browser session that holds this rater (access.py): a rater page finds its
    # rater in one query, without reading the session; never the key itself, which would let whoever
    # reads this table act as the rater.
    session_digest = models.CharField(max_length=64, blank=True, db_index=True, editable=False)

    class Meta:
        ordering = ["started_at"]
        constraints = [
            # One crowd id per study: a rater who failed screening cannot start over.
            models.UniqueConstraint(fields=["study", "crowd_id"], condition=~Q(crowd_id=""), name="unique_crowd_id")
        ]

    def __str__(self) -> str:
        return f"{self.study.slug}/{self.crowd_id or self.pk}"


class EntryCount(models.Model):
    """Visits to study links from one client address in its current minute: the entry limit (``entry_limit.py``)."""

    address = models.CharField(max_length=32, primary_key=True, help_text="Keyed hash of the client address.")
    minute = models.BigIntegerField(db_index=True, help_text="The minute counted (Unix time // 60).")
    visits = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.visits} visits in minute {self.minute}"


def lock_rater(rater: Rater) -> Rater:
    """Re-read ``rater`` (with its study) under a row lock, for the length of the caller's transaction.

    Every write that moves a rater on (a step, a screening answer, a trial, an exclusion) takes
    this lock first, so two tabs or a retry of the same rater serialise instead of both passing
    a stage check. Raises when called outside ``transaction.atomic()``, where the lock would be
    released at once.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_rater() must run inside transaction.atomic()")
    return Rater.objects.select_for_update().select_related("study").get(pk=rater.pk)


class Trial(models.Model):
    """One comparison issued to a rater: reference plus stimuli A and B of the same image."""

    class Kind(models.TextChoices):
        PRACTICE = "practice"
        TRIAL = "trial"
        ATTENTION = "attention"
        REPEAT = "repeat"  # an earlier trial's pair again, sides swapped (the rater's consistency)

    class Side(models.TextChoices):
        A = "a"
        B = "b"

    rater = models.ForeignKey(Rater, on_delete=models.CASCADE, related_name="trials")
    seq = models.PositiveIntegerField(help_text="0-based order of issue within the rater.")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TRIAL)
    token = models.CharField(max_length=32, unique=True, default=new_token)
    reference = models.ForeignKey(Reference, on_delete=models.PROTECT, related_name="+")
    a = models.ForeignKey(Stimulus, on_delete=models.PROTECT, related_name="+")
    b = models.ForeignKey(Stimulus, on_delete=models.PROTECT, related_name="+")
    shown_left = models.CharField(max_length=1, choices=Side.choices)
    crop_x = models.PositiveIntegerField()
    crop_y = models.PositiveIntegerField()
    crop_w = models.PositiveIntegerField()
    crop_h = models.PositiveIntegerField()
    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["rater", "seq"]
        constraints = [models.UniqueConstraint(fields=["rater", "seq"], name="unique_trial_seq")]

    def __str__(self) -> str:
        return f"{self.rater} #{self.seq}"

    def chosen(self, winner: str) -> int | None:
        """The stimulus id an answer chose: ``a_id`` for 'a', ``b_id`` for 'b', None for a tie."""
        return {Trial.Side.A.value: self.a_id, Trial.Side.B.value: self.b_id}.get(winner)


class Judgment(models.Model):
    """The rater's answer on one trial (A, B, or a tie where the study allows it); at most one per trial (a DB constraint)."""

    class Winner(models.TextChoices):
        A = "a"
        B = "b"
        TIE = "tie", "can't decide"

    trial = models.OneToOneField(Trial, on_delete=models.CASCADE, related_name="judgment")
    winner = models.CharField(max_length=3, choices=Winner.choices)
    response_ms = models.PositiveIntegerField()
    switches = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.trial}: {self.winner}"


class RaterEvent(models.Model):
    """Audit row: one step of a rater's session (consent, display check, exclusion ...)."""

    rater = models.ForeignKey(Rater, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.rater} {self.kind}"


class PairCount(models.Model):
    """Compared trials issued per pair of a study (previews left out): the scheduler's tally.

    Kept as trials are made (:func:`count_issued`), so that issuing a trial reads one row per
    pair in use instead of counting every trial of the study inside the write transaction.
    """

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="+")
    reference = models.ForeignKey(Reference, on_delete=models.CASCADE, related_name="+")
    first = models.ForeignKey(Stimulus, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Stimulus, on_delete=models.CASCADE, related_name="+")
    issued = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "first", "second"], name="unique_pair_count")]

    def __str__(self) -> str:
        return f"{self.study_id}: {self.first_id}-{self.second_id} x{self.issued}"


def count_issued(*, study_id: int, reference_id: int, first_id: int, second_id: int) -> None:
    """Add one to the tally of a pair (``first_id`` < ``second_id``), creating its row on first use.

    Two raters may issue a pair's first trial at once: the unique constraint lets one insert
    win, and the other adds to the row it made.
    """
    pair = PairCount.objects.filter(study_id=study_id, first_id=first_id, second_id=second_id)
    if pair.update(issued=F("issued") + 1):
        return
    try:
        with transaction.atomic():
            PairCount.objects.create(
                study_id=study_id, reference_id=reference_id, first_id=first_id, second_id=second_id, issued=1
            )
    except IntegrityError:
        pair.update(issued=F("issued") + 1)
