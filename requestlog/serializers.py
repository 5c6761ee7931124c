from rest_framework import serializers

from mem0server.serializers import KnownFieldsOnly
from requestlog.models import RequestLog

MAX_LIMIT = 1000


class RequestListQuerySerializer(KnownFieldsOnly):
    route, what = "GET /requests", "query parameter"
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=50)


class RequestLogSerializer(serializers.ModelSerializer):
    user_id = serializers.IntegerField(source="account_id", allow_null=True, help_text="The calling account's id.")

    class Meta:
        model = RequestLog
        fields = [
            "id",
            "method",
            "path",
            "status_code",
            "latency_ms",
            "auth_type",
            "user_id",
            "request_id",
            "tool",
            "client",
            "error",
            "created_at",
        ]
