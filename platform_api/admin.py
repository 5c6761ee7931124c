from django.contrib import admin

from mem0server.admin import ReadOnlyAdmin
from platform_api.models import Feedback, ProjectSettings


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ("memory_id", "feedback", "short_reason", "account", "created_at")
    list_filter = ("feedback", "account")
    list_select_related = ("account",)
    search_fields = ("=memory_id", "feedback_reason")
    date_hierarchy = "created_at"

    @admin.display(description="reason")
    def short_reason(self, obj: Feedback) -> str:
        return (obj.feedback_reason or "")[:100]


@admin.register(ProjectSettings)
class ProjectSettingsAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "account", "memory_depth", "multilingual", "updated_at")
    list_select_related = ("account",)
    search_fields = ("account__email", "custom_instructions")
