from django.contrib import admin

from mem0server.admin import ReadOnlyAdmin
from requestlog.models import RequestLog


@admin.register(RequestLog)
class RequestLogAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "method",
        "path",
        "status_code",
        "latency_ms",
        "auth_type",
        "account",
        "client_ip",
        "tool",
        "client",
        "error",
    )
    list_filter = ("status_code", "method", "auth_type", "tool")
    search_fields = ("path", "=request_id", "=client_ip", "=tool", "client")
    date_hierarchy = "created_at"
    list_select_related = ("account",)
    show_full_result_count = False
