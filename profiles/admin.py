from django.contrib import admin

from mem0server.admin import ReadOnlyAdmin
from profiles.models import Profile, ProfileJob, ProfileSettings


@admin.register(ProfileSettings)
class ProfileSettingsAdmin(ReadOnlyAdmin):
    list_display = ("account", "enabled", "updated_at")
    list_select_related = ("account",)


@admin.register(Profile)
class ProfileAdmin(ReadOnlyAdmin):
    list_display = ("entity_id", "status", "account", "generation_count", "generated_at")
    list_filter = ("status", "account")
    list_select_related = ("account",)
    search_fields = ("entity_id", "account__email", "error")


@admin.register(ProfileJob)
class ProfileJobAdmin(ReadOnlyAdmin):
    list_display = ("id", "operation", "status", "account", "succeeded", "failed", "skipped", "created_at")
    list_filter = ("operation", "status", "account")
    list_select_related = ("account",)
    search_fields = ("=id", "account__email")
    date_hierarchy = "created_at"
