"""OAuth on the dashboard: the page where an account lets an MCP client (claude.ai, ChatGPT, an IDE) act for it,
and the list of apps it let in, each disconnected in one click."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from dashboard.access import account_required, post_only
from dashboard.middleware import POLICY
from mem0server.exceptions import NotFound
from oauth import services
from oauth.discovery import issuer, mcp_resource
from oauth.services import AuthorizeError

# The query of an authorization request, carried through the consent form unchanged.
REQUEST_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "code_challenge",
    "code_challenge_method",
    "resource",
    "scope",
)


class ClientRedirect(HttpResponseRedirect):
    """A redirect to the client's redirect URI: https, loopback http, or an app's own scheme (cursor://, vscode://),
    which Django's redirect refuses by default. The URI was checked at registration and matched here."""

    def __init__(self, url: str):
        self.allowed_schemes = [urlsplit(url).scheme]
        super().__init__(url)


@require_http_methods(["GET", "POST"])
@account_required
def authorize(request):
    """GET: the consent page for an authorization request; POST: the answer, sent back to the client."""
    params = request.POST if request.method == "POST" else request.GET
    try:
        checked = services.authorization_check(params, resource=mcp_resource(request), issuer=issuer(request))
        if request.method == "POST" and request.POST.get("decision") == "allow":
            read_only = request.POST.get("read_only") == "yes"
            return ClientRedirect(
                services.authorization_approve(user=request.user, request=checked, read_only=read_only)
            )
    except AuthorizeError as exc:
        # Told to the person, never sent on by itself: anyone may register a client, so a refused request must not
        # make this page redirect a browser to wherever that client named (RFC 9700 §4.11.2). Where the answer can
        # go back to the client, a link lets the person send it.
        back = exc.redirect_url() if exc.redirect_uri is not None else None
        return render(request, "dashboard/oauth_error.html", {"problem": exc.description, "back": back}, status=400)
    if request.method == "POST":
        if request.POST.get("decision") == "deny":
            return ClientRedirect(services.authorization_deny(checked))
        return render(request, "dashboard/oauth_error.html", {"problem": "Choose Allow or Deny."}, status=400)
    context = {"checked": checked, "fields": [(name, params[name]) for name in REQUEST_FIELDS if name in params]}
    response = render(request, "dashboard/oauth_authorize.html", context)
    # The form's answer is a redirect to the client, which a browser holds to form-action: name it there.
    target = checked.redirect_target
    response["Content-Security-Policy"] = POLICY.replace("form-action 'self'", f"form-action 'self' {target}")
    return response


@account_required
def connection_list(request):
    context = {"grants": services.grants_live(user=request.user), "mcp_url": mcp_resource(request)}
    return render(request, "dashboard/connections.html", context)


@post_only("dashboard:connections")
@account_required
def connection_revoke(request, grant_id: int):
    try:
        services.grant_revoke(user=request.user, grant_id=grant_id)
    except NotFound:
        raise Http404("No such connected app.") from None
    messages.success(request, "Disconnected: the app's tokens stop working at once.")
    return redirect("dashboard:connections")
