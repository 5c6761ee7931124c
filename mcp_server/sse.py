"""OpenMemory's MCP over SSE, the database side: sessions opened and closed, answers queued for a session's stream
and taken by it. mcp_server/streams.py holds the streams; views.py opens sessions and answers the POSTs.

Any server process may answer a POST; the process holding the stream may be another. So the answer is a row,
and a NOTIFY on CHANNEL (delivered when the row commits) names the session, waking its stream wherever it is.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework_simplejwt.tokens import Token

from accounts.models import User
from apikeys.models import APIKey
from mcp_server.models import SseMessage, SseSession
from oauth.models import OAuthGrant

CHANNEL = "mem0_mcp_sse"
# A stream marks its session seen this often; one unseen for STALE_AFTER lost its process (killed, the machine
# gone) and is deleted, with its answers, when the next session opens.
SEEN_EVERY = timedelta(minutes=1)
STALE_AFTER = timedelta(minutes=10)
# Answers taken at once (each may be a list of a thousand memories); a stream takes again while there are more.
TAKE_AT_ONCE = 20


# The most one answer's JSON may take: the MCP SDK's SSE client refuses an event over 1 MiB (its "event: message"
# and "data: " lines counted), and drops the whole connection with every request still waiting on it.
EVENT_MAX_BYTES = 1024 * 1024 - len("event: message") - len("data: ")

# Streams one account may hold open at once (ADMIN_API_KEY's callers count as one): one account's clients cannot
# take every stream a server process holds (MCP_SSE_STREAMS) from the others.
STREAMS_PER_ACCOUNT = 20


class UnknownSession(Exception):
    """No open session of this caller's has that id."""


class TooManySessions(Exception):
    """The caller's account holds STREAMS_PER_ACCOUNT streams already."""


def _credential_fields(credential: Any) -> dict[str, Any]:
    """What the session keeps of the credential it was opened with (a request's `auth`), to check it later."""
    if isinstance(credential, APIKey):
        return {"api_key": credential}
    if isinstance(credential, OAuthGrant):
        # The grant, not its access token: the client refreshes that (on its POSTs) while the stream stays open.
        return {"grant": credential}
    if isinstance(credential, Token):  # a login token (JWT): it works until it expires
        return {"expires_at": datetime.fromtimestamp(credential["exp"], tz=UTC)}
    return {}  # the admin principal (ADMIN_API_KEY, AUTH_DISABLED)


def session_open(*, principal, credential: Any = None, client_name: str, user_id: str) -> uuid.UUID:
    """A new session of the caller's, opened with `credential` (the request's auth); TooManySessions past
    STREAMS_PER_ACCOUNT."""
    SseSession.objects.filter(seen_at__lt=timezone.now() - STALE_AFTER).delete()
    with transaction.atomic():
        # One account's opens one at a time, so those arriving together cannot all count the same open sessions.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{CHANNEL}:{principal.pk}"])
        if SseSession.objects.filter(account_id=principal.pk).count() >= STREAMS_PER_ACCOUNT:
            raise TooManySessions
        return SseSession.objects.create(
            account_id=principal.pk, client_name=client_name, user_id=user_id, **_credential_fields(credential)
        ).id


def session_get(*, principal, session_id: uuid.UUID) -> SseSession:
    """The caller's open session (another account's is as unknown as a closed one)."""
    session = SseSession.objects.filter(id=session_id, account_id=principal.pk).first()
    if session is None:
        raise UnknownSession
    return session


