"""GET /healthz: open, read-only, 200 while the database answers, a quick 503 when it does not.

"Database down" is simulated per test, without touching the real server other tests use: the `default`
alias is swapped, for this thread only, for a connection wrapper whose settings point at a PostgreSQL
that is not there (a missing unix socket, a TCP port that accepts and then never answers, or a TCP relay
to the real server that stops relaying mid-connection). The wrapper has its own alias, so it also gets its
own connection pool, closed afterwards; the real server and the other tests' connections are untouched.
"""

from __future__ import annotations

import copy
import socket
import threading
import time

import pytest
from django.db import connections

from mem0server import health
from mem0server.tests.server_process import wait_for
from memories import embeddings

# Bounded waiting is shown against waits that would be far longer, not against the clock of a possibly busy
# machine: the probe waits about HEALTHZ_TIMEOUT_MS (0.5 s here), or libpq's 2 s connect-timeout floor without
# the pool. What it must not do is wait like the API does (its pool's timeout, raised to POOL_WAIT for these
# databases) or like a plain connection does (forever, on a silent or frozen server). So an answer within ten
# times the probe's own limit shows the bound, and no load a test machine sees stretches it that far.
HEALTHZ_TIMEOUT_MS = 500
POOL_WAIT = 120
BOUND = 10 * (HEALTHZ_TIMEOUT_MS / 1000 + 2)
# A failure bound only: how long released probe threads may take to end on a loaded machine.
SLACK = 60


@pytest.fixture(autouse=True)
def _probes_ended():
    """A probe a test left waiting on a frozen or silent database ends in its own thread once that database is gone,
    after the test has returned: the next test must find every probe slot free (the cap's test counts them). A
    loaded machine ended one too late, and that test saw three hung probes of four."""
    yield
    wait_for(all_probe_slots_free, timeout=SLACK, what="the database probes of this test ending")


def _swap_default(settings_dict: dict, alias: str = "healthz-down"):
    if "pool" in settings_dict["OPTIONS"]:
        settings_dict["OPTIONS"]["pool"] = {**settings_dict["OPTIONS"]["pool"], "timeout": POOL_WAIT}
    real = connections["default"]
    wrapper = real.__class__(settings_dict, alias=alias)
    connections["default"] = wrapper
    return real, wrapper


@pytest.fixture(params=["pool", "no-pool"])
def database_down(request, db, settings):
    """The default database is unreachable (missing socket), with and without Django's pool."""
    settings.HEALTHZ_TIMEOUT_MS = HEALTHZ_TIMEOUT_MS
    bogus = copy.deepcopy(connections["default"].settings_dict)
    bogus.update(HOST="/nonexistent/mem0-healthz", PORT="")
    if request.param == "no-pool":
        bogus["OPTIONS"].pop("pool", None)
    real, wrapper = _swap_default(bogus)
    yield request.param
    connections["default"] = real
    wrapper.close_pool()


