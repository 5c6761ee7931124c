from django.contrib import admin

from memories.models import Memory, MemoryHistory


@admin.register(Memory)
class MemoryAdmin(admin.ModelAdmin):
    list_display = ("short_text", "user_id", "agent_id", "run_id", "role", "created_at", "updated_at")
    list_filter = ("role", "created_at")
    search_fields = ("text", "=id", "=user_id", "=agent_id", "=run_id")
    date_hierarchy = "created_at"
    # The embedding is 384 numbers: not something to read or edit by hand.
    exclude = ("embedding",)
    readonly_fields = ("id", "hash", "created_at", "updated_at")
    show_full_result_count = False

    @admin.display(description="memory")
    def short_text(self, obj: Memory) -> str:
        return obj.text[:100]


@admin.register(MemoryHistory)
class MemoryHistoryAdmin(admin.ModelAdmin):
    list_display = ("memory_id", "event", "old_memory", "new_memory", "created_at", "is_deleted")
    list_filter = ("event", "is_deleted")
    search_fields = ("=memory_id", "old_memory", "new_memory")
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
