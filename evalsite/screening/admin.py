from django.contrib import admin

from evalsite.screening.models import ScreeningAttempt, ScreeningItem


class ScreeningItemInline(admin.TabularInline):
    model = ScreeningItem
    readonly_fields = ("index", "spec", "expected", "answer", "correct")
    fields = readonly_fields
    extra = 0
    can_delete = False


@admin.register(ScreeningAttempt)
class ScreeningAttemptAdmin(admin.ModelAdmin):
    list_display = ["rater", "kind", "score", "passed", "started_at", "finished_at"]
    list_filter = ["kind", "passed", "rater__study"]
    inlines = [ScreeningItemInline]
