from django.contrib import admin

from apikeys.authentication import AdminPrincipal
from mem0server.admin import ReadOnlyAdmin
from memories import services
from memories.models import Memory, MemoryHistory


@admin.register(Memory)
class MemoryAdmin(ReadOnlyAdmin):
    list_display = (
        "short_text",
        "account",
        "user_id",
        "agent_id",
        "app_id",
        "run_id",
        "role",
        "created_at",
        "updated_at",
    )
    list_filter = ("account", "role", "created_at")
    list_select_related = ("account",)
    search_fields = ("text", "=id", "=user_id", "=agent_id", "=app_id", "=run_id")
    date_hierarchy = "created_at"
    # The embedding is 384 numbers: not something to read or edit by hand.
    exclude = ("embedding",)
    readonly_fields = ("id", "hash", "created_at", "updated_at")
    show_full_result_count = False
    # Deleted only through this action, which records DELETE history rows.
    actions = ["delete_with_history"]

    @admin.action(description="Delete the selected memories (history keeps a DELETE row)")
    def delete_with_history(self, request, queryset) -> None:
        ids = list(queryset.values_list("id", flat=True))
        deleted = services.memories_delete_ids(principal=AdminPrincipal(auth_type="django_admin"), memory_ids=ids)
        self.message_user(request, f"Deleted {deleted} memories.")

    @admin.display(description="memory")
    def short_text(self, obj: Memory) -> str:
        return obj.text[:100]


@admin.register(MemoryHistory)
class MemoryHistoryAdmin(ReadOnlyAdmin):
    list_display = ("memory_id", "event", "old_memory", "new_memory", "account", "created_at", "is_deleted")
    list_filter = ("event", "is_deleted", "account")
    list_select_related = ("account",)
    search_fields = ("=memory_id", "old_memory", "new_memory")
    date_hierarchy = "created_at"