def answer_text(answer: dict[str, Any], *, too_large: str) -> str:
    """A JSON-RPC answer as one event's data, within EVENT_MAX_BYTES: a tool result past it without its
    structuredContent (its text holds the same JSON), and if still past it a tool error saying `too_large`."""
    text = json.dumps(answer, ensure_ascii=False)
    if len(text.encode()) <= EVENT_MAX_BYTES:
        return text
    result = answer.get("result")
    if isinstance(result, dict) and "structuredContent" in result:
        answer = {**answer, "result": {key: value for key, value in result.items() if key != "structuredContent"}}
        text = json.dumps(answer, ensure_ascii=False)
        if len(text.encode()) <= EVENT_MAX_BYTES:
            return text
    message = f"This answer is {len(text.encode()):,} bytes, more than one SSE event may carry (1 MiB). {too_large}"
    if isinstance(result, dict) and "content" in result:
        shortened = {"result": {"content": [{"type": "text", "text": message}], "isError": True}}
    else:
        from mcp_types import INTERNAL_ERROR  # here: the ASGI stack imports this module as a worker starts

        shortened = {"error": {"code": INTERNAL_ERROR, "message": message}}
    return json.dumps({"jsonrpc": answer["jsonrpc"], "id": answer["id"], **shortened}, ensure_ascii=False)


def answer_queue(*, session: SseSession, body: str) -> None:
    """Queue an answer for the session's stream and wake it; UnknownSession once the session is gone (its stream
    closed while the request ran)."""
    try:
        with transaction.atomic():
            SseMessage.objects.create(session=session, body=body)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, str(session.id)])
    except IntegrityError:  # the session's row deleted meanwhile: its foreign key, checked as this commits
        raise UnknownSession from None


_SESSIONS = SseSession._meta.db_table
_USERS, _KEYS, _GRANTS = User._meta.db_table, APIKey._meta.db_table, OAuthGrant._meta.db_table
# The session if the credential it was opened with still authenticates, by the authentication classes' rules: its
# account active, its API key not revoked, its OAuth grant acting (not revoked nor expired, of the account's current
# token generation), its login token not expired. (A key or grant deleted took the session with it.)
_LIVE = f"""
    SELECT s.id FROM {_SESSIONS} s
    LEFT JOIN {_USERS} u ON u.id = s.account_id
    LEFT JOIN {_KEYS} k ON k.id = s.api_key_id
    LEFT JOIN {_GRANTS} g ON g.id = s.grant_id
    WHERE s.id = %(session)s
    AND (s.account_id IS NULL OR u.is_active)
    AND (s.api_key_id IS NULL OR k.revoked_at IS NULL)
    AND (s.grant_id IS NULL OR (
        g.revoked_at IS NULL AND g.refresh_expires_at > %(now)s AND g.token_generation = u.token_generation
    ))
    AND (s.expires_at IS NULL OR s.expires_at > %(now)s)
"""  # noqa: S608  (table names only)


def _take(session: str) -> str:
    """One statement (one round trip, no transaction to open and close): the session if its credential still
    authenticates (`session` marks it seen, or only finds it), and at most TAKE_AT_ONCE of its answers deleted,
    skipping those another take holds. A row per answer taken, oldest first; one NULL when there is none; no row
    once the session is gone or its credential no longer authenticates."""
    messages = SseMessage._meta.db_table
    return f"""
    WITH session AS ({session}),
    taken AS (
        DELETE FROM {messages} WHERE id IN (
            SELECT id FROM {messages} WHERE session_id IN (SELECT id FROM session)
            ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
        ) RETURNING id, body
    )
    SELECT taken.body FROM session LEFT JOIN taken ON true ORDER BY taken.id
    """  # noqa: S608  (table names and the fixed statements below only; values are parameters)


_TAKE = {
    True: _take(f"UPDATE {_SESSIONS} SET seen_at = %(now)s WHERE id IN ({_LIVE}) RETURNING id"),  # noqa: S608
    False: _take(_LIVE),
}


def answers_take(session_id: uuid.UUID, *, seen: bool) -> list[str] | None:
    """The session's queued answers, oldest first, deleted; None once the session is gone (pruned, or its account
    deleted) or the credential it was opened with no longer authenticates. `seen` also marks the session seen."""
    with connection.cursor() as cursor:
        cursor.execute(_TAKE[seen], {"session": session_id, "now": timezone.now(), "limit": TAKE_AT_ONCE})
        rows = cursor.fetchall()
    if not rows:
        return None
    return [body for (body,) in rows if body is not None]


def session_close(session_id: uuid.UUID) -> None:
    SseSession.objects.filter(id=session_id).delete()
