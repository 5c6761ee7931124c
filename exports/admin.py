from django.contrib import admin

from exports.models import MemoryExport, MemoryImport
from mem0server.admin import ReadOnlyAdmin


@admin.register(MemoryExport)
class MemoryExportAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "account", "memory_count", "created_at", "finished_at")
    list_filter = ("status", "account")
    list_select_related = ("account",)
    search_fields = ("=id", "account__email", "error")
    date_hierarchy = "created_at"
    # The data itself (up to EXPORT_MAX_TEXT_BYTES of memories) is not read: its account reads it (get_memory_export,
    # the dashboard's download). Read for each row listed, three exports of 4.2 MB took 40 MB; 100 large ones, GBs.
    exclude = ("result",)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("result")


@admin.register(MemoryImport)
class MemoryImportAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "account", "file_name", "memory_count", "imported", "created_at", "finished_at")
    list_filter = ("status", "account")
    list_select_related = ("account",)
    search_fields = ("=id", "account__email", "file_name", "error")
    date_hierarchy = "created_at"
    exclude = ("lines",)  # the memories themselves, until the import has finished
