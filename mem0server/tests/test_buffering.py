"""BufferedApp (mem0server/buffering.py), the ASGI layer between gunicorn's asyncio worker and Django, driven
with ASGI messages as the worker sends them; the application behind it is a recorder standing in for Django.
Over the wire, on a real gunicorn, test_faults.py checks slow clients, 413 and chunked bodies."""

from __future__ import annotations

import asyncio
import json

import pytest
from django.test import Client

from apikeys.services import apikey_create
from dashboard.tests.clients import logged_in
from mem0server.buffering import READ_THROUGH_TIMES, BufferedApp
from mem0server.turns import known_credentials


@pytest.fixture(autouse=True)
def forgotten_credentials():
    """Each test starts with no credential known to have authenticated in this process."""
    known_credentials.clear()
    yield
    known_credentials.clear()


class Recorder:
    """An ASGI app that notes what it was given and how many calls it ran at once, and answers 200."""

    def __init__(self, hold: asyncio.Event | None = None):
        self.hold, self.running, self.most, self.seen = hold, 0, 0, []

    async def __call__(self, scope, receive, send):
        self.running += 1
        self.most = max(self.most, self.running)
        self.seen.append((dict(scope["headers"]), await receive()))
        if self.hold is not None:
            await self.hold.wait()
        self.running -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def http_scope(*headers: tuple[bytes, bytes]) -> dict:
    return {"type": "http", "method": "POST", "path": "/search", "headers": list(headers)}


def client(*chunks: bytes):
    """What the worker hands over: the body in these chunks, then a disconnect if asked for more."""
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    sent: list[dict] = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    return receive, send, sent


def test_the_application_gets_the_whole_body_at_once_with_its_length():
    app = Recorder()
    receive, send, sent = client(b'{"query"', b': "tea", ', b'"user_id": "u"}')
    asyncio.run(BufferedApp(app, concurrency=2)(http_scope((b"transfer-encoding", b"chunked")), receive, send))
    [(headers, message)] = app.seen
    assert message == {"type": "http.request", "body": b'{"query": "tea", "user_id": "u"}', "more_body": False}
    assert headers[b"content-length"] == b"32"
    assert sent[0]["status"] == 200


def test_a_body_over_the_limit_is_a_json_413_and_never_reaches_the_application(settings):
    settings.MAX_REQUEST_BYTES = 10
    for scope, chunks in [
        (http_scope((b"content-length", b"11")), (b"",)),  # announced too large: not even read
        (http_scope(), (b"123456", b"789012")),  # chunked, found too large while reading
    ]:
        app = Recorder()
        receive, send, sent = client(*chunks)
        asyncio.run(BufferedApp(app, concurrency=2)(scope, receive, send))
        assert app.seen == []
        assert sent[0]["status"] == 413
        assert (b"content-type", b"application/json") in sent[0]["headers"]
        assert "MAX_REQUEST_BYTES" in json.loads(sent[1]["body"])["detail"]


def test_a_body_over_the_limit_sent_to_a_dashboard_page_is_a_page_saying_so(settings):
    """A file too large for the Import page, read in a browser: a page, not the API's JSON."""
    settings.MAX_REQUEST_BYTES = 10
    app = Recorder()
    receive, send, sent = client(b"")
    scope = {**http_scope((b"content-length", b"11")), "path": "/dashboard/imports/"}
    asyncio.run(BufferedApp(app, concurrency=2)(scope, receive, send))
    assert app.seen == []
    assert sent[0]["status"] == 413
    assert (b"content-type", b"text/html; charset=utf-8") in sent[0]["headers"]
    page = sent[1]["body"].decode()
    assert "larger than this server takes in one request: 10 bytes" in page and "MAX_REQUEST_BYTES" in page


def test_a_client_that_leaves_mid_body_reaches_nothing():
    app = Recorder()
    messages = [{"type": "http.request", "body": b'{"query": ', "more_body": True}, {"type": "http.disconnect"}]
    sent: list[dict] = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    asyncio.run(BufferedApp(app, concurrency=2)(http_scope(), receive, send))
    assert app.seen == [] and sent == []


