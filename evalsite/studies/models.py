"""A study: references, the stimuli (reconstructions) made from them, and how raters see them."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Study(models.Model):
    """One human evaluation: a set of references, codec conditions and presentation settings.

    States run draft -> live <-> paused -> closed; a live study's stimuli are frozen.
    """

    class State(models.TextChoices):
        DRAFT = "draft"
        LIVE = "live"
        PAUSED = "paused"
        CLOSED = "closed"

    class Mode(models.TextChoices):
        SIDE_BY_SIDE = "side_by_side", "side by side with the reference"
        FLICKER = "flicker", "flicker (switch views in place)"

    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="studies")
    shared_with = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="shared_studies")
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    study_file = models.TextField(blank=True, help_text="The TOML study file this study was created from.")

    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.SIDE_BY_SIDE)
    crop_width = models.PositiveIntegerField(default=512, help_text="Crop shown to raters, in reference pixels.")
    crop_height = models.PositiveIntegerField(default=512)
    min_view_ms = models.PositiveIntegerField(default=1000, help_text="A choice is accepted only after this long.")
    trials_per_rater = models.PositiveIntegerField(default=100)
    practice_trials = models.PositiveIntegerField(default=3)
    break_every = models.PositiveIntegerField(default=50, help_text="Offer a break after this many trials.")
    attention_rate = models.FloatField(default=0.05, help_text="Share of trials that are attention checks.")
    attention_max_failures = models.PositiveIntegerField(default=2, help_text="More failures exclude the rater.")
    colour_plates = models.PositiveIntegerField(default=8)
    colour_pass = models.PositiveIntegerField(default=7, help_text="Plates a rater must read correctly.")
    artifact_items = models.PositiveIntegerField(default=8)
    artifact_pass = models.PositiveIntegerField(default=6, help_text="Clearly visible items a rater must get right.")
    target_judgments = models.PositiveIntegerField(default=0, help_text="0 = no target.")

    # Which pairs raters compare (docs/rating.md, "Trial assignment"). An adaptive study keeps
    # its current shares per pair of conditions, refreshed in the background from the MAP preview.
    class Design(models.TextChoices):
        BALANCED = "balanced", "balanced (neighbouring levels and close-bpp pairs, evenly)"
        ADAPTIVE = "adaptive", "adaptive (pairs that make the BD-rates most precise)"

    design = models.CharField(max_length=10, choices=Design.choices, default=Design.BALANCED)
    design_shares = models.JSONField(
        default=list, blank=True, help_text="[codec_a, level_a, codec_b, level_b, share] rows; empty = not computed."
    )
    design_judgments = models.PositiveIntegerField(
        default=0, help_text="Judgments the shares were computed from; 0 = the base (pilot) design."
    )
    design_requested = models.PositiveIntegerField(
        default=0, help_text="Judgments when the last refresh was queued, so it is queued once per step."
    )
    completion_code = models.CharField(max_length=64, blank=True)
    completion_redirect = models.URLField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    # Background generation (the pico ladder and the import), shown on the study page while it runs.
    class Generation(models.TextChoices):
        NONE = "none"
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    generation = models.CharField(max_length=10, choices=Generation.choices, default=Generation.NONE)
    generation_done = models.PositiveIntegerField(default=0, help_text="Reconstructions finished so far.")
    generation_total = models.PositiveIntegerField(default=0)
    generation_message = models.TextField(blank=True, help_text="Last progress note, or the error that stopped it.")

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return self.slug


class Reference(models.Model):
    """A reference (original) image of a study; ``path`` is relative to STUDY_DATA_DIR."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="references")
    name = models.CharField(max_length=200, help_text="The image's stem, as in manifest.csv.")
    path = models.CharField(max_length=500)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    crop_x = models.PositiveIntegerField(null=True, blank=True, help_text="Empty = centre.")
    crop_y = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["study", "name"], name="unique_reference_name")]

    def __str__(self) -> str:
        return f"{self.study.slug}/{self.name}"


class Stimulus(models.Model):
    """A reconstruction of a reference: one condition (codec, level) on one image.

    ``role`` separates the study's conditions from stimuli made only for attention checks
    and screening, which never enter exports or the Elo fit.
    """

    class Role(models.TextChoices):
        CONDITION = "condition"
        ATTENTION = "attention"
        SCREENING = "screening"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="stimuli")
    reference = models.ForeignKey(Reference, on_delete=models.CASCADE, related_name="stimuli")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.CONDITION)
    codec = models.CharField(max_length=64)
    level = models.PositiveIntegerField()
    bpp = models.FloatField()
    target_bpp = models.FloatField(null=True, blank=True)
    param = models.CharField(max_length=64, blank=True)
    nbytes = models.PositiveIntegerField(null=True, blank=True)
    path = models.CharField(max_length=500, help_text="Decoded PNG, relative to STUDY_DATA_DIR.")
    sha256 = models.CharField(max_length=64, blank=True)
    psnr = models.FloatField(null=True, blank=True)
    ms_ssim = models.FloatField(null=True, blank=True)
    ssimulacra2 = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["reference__name", "codec", "level"]
        verbose_name_plural = "stimuli"
        constraints = [
            models.UniqueConstraint(fields=["reference", "role", "codec", "level"], name="unique_stimulus_condition")
        ]
        indexes = [models.Index(fields=["study", "role"])]

    def __str__(self) -> str:
        return f"{self.reference}:{self.codec}-{self.level}"


class StudyEvent(models.Model):
    """Audit trail: who changed a study's state, stimuli or raters, and when."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=32)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.study.slug}: {self.action}"
