"""Screening attempts (colour vision, artifact discrimination) and their items.

A rater gets at most one attempt per test (a DB constraint), so a failed screening cannot be
retaken by reloading. The correct answers live only here, never in what the browser receives.
"""

from __future__ import annotations

from django.db import models

from evalsite.rating.models import Rater, new_token


class ScreeningAttempt(models.Model):
    """One rater's run through one screening test."""

    class Kind(models.TextChoices):
        COLOUR = "colour", "colour vision"
        ARTIFACT = "artifact", "artifact discrimination"

    rater = models.ForeignKey(Rater, on_delete=models.CASCADE, related_name="screening_attempts")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    seed = models.BigIntegerField(help_text="Seed of the digits, layouts and item order of this attempt.")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    score = models.PositiveIntegerField(null=True, blank=True, help_text="Correct answers counted by the pass mark.")
    passed = models.BooleanField(null=True)

    class Meta:
        ordering = ["rater", "started_at"]
        constraints = [models.UniqueConstraint(fields=["rater", "kind"], name="one_attempt_per_test")]

    def __str__(self) -> str:
        return f"{self.rater} {self.kind}"


class ScreeningItem(models.Model):
    """One plate or artifact item of an attempt; ``spec`` rebuilds its image, ``expected`` is the answer."""

    attempt = models.ForeignKey(ScreeningAttempt, on_delete=models.CASCADE, related_name="items")
    index = models.PositiveIntegerField()
    token = models.CharField(max_length=32, unique=True, default=new_token)
    spec = models.JSONField(default=dict)
    expected = models.CharField(max_length=16)
    answer = models.CharField(max_length=16, blank=True)
    correct = models.BooleanField(null=True)

    class Meta:
        ordering = ["attempt", "index"]
        constraints = [models.UniqueConstraint(fields=["attempt", "index"], name="unique_item_index")]

    def __str__(self) -> str:
        return f"{self.attempt} #{self.index}"


class ColourPlate(models.Model):
    """A colour plate drawn ahead by the background worker and stored in the study files.

    Drawing one costs about half a second of CPU, so raters' requests never draw: a colour
    attempt takes plates from this pool (``services.start_attempt``), each plate once, so no two
    raters see the same plate. ``digit`` is the answer and stays on the server.
    """

    digit = models.CharField(max_length=1)
    axis = models.CharField(max_length=8)
    seed = models.BigIntegerField()
    file = models.CharField(max_length=200, help_text="Study-files name of the drawn PNG.")
    drawn_at = models.DateTimeField(auto_now_add=True)
    taken_at = models.DateTimeField(null=True, blank=True, help_text="When an attempt took it (never given twice).")

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["axis", "taken_at"], name="plate_pool")]

    def __str__(self) -> str:
        return f"plate {self.pk} ({self.axis})"
