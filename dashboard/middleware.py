"""The dashboard's Content-Security-Policy: its pages load their own script, style and images and nothing else,
so text that ever slipped past the templates' escaping could not run as script."""

from __future__ import annotations

# The templates have no inline script or style (htmx's own inline indicator style is turned off in base.html).
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/dashboard/"):
            response.setdefault("Content-Security-Policy", POLICY)
        return response
