from django.contrib import admin

from evalsite.rating.models import Judgment, Rater, RaterEvent, Trial


@admin.register(Rater)
class RaterAdmin(admin.ModelAdmin):
    list_display = ["__str__", "study", "stage", "excluded", "attention_failures", "started_at", "completed_at"]
    list_filter = ["study", "stage", "excluded"]
    search_fields = ["crowd_id"]


@admin.register(Trial)
class TrialAdmin(admin.ModelAdmin):
    list_display = ["rater", "seq", "kind", "reference", "issued_at"]
    list_filter = ["kind", "rater__study"]


@admin.register(Judgment)
class JudgmentAdmin(admin.ModelAdmin):
    list_display = ["trial", "winner", "response_ms", "switches", "created_at"]
    list_filter = ["winner", "trial__rater__study"]


@admin.register(RaterEvent)
class RaterEventAdmin(admin.ModelAdmin):
    list_display = ["rater", "kind", "created_at"]
    list_filter = ["kind", "rater__study"]