def test_at_most_concurrency_requests_run_in_the_application_at_once():
    async def scenario():
        hold = asyncio.Event()
        app = Recorder(hold)
        buffered = BufferedApp(app, concurrency=3)
        calls = []
        for _ in range(8):
            receive, send, _ = client(b"{}")
            calls.append(asyncio.create_task(buffered(http_scope(), receive, send)))
        for _ in range(20):
            await asyncio.sleep(0)
        waiting = 8 - app.running
        hold.set()
        await asyncio.gather(*calls)
        return app.most, waiting, len(app.seen)

    most, waiting, served = asyncio.run(scenario())
    assert (most, waiting, served) == (3, 5, 8)


def turns(arrivals: list[tuple[str, dict]], *, leaves: str = "") -> tuple[list[str], BufferedApp]:
    """The order in which BufferedApp with one place lets in requests arriving one after another, each a tag and its
    ASGI scope (the first takes the place and holds it until all have arrived); `leaves`: the tag of one whose client
    leaves while it waits."""
    order: list[str] = []

    async def scenario():
        gate = asyncio.Event()

        async def app(scope, receive, send):
            order.append(scope["tag"])
            await receive()
            await gate.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})

        buffered = BufferedApp(app, concurrency=1)
        calls = {}
        for tag, scope in arrivals:
            receive, send, _ = client(b"{}")
            calls[tag] = asyncio.create_task(buffered({**scope, "tag": tag}, receive, send))
            for _ in range(5):
                await asyncio.sleep(0)  # it waits for its turn before the next arrives
        if leaves:
            calls[leaves].cancel()
        gate.set()
        await asyncio.gather(*calls.values(), return_exceptions=True)
        return buffered

    buffered = asyncio.run(scenario())
    return order, buffered


def test_waiting_requests_are_let_in_by_turns_one_per_caller():
    """One place, taken by a client that has sent four requests at once; another client's one request, arriving
    after them, goes in next but one, not after all of the first client's (they were let in first come first
    served). A request whose client leaves while it waits gives up its turn, and every place comes back."""
    keys = [("a1", b"key-a"), ("a2", b"key-a"), ("a3", b"key-a"), ("a4", b"key-a"), ("b1", b"key-b")]
    for key in (b"key-a", b"key-b"):  # keys that have authenticated (the test below shows those that have not)
        known_credentials.add(b"x-api-key " + key, key)  # each its own account
    order, buffered = turns([(tag, http_scope((b"x-api-key", key))) for tag, key in keys], leaves="a3")
    assert order == ["a1", "a2", "b1", "a4"]
    assert buffered._slots.free == 1


@pytest.mark.parametrize("proxies", [0, 1])
def test_behind_trusted_proxies_callers_without_a_credential_take_turns_by_the_address_they_forward(settings, proxies):
    """Anonymous requests (the dashboard's login page, /healthz) all come from the proxy's address: they shared one
    turn, so one such client's flood queued every other's. With TRUSTED_PROXIES the forwarded address tells them
    apart (as the rate limits read it); without, a forged X-Forwarded-For wins its sender no extra turns."""
    settings.TRUSTED_PROXIES = proxies
    addresses = [("a1", b"10.0.0.7"), ("a2", b"10.0.0.7"), ("a3", b"10.0.0.7"), ("b1", b"10.0.0.8")]
    proxied = [
        (tag, {**http_scope((b"x-forwarded-for", b"203.0.113.9, " + address)), "client": ("172.17.0.1", 5000)})
        for tag, address in addresses
    ]
    order, _ = turns(proxied)
    assert order == (["a1", "a2", "b1", "a3"] if proxies else ["a1", "a2", "a3", "b1"])


@pytest.mark.django_db
def test_a_flood_of_invalid_keys_takes_one_turn_and_an_accounts_request_is_not_kept_behind_it(
    admin_key, embedder, make_user, settings
):
    """A client sending each request with another made-up key had a turn per key: an account's request arriving after
    twenty of them went in after all twenty, and a flood of bad keys had as many turns as it liked. A credential that
    has not authenticated now waits in its address's turn; the account's key, which has, waits in its account's turn
    (even from the same address), as does its dashboard session."""
    user = make_user("ada@example.com")
    _, key = apikey_create(user=user, label="sdk")
    assert Client().get("/memories", {"user_id": "ada"}, HTTP_X_API_KEY=key).status_code == 200
    browser = logged_in(user)
    assert browser.get("/dashboard/").status_code == 200
    session = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}".encode()
    flood_from = {"client": ("198.51.100.66", 4000)}
    arrivals = [(f"bad{i}", {**http_scope((b"x-api-key", f"m0sk_{i:040d}".encode())), **flood_from}) for i in range(20)]
    arrivals.append(("bearer", {**http_scope((b"authorization", b"Bearer not-a-token-at-all")), **flood_from}))
    arrivals.append(("cookie", {**http_scope((b"cookie", session + b"x")), **flood_from}))
    arrivals.append(("account", {**http_scope((b"x-api-key", key.encode())), **flood_from}))
    arrivals.append(("dashboard", {**http_scope((b"cookie", session)), **flood_from}))
    order, _ = turns(arrivals)
    # The first took the place; the flood's turn (its next request), then the account's (its key's request), the
    # flood's again, the account's (its session's).
    assert order[:5] == ["bad0", "bad1", "account", "bad2", "dashboard"], order
    assert order[5:] == [f"bad{i}" for i in range(3, 20)] + ["bearer", "cookie"]


