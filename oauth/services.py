"""OAuth 2.1 for MCP clients: registration (RFC 7591), the authorization code with PKCE (RFC 7636), tokens and their
rotation, revocation (RFC 7009). The views speak the protocol; this module decides.

An access token acts for the account that consented, on /mcp only, until it expires; a refresh token is used once
(presented again, the grant ends: it was replayed or stolen; within OAUTH_REFRESH_REUSE_SECONDS of its use it gets
the same answer again, for clients that retry). Only digests are stored, and that answer sealed with the spent token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.models import User
from apikeys.services import LAST_USED_RESOLUTION, key_digest
from mem0server.exceptions import NotFound
from oauth import client_metadata
from oauth.models import READ_SCOPE, SCOPE, OAuthClient, OAuthGrant, reads_only

ACCESS_PREFIX = "m0at_"
REFRESH_PREFIX = "m0rt_"
CODE_PREFIX = "m0ac_"
CLIENT_PREFIX = "m0ci_"
SECRET_PREFIX = "m0cs_"  # noqa: S105 - a prefix, not a secret
# What a token may do: `memories`, everything the account's API key may do, through MCP; `memories:read`, only the
# tools that change nothing (asked by the client, or chosen by the person on the consent page). `offline_access`
# (asked by clients that want a refresh token) is granted as asked: every grant has one.
KNOWN_SCOPES = (SCOPE, READ_SCOPE, "offline_access")
CODE_LIFETIME = timedelta(minutes=10)
# A public client (no secret, PKCE only: what MCP clients register as), then the two ways to send a secret.
PUBLIC_CLIENT = "none"  # noqa: S105 - the method's name
AUTH_METHODS = (PUBLIC_CLIENT, "client_secret_post", "client_secret_basic")
DEFAULT_AUTH_METHOD = "client_secret_basic"  # noqa: S105 - RFC 7591's default method, by name
GRANT_TYPES = ("authorization_code", "refresh_token")
MAX_REDIRECT_URIS = 10
MAX_URI_LENGTH = 2000
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1")
# Schemes a code must never be sent to: they run or read in the browser instead of reaching the client.
UNSAFE_SCHEMES = ("javascript", "data", "file", "vbscript", "about", "blob", "filesystem")
# How long a client's metadata document read from its URL is used before it is read again.
CLIENT_METADATA_FRESH = timedelta(minutes=10)
# Unregistered clients that nobody authorized within a day are dropped (anyone may register one).
UNUSED_CLIENT_DAYS = 1
# Registered clients that no account has authorized yet, kept at most: registration is open, and its limit per
# address does not bound many addresses (an IPv6 block). One more drops the oldest (each at most ~20 KB).
MAX_PENDING_CLIENTS = 1000
PKCE_TEXT = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
HOST = re.compile(r"[a-z0-9.\-]+|[0-9a-f:.]+")  # urlsplit's hostname: lower-cased, an IPv6 one without brackets


class OAuthError(Exception):
    """An OAuth error answer: `error` is the RFC's code, `description` says what is wrong in words."""

    def __init__(self, error: str, description: str, *, status: int = 400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


class AuthorizeError(OAuthError):
    """A refused authorization request. `redirect_uri` set: the answer goes back to the client there (RFC 6749
    §4.1.2.1); unset (unknown client, unregistered redirect URI): only the person in the browser is told."""

    def __init__(
        self,
        error: str,
        description: str,
        *,
        redirect_uri: str | None = None,
        state: str | None = None,
        issuer: str = "",
    ):
        super().__init__(error, description)
        self.redirect_uri = redirect_uri
        self.state = state
        self.issuer = issuer

    def redirect_url(self) -> str:
        answer = {"error": self.error, "error_description": self.description}
        return with_query(self.redirect_uri, answer, self.state, self.issuer)


def _acts(grant: OAuthGrant) -> bool:
    """Whether the grant's account may still be acted for: active, and not deactivated since the consent."""
    return grant.user.is_active and grant.user.token_generation == grant.token_generation


# The same as a query: grants whose account is active and has not been deactivated since.
ACTING = Q(user__is_active=True, user__token_generation=F("token_generation"))


def _new(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def _refresh_mac(body: str) -> str:
    return salted_hmac("mem0server.oauth.refresh-token", body).hexdigest()[:32]


def _new_refresh(grant_id: int) -> str:
    """A refresh token that names its grant, signed with SECRET_KEY: spent however many refreshes ago, it is still
    known as that grant's, and sent again it ends the grant (the grant keeps only its last two tokens' digests)."""
    body = f"{grant_id}.{secrets.token_urlsafe(32)}"
    return f"{REFRESH_PREFIX}{body}.{_refresh_mac(body)}"


def _grant_named(refresh_token: str) -> int | None:
    """The grant a refresh token issued here names; None for one that is not (forged, or from before they named it)."""
    match = re.fullmatch(re.escape(REFRESH_PREFIX) + r"(([0-9]{1,18})\.[A-Za-z0-9_\-]+)\.([0-9a-f]{32})", refresh_token)
    if match is None or not hmac.compare_digest(match[3], _refresh_mac(match[1])):
        return None
    return int(match[2])


def with_query(uri: str, params: dict[str, str], state: str | None, issuer: str) -> str:
    """The redirect URI with an authorization answer's parameters added to its query (which it may already have):
    the client's state, and the issuer (`iss`, RFC 9207), so a client talking to several servers knows whose it is."""
    if state is not None:
        params = {**params, "state": state}
    return uri + ("&" if urlsplit(uri).query else "?") + urlencode({**params, "iss": issuer})


# --- Registration --------------------------------------------------------------------------------------------------
def redirect_uri_problem(uri: str) -> str | None:
    """Why `uri` cannot receive codes, or None: https, http on this machine's loopback, or an app's own scheme."""
    if len(uri) > MAX_URI_LENGTH:
        return f"is longer than {MAX_URI_LENGTH} characters"
    if re.search(r"[\s\x00-\x1f\x7f]", uri):
        return "holds a space or a control character"
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "is not a URI"
    scheme = parts.scheme.lower()
    if not scheme or not re.fullmatch(r"[a-z][a-z0-9+.\-]*", scheme):
        return "has no scheme (expected https://…, http://127.0.0.1:…/… or an app's own scheme)"
    if parts.fragment or "#" in uri:
        return "has a fragment (#…), which a redirect URI may not have"
    if scheme in UNSAFE_SCHEMES:
        return f"uses the {scheme}: scheme, which runs in the browser instead of reaching the client"
    if parts.username is not None or parts.password is not None:
        return "holds a user name or password (user@host), which a redirect URI may not"
    if scheme in ("http", "https") and not (parts.hostname and HOST.fullmatch(parts.hostname)):
        return "has no host, or one that is not a DNS name or an IP address"
    if scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        return "is plain http to another machine: use https, or http on localhost or 127.0.0.1"
    return None


def client_register(
    *,
    redirect_uris: list[str],
    client_name: str = "",
    token_endpoint_auth_method: str = DEFAULT_AUTH_METHOD,
) -> tuple[OAuthClient, str | None]:
    """A new client; returns it and its secret (None for public clients, `none`), which is never available again.
    Past MAX_PENDING_CLIENTS registered clients that nobody authorized, the oldest of them are dropped."""
    for uri in redirect_uris:
        problem = redirect_uri_problem(uri)
        if problem:
            raise OAuthError("invalid_redirect_uri", f"Redirect URI {uri[:200]!r} {problem}.")
    secret = _new(SECRET_PREFIX) if token_endpoint_auth_method != PUBLIC_CLIENT else None
    client = OAuthClient.objects.create(
        client_id=CLIENT_PREFIX + secrets.token_urlsafe(16),
        client_name=client_name,
        redirect_uris=redirect_uris,
        token_endpoint_auth_method=token_endpoint_auth_method,
        secret_digest=key_digest(secret) if secret else "",
    )
    pending = OAuthClient.objects.filter(metadata_fetched_at__isnull=True).order_by("-created_at", "-id")
    _clients_unauthorized_drop(pending, keep=MAX_PENDING_CLIENTS)
    return client, secret


def _clients_unauthorized_drop(clients, *, keep: int = 0) -> int:
    """Delete the clients (a queryset) that no account ever authorized, but the first `keep` of them; those a consent
    holds (authorization_approve, which may be giving one its first grant) are skipped. Returns how many rows went."""
    with transaction.atomic():
        unauthorized = clients.filter(authorized_at__isnull=True).select_for_update(skip_locked=True)
        doomed = list(unauthorized.values_list("pk", flat=True)[keep:])
        return OAuthClient.objects.filter(pk__in=doomed).delete()[0]


def client_from_metadata(url: str) -> OAuthClient:
    """The client whose client_id is the URL of its metadata document: read there (again once the copy here is older
    than CLIENT_METADATA_FRESH), checked as a registration is, and kept as a public client (PKCE, no secret)."""
    now = timezone.now()
    client = OAuthClient.objects.filter(client_id=url).first()
    if client is not None and client.metadata_fetched_at and now - client.metadata_fetched_at < CLIENT_METADATA_FRESH:
        return client

    def unusable(problem: str):
        return AuthorizeError("invalid_client", f"The app's client_id {url[:200]} {problem}.")

    if problem := client_metadata.url_problem(url):
        raise unusable(problem)
    try:
        document = client_metadata.metadata_fetch(url)
    except client_metadata.MetadataUnusable as exc:
        raise unusable(f"is a metadata document this server cannot read: {exc}") from None
    if document.get("client_id") != url:
        raise unusable("serves a document whose client_id is not that URL")
    uris = document.get("redirect_uris")
    if not (isinstance(uris, list) and 0 < len(uris) <= MAX_REDIRECT_URIS and all(isinstance(u, str) for u in uris)):
        raise unusable(f"serves no redirect_uris (a list of 1 to {MAX_REDIRECT_URIS} URIs)")
    for uri in uris:
        if problem := redirect_uri_problem(uri):
            raise unusable(f"lists redirect URI {uri[:200]!r}, which {problem}")
    if document.get("token_endpoint_auth_method", PUBLIC_CLIENT) != PUBLIC_CLIENT:
        raise unusable("asks for a token_endpoint_auth_method other than none, which this server does not offer")
    name = document.get("client_name")
    client, _ = OAuthClient.objects.update_or_create(
        client_id=url,
        defaults={
            "client_name": name[:200] if isinstance(name, str) else "",
            "redirect_uris": uris,
            "token_endpoint_auth_method": PUBLIC_CLIENT,
            "secret_digest": "",
            "metadata_fetched_at": now,
        },
    )
    return client


def client_authenticate(*, client_id: str | None, client_secret: str | None) -> OAuthClient:
    """The client making a token or revocation request: public clients by id, the others by id and secret."""
    known = client_id and "\x00" not in client_id
    client = OAuthClient.objects.filter(client_id=client_id).first() if known else None
    if client is None:
        raise OAuthError(
            "invalid_client",
            "Unknown client_id: register the client first (a client_id URL: authorize it first).",
            status=401,
        )
    if client.token_endpoint_auth_method != PUBLIC_CLIENT and not (
        client_secret and hmac.compare_digest(key_digest(client_secret), client.secret_digest)
    ):
        raise OAuthError("invalid_client", "Wrong or missing client_secret for this client_id.", status=401)
    return client


# --- Authorization -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuthorizationRequest:
    """An authorization request checked against its client: what the consent page shows and what it grants."""

    client: OAuthClient
    redirect_uri: str
    state: str | None
    code_challenge: str
    resource: str
    scope: str
    issuer: str

    @property
    def read_only(self) -> bool:
        """Whether the client asked only to read (scope `memories:read`)."""
        return reads_only(self.scope)

    @property
    def redirect_target(self) -> str:
        """Where the browser is sent afterwards, as a person reads it and as the page's Content-Security-Policy
        names it: the origin of an https or loopback URI (checked at registration: a DNS name or an IP address),
        the scheme alone of an app's own (`cursor:`)."""
        parts = urlsplit(self.redirect_uri)
        if parts.scheme.lower() in ("http", "https"):
            return f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        return f"{parts.scheme.lower()}:"


def _same_redirect(registered: str, given: str) -> bool:
    """Exact match, except that a loopback http URI matches on any port (RFC 8252 §7.3: native apps pick one)."""
    if registered == given:
        return True
    a, b = urlsplit(registered), urlsplit(given)
    try:
        return (
            a.scheme == b.scheme == "http"
            and a.hostname in LOOPBACK_HOSTS
            and a.hostname == b.hostname
            and (a.path, a.query) == (b.path, b.query)
            and b.port is not None
        )
    except ValueError:
        return False


def granted_scope(requested: str | None, *, read_only: bool = False) -> str:
    """The scope a grant carries: `memories:read` when only that was asked for or `read_only` (the person's choice),
    else `memories`; and `offline_access` when asked. Other scopes are not granted (the token answer says which
    were), as RFC 6749 §3.3 lets a server do, rather than failing a client that asks more."""
    asked = (requested or "").split()
    read_only = read_only or (READ_SCOPE in asked and SCOPE not in asked)
    access = READ_SCOPE if read_only else SCOPE
    return " ".join(
        scope for scope in KNOWN_SCOPES if scope == access or (scope == "offline_access" and scope in asked)
    )


def resource_matches(given: str, resource: str) -> bool:
    """RFC 8707: the resource a client names is this server's MCP endpoint (a trailing slash or query aside); a
    resource that is no URL ("http://[") is not."""
    try:
        a, b = urlsplit(given), urlsplit(resource)
    except ValueError:
        return False
    return (a.scheme.lower(), a.netloc.lower(), a.path.rstrip("/")) == (b.scheme, b.netloc, b.path.rstrip("/"))


def authorization_check(params, *, resource: str, issuer: str) -> AuthorizationRequest:
    """Check an authorization request's parameters (GET query or the consent form's POST). The first problems
    (client, redirect URI) are the browser's to show; later ones go back to the client's redirect URI. `resource`:
    this server's MCP endpoint; `issuer`: this server as the metadata names it (oauth.discovery)."""
    if any("\x00" in params.get(name, "") for name in params):
        raise AuthorizeError("invalid_request", "The request holds a NUL character, which no parameter may.")
    client_id = params.get("client_id")
    if client_id and client_metadata.is_metadata_url(client_id):
        client = client_from_metadata(client_id)
    else:
        client = OAuthClient.objects.filter(client_id=client_id).first() if client_id else None
    if client is None:
        raise AuthorizeError(
            "invalid_request",
            "Unknown client_id: the app asking must register first (its OAuth setup went wrong; try connecting again).",
        )
    given = params.get("redirect_uri")
    if given is None and len(client.redirect_uris) == 1:
        given = client.redirect_uris[0]
    if given is None or not any(_same_redirect(uri, given) for uri in client.redirect_uris):
        raise AuthorizeError(
            "invalid_request",
            "The redirect_uri is missing or is not one this client registered, so the answer cannot be sent back.",
        )
    # A loopback URI matched on another port is the one given, not the one registered: checked as registration does
    # (a port padded with zeros made it longer than a grant keeps; a user name came through).
    if given not in client.redirect_uris and (problem := redirect_uri_problem(given)):
        raise AuthorizeError("invalid_request", f"The redirect_uri {problem}, so the answer cannot be sent back.")
    state = params.get("state")

    def refuse(error: str, description: str):
        return AuthorizeError(error, description, redirect_uri=given, state=state, issuer=issuer)

    if params.get("response_type") != "code":
        raise refuse("unsupported_response_type", "response_type must be code.")
    challenge = params.get("code_challenge") or ""
    if not challenge:
        raise refuse("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256.")
    if params.get("code_challenge_method") != "S256":
        raise refuse("invalid_request", "code_challenge_method must be S256.")
    if not PKCE_TEXT.fullmatch(challenge):
        raise refuse("invalid_request", "code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~.")
    asked_resource = params.get("resource")
    if asked_resource is not None and not resource_matches(asked_resource, resource):
        raise refuse("invalid_target", f"resource must be this server's MCP endpoint, {resource}.")
    if state is not None and len(state) > MAX_URI_LENGTH:
        raise refuse("invalid_request", f"state is longer than {MAX_URI_LENGTH} characters.")
    return AuthorizationRequest(
        client=client,
        redirect_uri=given,
        state=state,
        code_challenge=challenge,
        resource=resource,
        scope=granted_scope(params.get("scope")),
        issuer=issuer,
    )


def authorization_approve(*, user: User, request: AuthorizationRequest, read_only: bool = False) -> str:
    """The account consented (to reading only, with `read_only`): a grant with a one-time code; returns the URL that
    carries the code to the client."""
    code = _new(CODE_PREFIX)
    with transaction.atomic():
        # Its row held until the grant is in: a registration dropping clients nobody authorized, or the prune, waits.
        if not OAuthClient.objects.filter(pk=request.client.pk).update(authorized_at=timezone.now()):
            raise AuthorizeError(
                "invalid_request",
                "This app's registration was dropped meanwhile (apps nobody allowed are not kept long): connect it "
                "again from the app.",
            )
        OAuthGrant.objects.create(
            client=request.client,
            user=user,
            scope=granted_scope(request.scope, read_only=read_only),
            resource=request.resource,
            redirect_uri=request.redirect_uri,
            code_challenge=request.code_challenge,
            code_digest=key_digest(code),
            code_expires_at=timezone.now() + CODE_LIFETIME,
            token_generation=user.token_generation,
        )
    return with_query(request.redirect_uri, {"code": code}, request.state, request.issuer)


def authorization_deny(request: AuthorizationRequest) -> str:
    """The account refused: the URL that tells the client so (RFC 6749 §4.1.2.1)."""
    refusal = AuthorizeError(
        "access_denied",
        "The account owner did not allow access.",
        redirect_uri=request.redirect_uri,
        state=request.state,
        issuer=request.issuer,
    )
    return refusal.redirect_url()


# --- Tokens --------------------------------------------------------------------------------------------------------
def _answer(grant: OAuthGrant, access: str, refresh: str, now) -> dict:
    """The token answer of RFC 6749 §5.1 for the grant's current tokens."""
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": max(1, int((grant.access_expires_at - now).total_seconds())),
        "refresh_token": refresh,
        "scope": grant.scope,
    }


def _answer_key(spent_refresh_token: str) -> Fernet:
    """The key that seals the answer a refresh token got: derived from that token, which only its holder knows
    (the database keeps its digest, a different function of it)."""
    derived = hmac.new(spent_refresh_token.encode(), b"mem0server.oauth.previous-answer", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def _issue(grant: OAuthGrant, now, *, spent_refresh_token: str | None = None) -> dict:
    """New access and refresh tokens on the grant (saved), and their answer. For a refresh, the answer is kept
    sealed for the spent token, so sending it again within OAUTH_REFRESH_REUSE_SECONDS gets the same answer."""
    access, refresh = _new(ACCESS_PREFIX), _new_refresh(grant.pk)
    grant.previous_refresh_digest = grant.refresh_digest
    grant.access_digest, grant.refresh_digest = key_digest(access), key_digest(refresh)
    grant.access_expires_at = now + timedelta(seconds=settings.OAUTH_ACCESS_TOKEN_SECONDS)
    grant.refresh_expires_at = now + timedelta(days=settings.OAUTH_REFRESH_TOKEN_DAYS)
    grant.previous_answer, grant.previous_answer_until = "", None
    if spent_refresh_token is not None and settings.OAUTH_REFRESH_REUSE_SECONDS:
        grant.previous_answer = (
            _answer_key(spent_refresh_token).encrypt(json.dumps([access, refresh]).encode()).decode()
        )
        grant.previous_answer_until = now + timedelta(seconds=settings.OAUTH_REFRESH_REUSE_SECONDS)
    grant.save()
    return _answer(grant, access, refresh, now)


def _answer_again(grant: OAuthGrant, spent_refresh_token: str, now) -> dict | None:
    """The answer the spent refresh token got, while it may have it again; None once it may not."""
    if not grant.previous_answer or grant.previous_answer_until is None or grant.previous_answer_until <= now:
        return None
    try:
        access, refresh = json.loads(_answer_key(spent_refresh_token).decrypt(grant.previous_answer.encode()))
    except InvalidToken:
        return None
    return _answer(grant, access, refresh, now)


def _pkce_ok(verifier: str, challenge: str) -> bool:
    if not PKCE_TEXT.fullmatch(verifier):
        return False
    computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return hmac.compare_digest(computed, challenge)


def token_for_code(
    *, client: OAuthClient, code: str, redirect_uri: str | None, code_verifier: str, resource: str | None
) -> dict:
    """The authorization_code grant. A code works once: presented again, the tokens it gave are revoked."""
    now = timezone.now()
    with transaction.atomic():
        grant = (
            OAuthGrant.objects.select_for_update().select_related("user").filter(code_digest=key_digest(code)).first()
        )
        if grant is None or grant.client_id != client.pk:
            raise OAuthError("invalid_grant", "Unknown authorization code (or one given to another client).")
        if grant.code_used_at is not None:
            if grant.revoked_at is None:
                grant.revoked_at = now
                grant.save(update_fields=["revoked_at"])
        else:
            if grant.revoked_at is not None or grant.code_expires_at <= now or not _acts(grant):
                raise OAuthError("invalid_grant", "The authorization code has expired: authorize again.")
            if redirect_uri is not None and redirect_uri != grant.redirect_uri:
                raise OAuthError("invalid_grant", "redirect_uri differs from the one the code was sent to.")
            if not _pkce_ok(code_verifier, grant.code_challenge):
                raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge (PKCE).")
            if resource is not None and not resource_matches(resource, grant.resource):
                raise OAuthError("invalid_target", f"resource must be {grant.resource}, as authorized.")
            grant.code_used_at = now
            return _issue(grant, now)
    # Here only for a code used before: the revocation above is committed, then refused.
    raise OAuthError("invalid_grant", "The authorization code was already used; the tokens it gave are revoked.")


def token_for_refresh(*, client: OAuthClient, refresh_token: str, resource: str | None) -> dict:
    """The refresh_token grant: new tokens, the old refresh token spent. A spent one presented again gets the same
    answer within OAUTH_REFRESH_REUSE_SECONDS of its use (a retry, two requests at once); later, it ends the grant,
    as one spent earlier does at once."""
    now = timezone.now()
    digest = key_digest(refresh_token)
    with transaction.atomic():
        grants = OAuthGrant.objects.select_for_update().select_related("user")
        grant = grants.filter(Q(refresh_digest=digest) | Q(previous_refresh_digest=digest)).first()
        if grant is None and (named := _grant_named(refresh_token)) is not None:
            grant = grants.filter(pk=named).first()  # this server issued it to that grant: spent before the last two
        if grant is None or grant.client_id != client.pk or grant.revoked_at is not None:
            raise OAuthError("invalid_grant", "Unknown or revoked refresh token: authorize again.")
        spent = grant.refresh_digest != digest
        again = _answer_again(grant, refresh_token, now) if grant.previous_refresh_digest == digest else None
        if spent and again is None:
            grant.revoked_at = now
            grant.save(update_fields=["revoked_at"])
        else:
            if grant.refresh_expires_at <= now or not _acts(grant):
                raise OAuthError("invalid_grant", "The refresh token has expired: authorize again.")
            if resource is not None and not resource_matches(resource, grant.resource):
                raise OAuthError("invalid_target", f"resource must be {grant.resource}, as authorized.")
            return again or _issue(grant, now, spent_refresh_token=refresh_token)
    # Here only for a spent refresh token: the revocation above is committed, then refused.
    raise OAuthError("invalid_grant", "The refresh token was already used; the grant is revoked: authorize again.")


def token_revoke(*, client: OAuthClient, token: str) -> None:
    """RFC 7009: an access or refresh token of this client ends its grant; anything else is ignored (no error)."""
    digest = key_digest(token)
    OAuthGrant.objects.filter(
        Q(access_digest=digest) | Q(refresh_digest=digest), client=client, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())


def grant_authenticate(*, token: str) -> OAuthGrant | None:
    """The live grant an access token belongs to (its user loaded), or None; last_used_at at most once a minute."""
    now = timezone.now()
    grant = (
        OAuthGrant.objects.select_related("user", "client")
        .filter(ACTING, access_digest=key_digest(token), access_expires_at__gt=now, revoked_at__isnull=True)
        .first()
    )
    if grant is not None and (grant.last_used_at is None or now - grant.last_used_at >= LAST_USED_RESOLUTION):
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        OAuthGrant.objects.filter(stale, pk=grant.pk).update(last_used_at=now)
        grant.last_used_at = now
    return grant


# --- The account's view ----------------------------------------------------------------------------------------------
def grants_live(*, user: User) -> list[OAuthGrant]:
    """The apps that can act for `user` now (a refresh token not yet expired nor revoked), newest first."""
    return list(
        OAuthGrant.objects.select_related("client")
        .filter(ACTING, user=user, revoked_at__isnull=True, refresh_expires_at__gt=timezone.now())
        .order_by("-created_at", "-id")
    )


def grant_revoke(*, user: User, grant_id: int) -> None:
    """Disconnect one of the user's apps: its tokens stop working at once. NotFound for anyone else's."""
    live = OAuthGrant.objects.filter(pk=grant_id, user=user, revoked_at__isnull=True)
    if not live.update(revoked_at=timezone.now()) and not OAuthGrant.objects.filter(pk=grant_id, user=user).exists():
        raise NotFound(f"Connected app {grant_id} not found.")


def oauth_prune() -> int:
    """Drop grants that can no longer act (a day after they ended) and clients nobody authorized within a day (one
    that was authorized is kept: its app may be allowed again with the client_id it keeps)."""
    day_ago = timezone.now() - timedelta(days=UNUSED_CLIENT_DAYS)
    ended = (
        Q(revoked_at__lt=day_ago)
        | Q(refresh_expires_at__lt=day_ago)
        | Q(code_used_at__isnull=True, code_expires_at__lt=day_ago)
    )
    grants, _ = OAuthGrant.objects.filter(ended).delete()
    clients = _clients_unauthorized_drop(OAuthClient.objects.filter(created_at__lt=day_ago))
    return grants + clients
