"""JSON answers for errors raised outside DRF views (unknown paths, crashes), matching the API's shape."""

from django.http import JsonResponse


def bad_request(request, exception=None):
    return JsonResponse({"detail": "Bad request."}, status=400)


def permission_denied(request, exception=None):
    return JsonResponse({"detail": "You do not have permission to perform this action."}, status=403)


def not_found(request, exception=None):
    return JsonResponse({"detail": f"No endpoint at {request.path}; see /docs for the API."}, status=404)


def server_error(request):
    return JsonResponse(
        {"detail": "Internal server error.", "request_id": getattr(request, "request_id", None)}, status=500
    )
