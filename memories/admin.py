from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from apikeys.authentication import AdminPrincipal
from mem0server.admin import ReadOnlyAdmin
from mem0server.exceptions import NotFound
from mem0server.text import counted
from memories import selectors, services
from memories.models import Memory, MemoryHistory

ADMIN = AdminPrincipal(auth_type="django_admin")


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
    # Below the fields: the memory's own ADD/UPDATE/DELETE events (MemoryHistory holds a plain memory_id,
    # not a foreign key, so a Django inline cannot show them).
    change_form_template = "admin/memories/memory/change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        try:
            memory_id = selectors.memory_id_from_path(object_id)
        except NotFound:
            memory_id = None
        history, total = (
            selectors.memory_history_newest(principal=ADMIN, memory_id=memory_id, limit=selectors.HISTORY_SHOWN)
            if memory_id
            else ([], 0)
        )
        extra_context = {**(extra_context or {}), "memory_history": history, "memory_history_total": total}
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        """The HISTORY button: the memory's own events, not Django's (empty) change log."""
        try:
            memory_id = selectors.memory_id_from_path(object_id)
        except NotFound:
            raise Http404("Not a memory id.") from None
        url = reverse("admin:memories_memoryhistory_changelist")
        return HttpResponseRedirect(f"{url}?memory_id={memory_id}")

    @admin.action(description="Delete the selected memories (history keeps a DELETE row)")
    def delete_with_history(self, request, queryset) -> None:
        ids = list(queryset.values_list("id", flat=True))
        deleted = services.memories_delete_ids(principal=ADMIN, memory_ids=ids)
        self.message_user(request, f"Deleted {counted(deleted, 'memory', 'memories')}.")

    @admin.display(description="memory")
    def short_text(self, obj: Memory) -> str:
        return obj.text[:100]


@admin.register(MemoryHistory)
class MemoryHistoryAdmin(ReadOnlyAdmin):
    list_display = ("memory_link", "event", "old_memory", "new_memory", "account", "created_at", "is_deleted")
    list_filter = ("event", "is_deleted", "account")
    list_display_links = ("event",)
    ordering = ("-created_at", "-id")

    def get_queryset(self, request):
        # Whether each row's memory still exists, in the same query, to link only to live ones.
        live = Memory.objects.filter(id=OuterRef("memory_id"))
        return super().get_queryset(request).annotate(memory_exists=Exists(live))

    list_select_related = ("account",)
    search_fields = ("=memory_id", "old_memory", "new_memory")
    date_hierarchy = "created_at"

    @admin.display(description="memory", ordering="memory_id")
    def memory_link(self, obj: MemoryHistory):
        """A link to the memory while it exists; its id only once deleted."""
        if not getattr(obj, "memory_exists", False):
            return str(obj.memory_id)
        url = reverse("admin:memories_memory_change", args=[obj.memory_id])
        return format_html('<a href="{}">{}</a>', url, obj.memory_id)
