from django.contrib import admin

from evalsite.api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "name", "hint", "created_at", "last_used_at", "revoked"]
    list_filter = ["revoked"]
    readonly_fields = ["user", "name", "hint", "created_at", "last_used_at"]
    search_fields = ["user__username", "name"]

    def has_add_permission(self, request) -> bool:  # tokens are issued by `manage.py create_api_token`
        return False
