from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from mem0server.serializers import validated
from requestlog.selectors import requests_list
from requestlog.serializers import RequestListQuerySerializer, RequestLogSerializer


class RequestsView(APIView):
    @extend_schema(
        tags=["request log"],
        summary="Recent API calls, newest first (members see their own account's)",
        parameters=[RequestListQuerySerializer],
        responses=RequestLogSerializer(many=True),
    )
    def get(self, request):
        params = validated(RequestListQuerySerializer, request.query_params)
        rows = requests_list(principal=request.user, limit=params["limit"])
        return Response(RequestLogSerializer(rows, many=True).data)
