"""A study: references, the stimuli (reconstructions) made from them, and how raters see them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from evalsite.studies.schema import SETTINGS


def _from_study_file(path: str) -> dict[str, Any]:
    """``default``, ``help_text`` (and ``max_length``) of the Study field set by study-file key ``path``.

    They come from the table in ``schema.py``, so the model, the study file and the form agree.
    """
    setting = SETTINGS[path]
    options: dict[str, Any] = {"default": setting.default, "help_text": setting.help}
    if setting.max_length is not None:
        options["max_length"] = setting.max_length
    return options


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

    # Fields a study file sets take their defaults and help from schema.py (the study file's table).
    mode = models.CharField(max_length=20, choices=Mode.choices, **_from_study_file("presentation.mode"))
    crop_width = models.PositiveIntegerField(**_from_study_file("presentation.crop"))
    crop_height = models.PositiveIntegerField(**_from_study_file("presentation.crop"))
    min_view_ms = models.PositiveIntegerField(**_from_study_file("presentation.min_view_ms"))
    trials_per_rater = models.PositiveIntegerField(**_from_study_file("rating.trials_per_rater"))
    practice_trials = models.PositiveIntegerField(**_from_study_file("rating.practice_trials"))
    break_every = models.PositiveIntegerField(**_from_study_file("rating.break_every"))
    attention_rate = models.FloatField(**_from_study_file("rating.attention_rate"))
    attention_max_failures = models.PositiveIntegerField(**_from_study_file("rating.attention_max_failures"))
    attention_min = models.PositiveIntegerField(**_from_study_file("rating.attention_min"))
    repeat_share = models.FloatField(**_from_study_file("rating.repeat_share"))
    colour_plates = models.PositiveIntegerField(**_from_study_file("screening.colour_plates"))
    colour_pass = models.PositiveIntegerField(**_from_study_file("screening.colour_pass"))
    artifact_items = models.PositiveIntegerField(**_from_study_file("screening.artifact_items"))
    artifact_pass = models.PositiveIntegerField(**_from_study_file("screening.artifact_pass"))
    target_judgments = models.PositiveIntegerField(**_from_study_file("rating.target_judgments"))

    # Which pairs raters compare (docs/rating.md, "Trial assignment"). An adaptive study keeps
    # its current shares per pair of conditions, refreshed in the background from the MAP preview.
    class Design(models.TextChoices):
        BALANCED = "balanced", "balanced (neighbouring levels and close-bpp pairs, evenly)"
        ADAPTIVE = "adaptive", "adaptive (pairs that make the BD-rates most precise)"

    design = models.CharField(max_length=10, choices=Design.choices, **_from_study_file("rating.design"))
    design_shares = models.JSONField(
        default=list, blank=True, help_text="[codec_a, level_a, codec_b, level_b, share] rows; empty = not computed."
    )
    design_judgments = models.PositiveIntegerField(
        default=0, help_text="Judgments the shares were computed from; 0 = the base (pilot) design."
    )
    design_requested = models.PositiveIntegerField(
        default=0, help_text="Judgments when the last refresh was queued, so it is queued once per step."
    )
    completion_code = models.CharField(blank=True, **_from_study_file("completion.code"))
    completion_redirect = models.URLField(blank=True, **_from_study_file("completion.redirect"))

    class Outcome(models.TextChoices):
        """How a rater's session ends (schema.OUTCOMES); each has a code and a redirect (rating/outcomes.py)."""

        COMPLETED = "completed"
        SCREENED_OUT = "screened_out"
        EXCLUDED = "excluded"
        DECLINED = "declined"
        REFUSED_DEVICE = "refused_device"

    # The other ends of a session ([completion.<outcome>] tables): {outcome: {"code": ..., "redirect": ...}}.
    # "completed" lives in completion_code / completion_redirect above; see rating/outcomes.py for defaults.
    outcomes = models.JSONField(
        default=dict, blank=True, help_text="Code and redirect per outcome other than completed, from the study file."
    )
    require_crowd_id = models.BooleanField(**_from_study_file("rating.require_crowd_id"))
    allow_ties = models.BooleanField(**_from_study_file("rating.allow_ties"))
    high_density = models.CharField(max_length=16, **_from_study_file("presentation.high_density"))
    max_pixel_ratio = models.FloatField(**_from_study_file("presentation.max_pixel_ratio"))
    flicker_view_both = models.BooleanField(**_from_study_file("presentation.flicker_view_both"))
    # The information sheet raters consent to (rating/consent.html); consent_version is stored with each consent.
    consent_title = models.CharField(**_from_study_file("consent.title"))
    consent_duration = models.CharField(blank=True, **_from_study_file("consent.duration"))
    consent_pay = models.CharField(blank=True, **_from_study_file("consent.pay"))
    consent_contact = models.CharField(blank=True, **_from_study_file("consent.contact"))
    consent_ethics_reference = models.CharField(blank=True, **_from_study_file("consent.ethics_reference"))
    consent_retention = models.CharField(blank=True, **_from_study_file("consent.retention"))
    consent_text = models.TextField(blank=True, **_from_study_file("consent.text"))
    consent_version = models.CharField(blank=True, **_from_study_file("consent.version"))
    retention_days = models.PositiveIntegerField(**_from_study_file("consent.retention_days"))

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
