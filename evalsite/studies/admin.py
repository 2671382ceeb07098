"""Django admin for studies, references, stimuli and the audit trail.

Stimuli of a study that left the draft state are read-only here too: a live study's stimuli are frozen.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count
from django.http import HttpRequest

from evalsite.studies.models import Reference, Stimulus, Study, StudyEvent


class ReferenceInline(admin.TabularInline):
    model = Reference
    fields = ["name", "width", "height", "crop_x", "crop_y", "path"]
    readonly_fields = ["name", "width", "height", "path"]
    extra = 0
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Study | None = None) -> bool:
        return False


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = [
        "slug",
        "title",
        "owner",
        "state",
        "mode",
        "generation",
        "n_references",
        "n_raters",
        "created_at",
        "launched_at",
    ]
    list_filter = ["state", "mode", "generation", "owner"]
    search_fields = ["slug", "title", "owner__username"]
    date_hierarchy = "created_at"
    filter_horizontal = ["shared_with"]
    readonly_fields = [
        "state",
        "created_at",
        "launched_at",
        "closed_at",
        "generation",
        "generation_done",
        "generation_total",
        "generation_message",
    ]
    inlines = [ReferenceInline]

    def get_queryset(self, request: HttpRequest):
        return (
            super()
            .get_queryset(request)
            .annotate(references_count=Count("references", distinct=True), raters_count=Count("raters", distinct=True))
        )

    @admin.display(description="images", ordering="references_count")
    def n_references(self, study: Study) -> int:
        return study.references_count  # type: ignore[attr-defined]  # annotated by get_queryset

    @admin.display(description="raters", ordering="raters_count")
    def n_raters(self, study: Study) -> int:
        return study.raters_count  # type: ignore[attr-defined]  # annotated by get_queryset


@admin.register(Reference)
class ReferenceAdmin(admin.ModelAdmin):
    list_display = ["name", "study", "width", "height", "crop_x", "crop_y"]
    list_filter = ["study"]
    search_fields = ["name", "study__slug"]


@admin.register(Stimulus)
class StimulusAdmin(admin.ModelAdmin):
    list_display = ["reference", "role", "codec", "level", "bpp", "target_bpp", "param", "psnr", "ssimulacra2"]
    list_filter = ["study", "role", "codec", "level"]
    search_fields = ["reference__name", "codec", "study__slug"]
    list_select_related = ["reference__study"]

    def has_change_permission(self, request: HttpRequest, obj: Stimulus | None = None) -> bool:
        frozen = obj is not None and obj.study.state != Study.State.DRAFT
        return not frozen and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Stimulus | None = None) -> bool:
        frozen = obj is not None and obj.study.state != Study.State.DRAFT
        return not frozen and super().has_delete_permission(request, obj)


@admin.register(StudyEvent)
class StudyEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "study", "action", "actor", "detail"]
    list_filter = ["action", "study"]
    search_fields = ["study__slug", "detail"]
    date_hierarchy = "created_at"

    def has_change_permission(self, request: HttpRequest, obj: StudyEvent | None = None) -> bool:
        return False  # the audit trail is append-only