@pytest.mark.django_db
def test_an_accounts_keys_share_its_one_turn_and_another_accounts_request_is_not_kept_behind_them(
    embedder, make_user, settings
):
    """Each key had a turn of its own, so an account gained turns by creating keys: another account's request arriving
    behind three of its keys' requests went in after all three. Every credential of one account (its keys, its login
    token, its dashboard session) now waits in that account's one turn."""
    ada, bo = make_user("ada@example.com", password="a-long-password-1"), make_user("bo@example.com")
    keys = [apikey_create(user=ada, label=f"agent {i}")[1] for i in range(3)]
    _, bos_key = apikey_create(user=bo, label="sdk")
    credentials = {"email": "ada@example.com", "password": "a-long-password-1"}
    login = Client().post("/auth/login", credentials, "application/json")
    bearer = f"Bearer {login.json()['access_token']}"
    for headers in [{"HTTP_X_API_KEY": key} for key in [*keys, bos_key]] + [{"HTTP_AUTHORIZATION": bearer}]:
        assert Client().get("/memories", {"user_id": "someone"}, **headers).status_code == 200
    arrivals = [(f"ada{i}", http_scope((b"x-api-key", key.encode()))) for i, key in enumerate(keys)]
    arrivals.append(("ada-token", http_scope((b"authorization", bearer.encode()))))
    arrivals.append(("bo", http_scope((b"x-api-key", bos_key.encode()))))
    order, _ = turns(arrivals)
    # ada0 took the place; then ada's turn (ada1), bo's, and ada's others after.
    assert order == ["ada0", "ada1", "bo", "ada2", "ada-token"], order


@pytest.mark.django_db
def test_every_credential_that_authenticates_earns_its_turn_and_no_other_does(admin_key, embedder, make_user, settings):
    make_user("bo@example.com", password="a-long-password-1")
    credentials = {"email": "bo@example.com", "password": "a-long-password-1"}
    login = Client().post("/auth/login", credentials, "application/json")
    bearer = f"Bearer {login.json()['access_token']}"
    asked = [
        ({"HTTP_X_API_KEY": admin_key}, b"x-api-key " + admin_key.encode(), True),
        ({"HTTP_AUTHORIZATION": f"Token {admin_key}"}, f"authorization Token {admin_key}".encode(), True),
        ({"HTTP_AUTHORIZATION": bearer}, f"authorization {bearer}".encode(), True),
        ({"HTTP_AUTHORIZATION": "Bearer forged"}, b"authorization Bearer forged", False),
        ({"HTTP_X_API_KEY": "m0sk_made-up"}, b"x-api-key m0sk_made-up", False),
    ]
    for headers, turn, earned in asked:
        Client().get("/memories", {"user_id": "bo"}, **headers)
        assert (turn in known_credentials) is earned, turn
    settings.AUTH_DISABLED = True  # every request is an admin: no credential was checked
    Client().get("/memories", {"user_id": "bo"}, HTTP_X_API_KEY="anything-at-all")
    assert b"x-api-key anything-at-all" not in known_credentials


