from django.contrib import admin

from evalsite.studies.models import Reference, Stimulus, Study


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["slug", "title", "owner", "state", "mode", "created_at"]
    list_filter = ["state", "mode"]
    search_fields = ["slug", "title"]


@admin.register(Reference)
class ReferenceAdmin(admin.ModelAdmin):
    list_display = ["name", "study", "width", "height"]
    list_filter = ["study"]


@admin.register(Stimulus)
class StimulusAdmin(admin.ModelAdmin):
    list_display = ["reference", "role", "codec", "level", "bpp"]
    list_filter = ["study", "role", "codec"]