class SilentServer:
    """A TCP port that accepts connections and never says a word (a hung or firewalled database)."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                self.accepted.append(self.listener.accept()[0])
            except TimeoutError:
                continue

    def close(self):
        if not self.stopped.is_set():
            self.stopped.set()
            self.thread.join()
            for conn in self.accepted:
                conn.close()
            self.listener.close()


class FreezableProxy:
    """A TCP port relaying to the real PostgreSQL until freeze(): then it keeps the connections open and
    relays nothing more, like a frozen server or a network that vanished under an open connection."""

    def __init__(self, target: dict):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.frozen = threading.Event()
        self.stopped = threading.Event()
        self.sockets: list[socket.socket] = []
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _upstream(self) -> socket.socket:
        host, port = self.target["HOST"], int(self.target["PORT"] or 5432)
        if host.startswith("/"):
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(f"{host}/.s.PGSQL.{port}")
            return upstream
        return socket.create_connection((host or "localhost", port))

    def _accept(self):
        while not self.stopped.is_set():
            try:
                client = self.listener.accept()[0]
            except TimeoutError:
                continue
            upstream = self._upstream()
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                thread = threading.Thread(target=self._pump, args=(source, sink), daemon=True)
                self.threads.append(thread)
                thread.start()

    def _pump(self, source: socket.socket, sink: socket.socket):
        source.settimeout(0.1)
        while not self.stopped.is_set():
            if self.frozen.is_set():
                time.sleep(0.05)
                continue
            try:
                data = source.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            sink.sendall(data)

    def freeze(self):
        self.frozen.set()

    def close(self):
        self.stopped.set()
        for thread in self.threads:
            thread.join()
        for sock in self.sockets:
            sock.close()
        self.listener.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


def test_healthz_is_open_and_reports_ok(client, embedder, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "embedder": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_healthz_ignores_credentials_even_wrong_ones(client, admin_key, embedder, db):
    assert client.get("/healthz", HTTP_X_API_KEY="wrong-key-wrong-key").status_code == 200


@pytest.mark.parametrize("pooled", [True, False])
def test_healthz_works_on_a_read_only_database_connection(client, embedder, db, pooled):
    """It only reads: a session where every transaction is read-only still reports ok."""
    read_only = copy.deepcopy(connections["default"].settings_dict)
    read_only["OPTIONS"]["options"] = "-c default_transaction_read_only=on"
    if not pooled:
        read_only["OPTIONS"].pop("pool", None)
    real, wrapper = _swap_default(read_only, alias="healthz-read-only")
    try:
        response = client.get("/healthz")
    finally:
        connections["default"] = real
        wrapper.close_pool()
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_healthz_while_the_model_is_still_loading_is_200_loading(client, db, monkeypatch):
    monkeypatch.setattr(embeddings, "_local", embeddings.LocalEmbedder())  # not loaded yet
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "embedder": "loading"}


def test_warm_up_logs_loading_then_ready_while_healthz_says_loading_and_requests_wait(
    client, db, embedder, monkeypatch, caplog
):
    fresh, release = embeddings.LocalEmbedder(), threading.Event()

    def slow_load():  # the real model, once the test lets the "load" finish
        release.wait(60)
        return embedder._get_model()

    monkeypatch.setattr(fresh, "_load", slow_load)
    monkeypatch.setattr(embeddings, "_local", fresh)
    caplog.set_level("INFO", logger="mem0server")
    warm_up = threading.Thread(target=fresh.warm_up)
    warm_up.start()
    vectors: list = []
    waiting = threading.Thread(target=lambda: vectors.extend(fresh.embed(["a request that needs the model"])))
    try:
        for _ in range(500):
            if "embedder loading" in caplog.text:
                break
            time.sleep(0.01)
        assert "embedder loading" in caplog.text
        waiting.start()
        assert client.get("/healthz").json() == {"status": "ok", "database": "ok", "embedder": "loading"}
        assert not vectors  # it waits for the model; it does not fail
    finally:
        release.set()
        warm_up.join(60)
        if waiting.ident:  # started
            waiting.join(60)
    assert len(vectors) == 1 and len(vectors[0]) == 384
    assert "embedder ready (" in caplog.text
    assert client.get("/healthz").json()["embedder"] == "ok"


def test_healthz_reports_a_model_that_failed_to_load_as_degraded(client, db, monkeypatch):
    broken = embeddings.LocalEmbedder()
    monkeypatch.setattr(broken, "_load", lambda: (_ for _ in ()).throw(OSError("weights missing")))
    monkeypatch.setattr(embeddings, "_local", broken)
    with pytest.raises(OSError):
        broken.warm_up()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "embedder": "unavailable"}


def test_healthz_is_a_quick_503_when_the_database_is_down(client, embedder, database_down):
    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "database": "unavailable", "embedder": "ok"}
    assert elapsed < BOUND, f"/healthz took {elapsed:.1f}s with the database down ({database_down})"


# Without the pool: the API's own pool waits its full DB_POOL_TIMEOUT for a connection before answering 503.
@pytest.mark.parametrize("database_down", ["no-pool"], indirect=True)
def test_the_api_itself_answers_503_when_the_database_is_down(api_client, database_down):
    response = api_client.get("/memories")
    assert response.status_code == 503
    assert response.json()["code"] == "datastore_unavailable"


@pytest.mark.parametrize("pooled", [True, False])
def test_healthz_gives_up_on_a_database_that_never_answers(client, embedder, db, settings, silent_server, pooled):
    settings.HEALTHZ_TIMEOUT_MS = HEALTHZ_TIMEOUT_MS
    hung = copy.deepcopy(connections["default"].settings_dict)
    hung.update(HOST="127.0.0.1", PORT=str(silent_server.port), PASSWORD="unused")
    if not pooled:
        hung["OPTIONS"].pop("pool", None)
    real, wrapper = _swap_default(hung)
    try:
        started = time.monotonic()
        response = client.get("/healthz")
        elapsed = time.monotonic() - started
    finally:
        connections["default"] = real
        silent_server.close()  # lets the pool's pending connection attempt fail, so closing it is quick
        wrapper.close_pool()
    assert response.status_code == 503
    # Pooled: the pool wait (0.5 s) bounds it; direct: libpq's connect_timeout, whose floor is 2 s.
    assert elapsed < BOUND, f"/healthz took {elapsed:.1f}s against a silent server"


def test_the_schema_documents_healthz_as_open_with_both_answers(client):
    operation = client.get("/openapi.json").json()["paths"]["/healthz"]["get"]
    # 400 and 406 as for every operation (over 1000 query parameters, an Accept header without JSON).
    assert set(operation["responses"]) == {"200", "503", "400", "406"}
    assert operation["responses"]["503"]["content"]["application/json"]["schema"]["$ref"].endswith("/Health")
    assert not operation.get("security")


def test_healthz_gives_up_on_a_database_that_freezes_under_an_open_connection(client, embedder, db, settings):
    """statement_timeout cannot help when the server itself stops answering: the probe's own deadline does."""
    target = connections["default"].settings_dict
    proxy = FreezableProxy(target)
    via_proxy = copy.deepcopy(target)
    via_proxy.update(HOST="127.0.0.1", PORT=str(proxy.port))
    real, wrapper = _swap_default(via_proxy, alias="healthz-frozen")
    try:
        # A pooled connection now runs through the proxy: made within SLACK, not the probe's 0.5 s (a new connection
        # through the relay, a backend started and authenticated, took longer on a loaded machine).
        settings.HEALTHZ_TIMEOUT_MS = SLACK * 1000
        assert client.get("/healthz").status_code == 200
        settings.HEALTHZ_TIMEOUT_MS = HEALTHZ_TIMEOUT_MS
        proxy.freeze()
        started = time.monotonic()
        response = client.get("/healthz")
        elapsed = time.monotonic() - started
    finally:
        connections["default"] = real
        proxy.close()  # the stuck probe's connection breaks, so its thread ends and the pool closes
        wrapper.close_pool()
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"
    assert elapsed < BOUND, f"/healthz took {elapsed:.1f}s against a frozen database"


def test_stuck_probes_are_capped_so_a_hung_database_cannot_pile_up_threads(db, monkeypatch):
    release, calls = threading.Event(), []

    def hung_probe(wrapper, timeout):
        calls.append(timeout)
        release.wait(SLACK)
        return "ok"

    monkeypatch.setattr(health, "_probe", hung_probe)
    try:
        answers = [health.database_status(timeout=0.05) for _ in range(health.MAX_PROBES_IN_FLIGHT + 2)]
    finally:
        release.set()
    assert answers == ["unavailable"] * (health.MAX_PROBES_IN_FLIGHT + 2)
    # The released probes give their slots back (a probe thread started late counts itself only now).
    wait_for(all_probe_slots_free, timeout=SLACK, what="the released probes ending")
    assert len(calls) == health.MAX_PROBES_IN_FLIGHT  # the extra checks did not start a thread
    monkeypatch.undo()
    assert health.database_status(timeout=SLACK) == "ok"


def all_probe_slots_free() -> bool:
    taken = 0
    while health._probes.acquire(blocking=False):
        taken += 1
    for _ in range(taken):
        health._probes.release()
    return taken == health.MAX_PROBES_IN_FLIGHT