@pytest.mark.django_db(transaction=True)  # the session is read on another thread, with its own connection
def test_a_logged_in_account_may_send_the_import_page_up_to_import_max_bytes(settings, make_user):
    settings.MAX_REQUEST_BYTES, settings.IMPORT_MAX_BYTES = 10, 30
    session = logged_in(make_user("ada@example.com")).cookies[settings.SESSION_COOKIE_NAME].value
    cookie = (b"cookie", f"theme=dark; {settings.SESSION_COOKIE_NAME}={session}".encode())
    imports = {"path": "/dashboard/imports/"}

    def answer(scope, *chunks):
        app = Recorder()
        receive, send, sent = client(*chunks)
        asyncio.run(BufferedApp(app, concurrency=2)(scope, receive, send))
        return sent[0]["status"], [message["body"] for _, message in app.seen], sent[1]["body"].decode()

    body = b"x" * 25
    assert answer({**http_scope(cookie, (b"content-length", b"25")), **imports}, body)[:2] == (200, [body])
    assert answer({**http_scope(cookie), **imports}, body[:9], body[9:])[:2] == (200, [body])  # chunked
    # More than IMPORT_MAX_BYTES; no session, or one nobody is logged in with; another path; another method.
    over = answer({**http_scope(cookie, (b"content-length", b"31")), **imports}, b"x" * 31)
    assert over[:2] == (413, []) and "30 bytes" in over[2] and "IMPORT_MAX_BYTES" in over[2]
    for scope in [
        {**http_scope((b"content-length", b"25")), **imports},
        {**http_scope((b"cookie", f"{settings.SESSION_COOKIE_NAME}=nobody".encode())), **imports},
        http_scope(cookie),
        {**http_scope(cookie), **imports, "method": "PUT"},
    ]:
        status, seen, page = answer(scope, body[:9], body[9:])
        assert (status, seen) == (413, [])
        assert "10 bytes" in page or "MAX_REQUEST_BYTES" in page


@pytest.mark.django_db(transaction=True)
def test_one_large_upload_at_a_time_is_read_while_other_requests_go_on(settings, make_user):
    # A member sending many Import page uploads at once held each in memory, IMPORT_MAX_BYTES apiece.
    settings.MAX_REQUEST_BYTES, settings.IMPORT_MAX_BYTES = 10, 30
    session = logged_in(make_user("ada@example.com")).cookies[settings.SESSION_COOKIE_NAME].value
    cookie = (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode())
    declared = (b"content-length", b"25")
    uploads = {  # two with their length declared, one chunked
        b"a" * 25: ((cookie, declared), [b"a" * 25]),
        b"b" * 25: ((cookie, declared), [b"b" * 25]),
        b"c" * 25: ((cookie,), [b"c" * 9, b"c" * 16]),
    }

    async def scenario():
        hold = asyncio.Event()
        app = Recorder(hold)
        buffered = BufferedApp(app, concurrency=4)
        reads = dict.fromkeys(uploads, 0)

        def counted(body, receive):
            async def receive_counted():
                reads[body] += 1
                return await receive()

            return receive_counted

        calls = []
        for body, (headers, chunks) in uploads.items():
            receive, send, _ = client(*chunks)
            scope = {**http_scope(*headers), "path": "/dashboard/imports/"}
            calls.append(asyncio.create_task(buffered(scope, counted(body, receive), send)))
        receive, send, _ = client(b"{}")
        calls.append(asyncio.create_task(buffered(http_scope(), receive, send)))
        while app.running < 2:  # one upload (whichever had its session read first) and the small request
            await asyncio.sleep(0.01)
        during = [message["body"] for _, message in app.seen], dict(reads)
        hold.set()
        await asyncio.gather(*calls)
        return during, app.most, sorted(message["body"] for _, message in app.seen)

    (seen, reads), most, everything = asyncio.run(scenario())
    # While one upload is in the application, no other has been read further than MAX_REQUEST_BYTES lets anyone
    # (a declared one not at all, the chunked one its first two chunks); the small request was served beside it.
    uploads_inside = [body for body in seen if body != b"{}"]
    assert len(uploads_inside) == 1, uploads_inside
    [inside] = uploads_inside
    assert b"{}" in seen
    for body, count in reads.items():
        if body != inside:
            assert count <= (2 if body == b"c" * 25 else 0), (body, count)
    assert most == 2
    assert everything == sorted([*uploads, b"{}"])


def test_a_client_that_reads_nothing_of_its_answer_holds_no_place():
    """gunicorn waits, in the send of a large answer, for the client to read it. A client that read nothing while
    keeping its connection held its place among `concurrency` for as long as it liked: two such GETs of a 3.8 MB
    list stopped a 2-thread worker. The answer is made once it starts; the next request goes on meanwhile."""

    class Answers:
        async def __call__(self, scope, receive, send):
            await receive()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})

    async def scenario():
        buffered = BufferedApp(Answers(), concurrency=1)
        reads_nothing = asyncio.Event()

        async def stalled_send(message):
            if message["type"] == "http.response.body":
                reads_nothing.set()
                await asyncio.Event().wait()  # the write never drains: the client reads nothing

        receive, _, _ = client(b"{}")
        stalled = asyncio.create_task(buffered(http_scope(), receive, stalled_send))
        await reads_nothing.wait()
        receive, send, sent = client(b"{}")
        await asyncio.wait_for(buffered(http_scope(), receive, send), 30)
        stalled.cancel()
        return sent

    sent = asyncio.run(scenario())
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]


