from django.contrib import admin

from events.models import Event
from mem0server.admin import ReadOnlyAdmin


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("id", "event_type", "status", "attempts", "account", "created_at", "finished_at")
    list_filter = ("status", "event_type")
    list_select_related = ("account",)
    search_fields = ("=id", "account__email", "error_code")
    date_hierarchy = "created_at"