def test_a_body_over_the_limit_is_read_to_its_end_before_the_413_and_no_further(settings):
    """An HTTP client reads no answer before it has sent its request: the rest is read (and thrown away), so that the
    client reads the 413 rather than a connection reset."""
    settings.MAX_REQUEST_BYTES = 10
    chunks = [b"12345678", b"90123456", b"7890"]
    for scope in [http_scope((b"content-length", b"20")), http_scope()]:
        asked = []
        receive, send, sent = client(*chunks)

        async def counted(receive=receive, asked=asked):
            asked.append(await receive())
            return asked[-1]

        app = Recorder()
        asyncio.run(BufferedApp(app, concurrency=2)(scope, counted, send))
        assert app.seen == []
        assert [message.get("body") for message in asked] == chunks
        assert sent[0]["status"] == 413


def test_a_body_over_read_through_times_the_limit_is_refused_before_any_of_it_is_read(settings):
    settings.MAX_REQUEST_BYTES = 1_000
    declared = str(READ_THROUGH_TIMES * 1_000 + 1).encode()
    messages = [{"type": "http.request", "body": b'{"query": "tea"', "more_body": True}]
    sent: list[dict] = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    app = Recorder()
    asyncio.run(BufferedApp(app, concurrency=2)(http_scope((b"content-length", declared)), receive, send))
    assert app.seen == [] and len(messages) == 1
    assert sent[0]["status"] == 413


def sse_message_scope(size: int) -> dict:
    return {
        "type": "http",
        "method": "POST",
        "path": "/mcp/messages/",
        "query_string": b"session_id=0",
        "headers": [(b"content-length", str(size).encode()), (b"content-type", b"application/json")],
    }


def in_chunks(body: bytes, size: int = 1000) -> list[bytes]:
    return [body[at : at + size] for at in range(0, len(body), size)]


def test_a_message_to_an_sse_session_over_the_limit_reaches_django_as_a_stand_in_once_read_through(settings):
    """Its id found at its start, the rest read and thrown away: Django gets the request without its arguments,
    marked with the body's size (mcp_server/over_limit.py), and answers it on the session's stream."""
    settings.MAX_REQUEST_BYTES = 5_000
    call = {"name": "add_memories", "arguments": {"text": "x" * 20_000}}
    body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": call}).encode()
    chunks = in_chunks(body)
    asked = []
    app = Recorder()
    receive, send, _ = client(*chunks)

    async def counted():
        asked.append(await receive())
        return asked[-1]

    asyncio.run(BufferedApp(app, concurrency=2)(sse_message_scope(len(body)), counted, send))
    [(headers, message)] = app.seen
    assert json.loads(message["body"]) == {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "add_memories"},
    }
    assert headers[b"content-length"] == str(len(message["body"])).encode()
    assert headers[b"x-mem0-over-limit"] == str(len(body)).encode()
    assert [message.get("body") for message in asked] == chunks  # read to its end, and no further


@pytest.mark.parametrize(
    "body",
    [
        # The TypeScript SDK's order: the id after the arguments, beyond the start kept.
        json.dumps(
            {"method": "tools/call", "params": {"arguments": {"text": "x" * 90_000}}, "jsonrpc": "2.0", "id": 7}
        ),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/message", "params": {"data": "x" * 90_000}}),
        "[" * 90_000,
    ],
    ids=["id after the arguments", "notification", "not an object"],
)
def test_a_message_over_the_limit_without_an_id_at_its_start_is_a_json_rpc_413(settings, body):
    settings.MAX_REQUEST_BYTES = 5_000
    app = Recorder()
    receive, send, sent = client(*in_chunks(body.encode(), 10_000))
    asyncio.run(BufferedApp(app, concurrency=2)(sse_message_scope(len(body)), receive, send))
    assert app.seen == []
    assert sent[0]["status"] == 413
    error = json.loads(sent[1]["body"])
    assert error["id"] is None
    assert "5,000 bytes (MAX_REQUEST_BYTES)" in error["error"]["message"]
