"""The dashboard in a real browser: Debian's Chromium (its headless shell) driven by Playwright over a live server.

A failing test leaves a full-page screenshot of each of its tabs in test-artifacts/browser/ (git-ignored); with
BROWSER_SCREENSHOTS=all every step's screenshot lands there too. `make test` installs chromium-headless-shell
when it is missing; Playwright's own browser download is never used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from accounts.models import User
from apikeys.services import apikey_create
from dashboard.tests.conftest import FAILED
from mcp_server.tests.test_client import call, run
from memories.models import Memory
from memories.tests.fake_openai import FakeOpenAI
from memories.tests.files import FileHost, pdf_of
from memories.tests.test_hermes import run_hermes
from platform_api.tests.node_sdk import NODE_MODULES, run_node_check
from webhooks.models import Webhook

# Chromium's headless shell (Debian's chromium-headless-shell: the same engine without the desktop browser around
# it) took about a third of the full browser's CPU for these tests; the full one where only it is installed.
CHROMIUM = shutil.which("chromium-headless-shell") or shutil.which("chromium") or "/usr/bin/chromium-headless-shell"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
# A full-page screenshot of each step costs Chromium about a tenth of these tests' CPU: taken on demand only.
EVERY_STEP = os.environ.get("BROWSER_SCREENSHOTS") == "all"
PASSWORD = "a long passphrase"
# How long an action, or a page's expected state, may take to come: generous, for a busy machine (make test runs one
# more process than the cores). Playwright's own bound for an expect() is 5 s: a configuration test that embedded a
# text on a loaded machine missed it once.
WAIT_MS = 30_000
expect.set_options(timeout=WAIT_MS)
CALLBACK = "http://127.0.0.1:33418/callback"  # a connector's own listener, never reached (the `callback` fixture's is)


@pytest.fixture(scope="module")
def browser(django_db_setup, django_db_blocker):
    # Playwright's sync API keeps an asyncio loop on this thread, and Django then refuses ORM calls here
    # (test set-up and teardown included) although they are plain synchronous code: allow them for these tests.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            yield browser
            browser.close()


class _Callback(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.arrived.append(self.path)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"done")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def callback():
    """A connector's own listener on 127.0.0.1 (as Claude Code's), where the consent sends the browser with the code:
    its URL, and the paths it was asked for. (Playwright's routing did not catch that cross-site redirect in
    Chromium's headless shell.)"""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Callback)
    server.arrived = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name="connector-callback", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/callback", server.arrived  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def page(request, browser, live_server, embedder, settings):
    """A fresh browser context per test; the live server's own threads answer it."""
    settings.AUTH_DISABLED = False
    settings.ADMIN_API_KEY = ""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    tab = context.new_page()
    refused = []  # what the pages' Content-Security-Policy blocked: the dashboard needs none of it
    tab.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    yield tab
    try:
        if request.node.stash.get(FAILED, False):  # what each tab showed when the test failed
            for number, failed in enumerate(context.pages):
                save_screenshot(failed, f"failed-{request.node.name}-{number}")
    finally:
        context.close()
    assert refused == []


def save_screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def shot(page: Page, name: str) -> None:
    """A step worth seeing: its screenshot is saved when BROWSER_SCREENSHOTS=all."""
    if EVERY_STEP:
        save_screenshot(page, name)


def log_in(page: Page, email: str) -> None:
    page.goto("/dashboard/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def api(base: str, path: str, key: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(  # noqa: S310  (the live server's own http:// URL)
        base + path, data=data, headers={"X-API-Key": key, "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def test_the_setup_wizard_creates_the_admin_and_a_key_that_works(page, live_server):
    page.goto("/dashboard/")
    expect(page).to_have_url(re.compile(r"/dashboard/setup/$"))
    expect(page.get_by_role("heading", name="Welcome to mem0server")).to_be_visible()
    page.get_by_label("Name").fill("Ada")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    # A field's help is its description for assistive technology (the input names it in aria-describedby).
    expect(page.get_by_label("Password")).to_have_accessible_description("8 characters or more.")
    shot(page, "01-setup-admin")
    page.get_by_role("button", name="Create the admin account").click()

    expect(page.get_by_role("heading", name="Models")).to_be_visible()
    expect(page.get_by_text("all-MiniLM-L6-v2").first).to_be_visible()
    expect(page.get_by_text("Inference is off")).to_be_visible()
    # The LLM, given here as on the Configuration page: the scripted OpenAI-wire server.
    with FakeOpenAI() as fake:
        page.get_by_label("LLM provider").select_option("openai")
        page.get_by_label("LLM model").fill("fake-model")
        page.get_by_label("LLM base URL").fill(fake.url)
        page.get_by_label("LLM API key").fill("sk-typed-in-the-wizard")
        shot(page, "02-setup-models")
        page.get_by_role("button", name="Save configuration").click()
        expect(page.get_by_text("Configuration saved")).to_be_visible()
        expect(page.get_by_role("heading", name="Models")).to_be_visible()  # still the wizard's step
        expect(page.get_by_text("Inference is on")).to_be_visible()
        page.get_by_role("button", name="Test the saved configuration").click()
        expect(page.locator("#connection li.ok")).to_have_count(2)  # the embedder and the LLM answered
        expect(page.locator("#connection")).to_contain_text("fake-model")
        assert fake.calls, "the LLM was not asked"
    assert "sk-typed-in-the-wizard" not in page.content()
    page.get_by_role("link", name="Next: create an API key").click()

    page.get_by_role("button", name="Create the key").click()
    key = page.get_by_label("New API key").input_value()
    assert key.startswith("m0sk_")
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    page.get_by_role("button", name="Run a test add and search with this key").click()
    expect(page.locator("#test-ok")).to_contain_text("The key works")
    expect(page.locator("#test-ok")).to_contain_text("Likes green tea in the morning")
    shot(page, "03-setup-key-and-test")

    assert User.objects.get().is_admin
    # The key shown once works against the API too.
    status, body = api(live_server.url, "/memories?user_id=nobody", key)
    assert (status, body["results"]) == (200, [])
    page.get_by_role("link", name="Finish: go to the dashboard").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    shot(page, "04-overview")


def test_log_in_add_a_memory_search_it_and_read_its_history(page, make_user):
    make_user("ada@example.com", role=User.Role.ADMIN, password=PASSWORD)
    page.goto("/dashboard/memories/")
    expect(page).to_have_url(re.compile(r"/dashboard/login/"))
    shot(page, "05-login")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Memories", exact=True)).to_be_visible()

    add = page.locator("form[action='/dashboard/memories/add/']")
    add.get_by_label("Memory").fill("Loves spicy Thai curry")
    add.get_by_label("User id").fill("alice")
    add.get_by_label("Metadata (JSON)").fill('{"topic": "food"}')
    add.get_by_role("button", name="Add").click()
    expect(page.get_by_role("heading", name="Memory", exact=True)).to_be_visible()
    expect(page.locator("blockquote.memory")).to_have_text("Loves spicy Thai curry")

    page.get_by_label("Memory", exact=True).fill("Loves spicy Thai green curry")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Memory updated.")).to_be_visible()
    timeline = page.locator("ol.timeline")
    expect(timeline.locator("li")).to_have_count(2)
    expect(timeline.locator("li").first).to_contain_text("UPDATE")
    expect(timeline.locator("li").last).to_contain_text("ADD")
    shot(page, "06-memory-history")

    page.get_by_role("link", name="← Memories").click()
    search = page.locator("form[action='/dashboard/memories/search/']")
    search.get_by_label("Search by meaning", exact=True).fill("what food does she like")
    search.get_by_label("User id").fill("alice")
    search.get_by_role("button", name="Search").click()
    results = page.locator("#search-results table.results")
    expect(results).to_contain_text("Loves spicy Thai green curry")
    expect(results.get_by_role("columnheader", name="Vector")).to_be_visible()
    # How closely its words match the query's (late interaction), a score between 0 and 1.
    expect(results.get_by_role("columnheader", name="Words")).to_be_visible()
    words = results.locator("tbody tr").first.locator("td").nth(5).inner_text()
    assert 0 < float(words) <= 1
    shot(page, "07-search")
    # Metadata filters narrow the list.
    filters = page.locator("form.filters")
    filters.get_by_label("Metadata filters (JSON)").fill('{"topic": "travel"}')
    filters.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No memories match.")).to_be_visible()


def test_a_memorys_page_shows_its_lines_as_lines(page, make_user, make_memory):
    # An image's description follows its message's text on a line of its own (memories/vision.py).
    ada = make_user("ada@example.com", role=User.Role.ADMIN, password=PASSWORD)
    memory_id = make_memory("I had this for lunch\nA photo of a vegetable pizza", principal=ada)
    log_in(page, "ada@example.com")
    page.goto(f"/dashboard/memories/{memory_id}/")
    assert page.locator("blockquote.memory").inner_text() == "I had this for lunch\nA photo of a vegetable pizza"


def test_a_member_adds_a_pdf_on_the_memories_page_and_finds_what_its_second_page_says(page, make_user, tmp_path):
    make_user("ada@example.com", password=PASSWORD)
    lease = tmp_path / "lease.pdf"
    lease.write_bytes(pdf_of("Lease of the flat on Rua Augusta", "The rent is 950 euros a month"))
    log_in(page, "ada@example.com")
    page.get_by_role("link", name="Memories", exact=True).click()
    add = page.locator("form[action='/dashboard/memories/add/']")
    add.get_by_label("Or a document").set_input_files(str(lease))
    add.get_by_label("User id").fill("ada")
    add.get_by_role("button", name="Add").click()
    expect(page.get_by_text("Memory added.")).to_be_visible()  # one passage: its page
    expect(page.locator("blockquote.memory")).to_have_text(
        "Lease of the flat on Rua Augusta\n\nThe rent is 950 euros a month"
    )
    page.get_by_role("link", name="← Memories").click()
    search = page.locator("form[action='/dashboard/memories/search/']")
    search.get_by_label("Search by meaning").fill("How much is the rent?")
    search.get_by_label("User id").fill("ada")
    search.get_by_role("button", name="Search").click()
    expect(page.locator("#search-results")).to_contain_text("950 euros a month")
    shot(page, "07b-document-found")


def test_create_a_key_shown_once_and_revoke_it(page, make_user, live_server):
    make_user("ada@example.com", role=User.Role.ADMIN, password=PASSWORD)
    log_in(page, "ada@example.com")
    page.get_by_role("link", name="API keys", exact=True).click()
    page.get_by_label("Label").fill("my agent")
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_label("New API key").input_value()
    expect(page.locator("#keys")).to_contain_text("my agent")
    expect(page.locator("#keys")).to_contain_text(key[:12])
    shot(page, "08-key-created")
    assert api(live_server.url, "/memories?user_id=x", key)[0] == 200

    page.goto("/dashboard/keys/")
    expect(page.get_by_label("New API key")).to_have_count(0)  # shown once only
    expect(page.locator("#keys tbody tr").first).not_to_contain_text("never")  # last used is filled in
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke my agent").click()
    expect(page.get_by_text("Key revoked")).to_be_visible()
    expect(page.locator("#keys")).to_contain_text("No live keys.")
    shot(page, "09-key-revoked")
    assert api(live_server.url, "/memories?user_id=x", key)[0] == 401


def test_a_member_uploads_a_backup_on_the_import_page_and_finds_its_memories(page, make_user, run_jobs, tmp_path):
    make_user("ada@example.com", password=PASSWORD)
    backup = tmp_path / "from-my-old-server.jsonl"
    when, text = "2025-04-01T09:00:00+00:00", "Keeps bees on the roof"
    added = {"id": "0b7c4f0e-1d2a-4e5b-8c9d-1e2f3a4b5c6d", "event": "ADD", "new_memory": text, "created_at": when}
    line = {"id": "6f0d1c2e-5b7a-4c3d-9e8f-0a1b2c3d4e5f", "memory": text, "user_id": "ada", "created_at": when,
            "updated_at": when, "history": [added]}  # fmt: skip
    backup.write_text(json.dumps(line) + "\n")
    log_in(page, "ada@example.com")
    page.get_by_role("link", name="Import", exact=True).click()
    page.get_by_label("File").set_input_files(str(backup))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("from-my-old-server.jsonl queued")).to_be_visible()
    with ThreadPoolExecutor(1) as worker:  # what the worker does, off Playwright's event loop
        worker.submit(run_jobs).result()
    page.get_by_role("link", name="Refresh").click()
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("SUCCEEDED")
    expect(row.locator("td").nth(4)).to_have_text("1")
    shot(page, "20-import-done")
    page.get_by_role("link", name="Memories", exact=True).click()
    page.get_by_role("link", name="Keeps bees on the roof").click()
    expect(page.locator("ol.timeline li")).to_contain_text("ADD")


def test_the_queued_adds_page_shows_how_the_sdks_adds_ended(page, make_user, live_server, run_jobs, settings):
    from mem0 import MemoryClient

    ada = make_user("ada@example.com", role=User.Role.ADMIN, password=PASSWORD)
    _, key = apikey_create(user=ada, label="sdk")
    client = MemoryClient(api_key=key, host=live_server.url)  # Mem0's SDK queues its adds
    settings.FETCH_HOSTS = ["127.0.0.1"]
    with FileHost({}) as host:  # every path a 404
        client.add("Keeps bees on the roof", user_id="sam", infer=False)
        client.add(
            [{"role": "user", "content": {"type": "pdf_url", "pdf_url": {"url": f"{host}/lease.pdf"}}}], user_id="sam"
        )
        with ThreadPoolExecutor(1) as worker:  # the worker's event loop beside Playwright's
            worker.submit(run_jobs).result()
    log_in(page, "ada@example.com")
    page.get_by_role("link", name="Queued adds", exact=True).click()
    rows = page.locator("#events tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Failed")
    expect(rows.nth(0)).to_contain_text("its host answered 404, not a document.")
    expect(rows.nth(1)).to_contain_text("Succeeded")
    expect(rows.nth(1)).to_contain_text("1 memory added, updated or deleted")
    page.get_by_label("Status").select_option("Failed")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("user sam")
    shot(page, "12-queued-adds-failed")
    rows.first.get_by_role("button", name="Queue again").click()
    said = page.get_by_role("status")
    expect(said).to_contain_text(re.compile(r"Queued again as event \S+\."))
    queued = re.search(r"Queued again as event (\S+)\.", said.inner_text()).group(1)
    page.get_by_label("Status").select_option("Pending")
    page.get_by_role("button", name="Apply").click()
    # The add queued again and only it: a list of the Failed or the Succeeded adds has one row too.
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td").nth(1)).to_have_text("Pending")
    expect(rows.first).to_contain_text(queued)


def test_the_requests_page_charts_traffic_latency_and_errors(page, make_user, live_server):
    from apikeys.services import apikey_create

    ada = make_user("ada@example.com", role=User.Role.ADMIN, password=PASSWORD)
    _, key = apikey_create(user=ada, label="traffic")
    for _ in range(3):
        api(live_server.url, "/memories?user_id=alice", key)
    api(live_server.url, "/memories/00000000-0000-4000-8000-000000000000", key)  # 404
    api(live_server.url, "/search", key, {"query": "x"})  # 400: no scope
    log_in(page, "ada@example.com")
    page.get_by_role("link", name="Requests", exact=True).click()
    expect(page.get_by_role("heading", name="Traffic")).to_contain_text("5 calls")
    charts = page.locator("figure.chart")
    expect(charts).to_have_count(3)
    expect(charts.nth(0)).to_contain_text("Requests per minute")
    expect(charts.nth(1)).to_contain_text("p95")
    expect(charts.nth(2)).to_contain_text("/memories/{id}")
    expect(charts.nth(0).locator("polyline")).to_have_count(1)
    # p50 and p95 are drawn: as dots while every call falls into one minute, as lines otherwise.
    assert charts.nth(1).locator("polyline, circle").count() >= 2
    shot(page, "10-requests-charts")

    page.get_by_label("Errors only").check()
    page.get_by_role("button", name="Apply").click()
    log = page.locator("#request-log tbody tr")
    expect(log).to_have_count(2)
    expect(log.first.locator("td").nth(6)).to_have_text(re.compile(r"^Python-urllib/"))  # the caller's client
    page.get_by_label("Client contains").fill("no such client")
    page.get_by_role("button", name="Apply").click()
    expect(log).to_have_count(1)
    expect(log.first).to_contain_text("No requests match.")
    page.get_by_label("Client contains").fill("python-URLLIB")
    page.get_by_role("button", name="Apply").click()
    expect(log).to_have_count(2)
    shot(page, "11-requests-errors-only")


def test_the_admin_creates_a_member_who_is_refused_admin_pages(page, make_user):
    make_user("admin@example.com", role=User.Role.ADMIN, password=PASSWORD)
    log_in(page, "admin@example.com")
    page.get_by_role("link", name="Configuration", exact=True).click()
    page.get_by_role("button", name="Test the saved configuration").click()
    expect(page.locator("#connection")).to_contain_text("embedder: OK")
    expect(page.locator("#connection")).to_contain_text("No LLM configured")
    shot(page, "12-configuration")

    page.get_by_role("link", name="Users", exact=True).click()
    form = page.locator("form.inline")
    form.get_by_label("Email").fill("member@example.com")
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Created member member@example.com.")).to_be_visible()
    shot(page, "13-users")
    # Each account's buttons name it, and a deactivation (its sessions, tokens and connected apps end for good) asks
    # first: a click on a row's "Deactivate" did it at once.
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Deactivate member@example.com").click()
    expect(page.get_by_role("button", name="Reset the password of member@example.com")).to_be_visible()
    assert asked and asked[0].startswith("Deactivate \u2068member@example.com\u2069?")
    assert User.objects.get(email="member@example.com").is_active
    page.get_by_role("button", name="Log out").click()

    log_in(page, "member@example.com")
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    response = page.goto("/dashboard/users/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    shot(page, "14-member-refused")


def test_the_admin_turns_image_descriptions_on_with_the_box_before_its_label(page, make_user):
    from memories.configuration import server_config_get, server_config_set

    section = {"model": "llava", "openai_base_url": "http://127.0.0.1:11434/v1"}
    server_config_set(changes={"llm": {"provider": "ollama", "config": section}})
    make_user("admin@example.com", role=User.Role.ADMIN, password=PASSWORD)
    log_in(page, "admin@example.com")
    page.get_by_role("link", name="Configuration", exact=True).click()
    box, label = page.get_by_role("checkbox", name="Describe images"), page.locator("label", has_text="Describe images")
    help_text = page.get_by_text("The LLM describes the images messages carry")
    # The box sits on its label's line, before it; its help text on a line of its own below (the box was squeezed
    # to the right of the help text).
    box_at, label_at, help_at = box.bounding_box(), label.bounding_box(), help_text.bounding_box()
    assert box_at["x"] + box_at["width"] <= label_at["x"], (box_at, label_at)
    assert abs((box_at["y"] + box_at["height"] / 2) - (label_at["y"] + label_at["height"] / 2)) < label_at["height"]
    assert help_at["y"] >= label_at["y"] + label_at["height"], (label_at, help_at)
    label.click()  # the label ticks its box
    expect(box).to_be_checked()
    page.get_by_role("button", name="Save configuration").click()
    expect(page.get_by_text("Configuration saved")).to_be_visible()
    expect(page.get_by_text("which also describes images")).to_be_visible()
    assert server_config_get()["llm"]["config"]["enable_vision"] is True
    shot(page, "15-configuration-images")


def test_the_admin_tries_new_model_settings_before_saving_them(page, make_user):
    from memories.configuration import server_config_get
    from memories.tests.fake_openai import FakeOpenAI

    make_user("admin@example.com", role=User.Role.ADMIN, password=PASSWORD)
    log_in(page, "admin@example.com")
    page.get_by_role("link", name="Configuration", exact=True).click()
    before = server_config_get()
    with FakeOpenAI() as model:
        page.get_by_label("LLM provider").select_option("ollama")
        page.get_by_label("LLM model").fill("llava")
        page.get_by_label("LLM base URL").fill(model.url)
        page.get_by_role("button", name="Test these settings").click()
        tried = page.locator("#tried")
        expect(tried).to_contain_text("These settings, not saved:")
        expect(tried).to_contain_text(f"llm: OK — ollama: model llava at {model.url}")
        shot(page, "16-configuration-tried")
        assert [call.body["model"] for call in model.chat_calls()] == ["llava"]
    assert server_config_get() == before
    # Settings that could not be saved say why, below the form.
    page.get_by_label("LLM API key").fill("sk-\u2026")
    page.get_by_role("button", name="Test these settings").click()
    expect(page.locator("#tried")).to_contain_text("llm.config.api_key: Must be printable ASCII")
    # Logged out and in again from another tab: this page's form token is out of date. The test's 403 was not swapped
    # in (htmx-config) and the button did nothing; the results area says why.
    other = page.context.new_page()
    other.goto("/dashboard/")
    other.get_by_role("button", name="Log out").click()
    log_in(other, "admin@example.com")
    other.close()
    page.get_by_label("LLM API key").fill("")
    page.get_by_role("button", name="Test these settings").click()
    expect(page.locator("#tried")).to_contain_text("Refused (403): this page is out of date")
    page.get_by_role("button", name="Test the saved configuration").click()
    expect(page.locator("#connection")).to_contain_text("Reload it and try again.")
    page.reload()
    page.get_by_role("button", name="Test the saved configuration").click()
    expect(page.locator("#connection")).to_contain_text("embedder: OK")
    # A proxy's 502, or no answer at all, said nothing either.
    test_address = "**/dashboard/configuration/test/"
    page.route(test_address, lambda route: route.fulfill(status=502, headers={"X-Request-ID": "r-42"}, body="down"))
    page.get_by_role("button", name="Test the saved configuration").click()
    expect(page.locator("#connection")).to_contain_text("The server answered 502 Bad Gateway (request id r-42")
    page.unroute(test_address)
    page.route(test_address, lambda route: route.abort())
    page.get_by_role("button", name="Test these settings").click()
    expect(page.locator("#tried")).to_contain_text("The server could not be reached")


def test_a_member_sets_up_profiles_and_a_schema_without_descriptions_is_refused(page, make_user, live_server):
    make_user("mia@example.com", password=PASSWORD)
    log_in(page, "mia@example.com")
    page.get_by_role("link", name="Profiles", exact=True).click()
    expect(page.get_by_text("Profiles are off.")).to_be_visible()
    settings_form = page.locator("form:has(input[value='settings'])")
    settings_form.get_by_label("Profiles on").check()
    settings_form.get_by_label("Profile schema (JSON Schema)").fill(
        '{"type": "object", "properties": {"city": {"type": "string"}}}'
    )
    settings_form.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("alert")).to_contain_text("Property 'city' of the profile schema needs a `description`")
    shot(page, "12-profiles-schema-refused")

    settings_form = page.locator("form:has(input[value='settings'])")
    settings_form.get_by_label("Profile schema (JSON Schema)").fill(
        '{"type": "object", "properties": {"city": {"type": "string", "description": "Where they live."}}}'
    )
    settings_form.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Profile settings saved.")).to_be_visible()
    expect(page.get_by_text("Profiles are on.")).to_be_visible()
    shot(page, "13-profiles-on")
    key = apikey_create(user=User.objects.get(email="mia@example.com"), label="sdk")[1]
    status, settings = api(live_server.url, "/v2/profiles/settings/", key)
    assert status == 200
    assert settings["enabled"] is True
    assert settings["entities"]["user"]["schema"]["properties"]["city"]["description"] == "Where they live."


def test_an_entity_whose_id_holds_dot_segments_is_the_one_its_delete_link_deletes(page, make_user, make_memory):
    ada = make_user("ada@example.com", role=User.Role.ADMIN, password=PASSWORD)
    make_memory("filed under the team", user_id="team/../bob", principal=ada)
    make_memory("bob's own memory", user_id="bob", principal=ada)
    log_in(page, "ada@example.com")
    page.get_by_role("link", name="Entities", exact=True).click()
    # A browser resolves "/entities/user/team/../bob/delete/" to bob's page. Each link names its entity: a page of
    # 1,000 entities read as 1,000 links "Delete…" to a screen reader.
    page.get_by_role("link", name="Delete user team/../bob…", exact=True).click()
    expect(page.get_by_role("heading", name="Delete user “team/../bob”?")).to_be_visible()
    page.get_by_role("button", name="Delete 1 memory").click()
    expect(page.get_by_text("Deleted user team/../bob and its 1 memory.")).to_be_visible()
    assert list(Memory.objects.values_list("user_id", flat=True)) == ["bob"]


def test_an_agent_deleted_from_the_agents_list_comes_back_to_the_agents_list(page, make_user, make_memory):
    # It came back to the list of every type: the confirmation's form posts to its own address, which carries the
    # list's type (a browser keeps a POST form's query), and its answer leads back there.
    ada = make_user("ada@example.com", role=User.Role.ADMIN, password=PASSWORD)
    for agent in ("planner", "scribe"):
        make_memory(f"{agent}'s memory", user_id=None, scope={"agent_id": agent}, principal=ada)
    make_memory("a user's memory", user_id="bob", principal=ada)
    log_in(page, "ada@example.com")
    page.get_by_role("link", name="Entities", exact=True).click()
    page.get_by_role("navigation", name="Entity type").get_by_role("link", name="Agents").click()
    page.get_by_role("link", name="Delete agent planner…", exact=True).click()
    page.get_by_role("button", name="Delete 1 memory").click()
    expect(page.get_by_text("Deleted agent planner and its 1 memory.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/dashboard/entities/\?type=agent$"))
    expect(page.get_by_role("link", name="Agents")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name="Delete agent scribe…", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Delete user bob…", exact=True)).to_have_count(0)


LONG_URL = "https://example.com/" + "/".join(f"section-{n}-of-a-path-without-spaces" for n in range(12))
LONG_ID = "alice-" + "x" * 120


def sideways(page: Page) -> int:
    """How far the page scrolls sideways: 0 when everything fits the window's width."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_long_unbroken_texts_and_a_phone_sized_window_never_make_a_page_scroll_sideways(page, make_user, make_memory):
    ada = make_user("ada@example.com", role=User.Role.ADMIN, password=PASSWORD)
    make_memory(LONG_URL, user_id=LONG_ID, principal=ada, metadata={"source": "m" * 150})
    make_memory("I drink green tea every morning", user_id=LONG_ID, principal=ada)
    Webhook.objects.create(
        account=ada.account, name="hook", url=LONG_URL, event_types=["memory_add"], secret="whsec_hook-secret"
    )
    log_in(page, "ada@example.com")
    with page.expect_navigation():  # measured once its stylesheet has loaded
        page.get_by_role("link", name="Memories", exact=True).click()
    memory = page.get_by_role("link", name=LONG_URL[:40])
    expect(memory).to_be_visible()
    # A memory that is one long URL (or id, or metadata value) wraps inside its cell.
    assert memory.bounding_box()["x"] + memory.bounding_box()["width"] <= 1280
    assert sideways(page) == 0
    page.goto(f"/dashboard/memories/search/?query=example&user_id={LONG_ID}")
    expect(page.locator(".results")).to_contain_text(LONG_URL[:60])
    assert sideways(page) == 0
    memory = page.locator(".results").get_by_role("link", name=LONG_URL[:40])
    with page.expect_navigation():
        memory.click()
    expect(page.get_by_role("heading", name="Memory", exact=True)).to_be_visible()
    assert sideways(page) == 0
    detail = page.url
    shot(page, "16-long-texts")
    # On a phone's width every page fits it: wide tables scroll inside their own box.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/dashboard/")
    addresses = page.locator("nav a").evaluate_all("links => links.map(link => link.getAttribute('href'))")
    assert len(addresses) >= 12
    for address in ["/dashboard/", *addresses, detail, "/dashboard/memories/search/?query=tea&user_id=" + LONG_ID]:
        page.goto(address)
        assert (address, sideways(page)) == (address, 0)
    expect(page.locator(".results")).to_contain_text("green tea")
    shot(page, "17-phone-width")
    # Squeezed to the phone's width, a table broke its times digit by digit; it scrolls instead, a time on one line.
    page.goto("/dashboard/entities/")
    lines = page.locator("td.when").evaluate_all(
        "cells => cells.map(cell => { const r = document.createRange(); r.selectNodeContents(cell);"
        " return new Set([...r.getClientRects()].map(rect => Math.round(rect.top))).size; })"
    )
    assert lines and set(lines) == {1}


def test_a_search_from_the_memories_page_says_what_is_wrong_with_its_fields(page, make_user):
    make_user("ada@example.com", password=PASSWORD)
    log_in(page, "ada@example.com")
    page.get_by_role("link", name="Memories", exact=True).click()
    search = page.locator("form[action='/dashboard/memories/search/']")
    search.get_by_label("Search by meaning", exact=True).fill("tea")
    search.get_by_label("User id").fill("alice smith")
    search.get_by_label("Metadata filters (JSON)").fill('{"topic": food}')
    search.get_by_role("button", name="Search").click()
    # htmx swaps in the results area only: the errors must be there, not beside the fields it leaves as they were.
    results = page.locator("#search-results")
    expect(results.get_by_role("alert").filter(has_text="User id: Must not contain whitespace.")).to_be_visible()
    expect(results.get_by_role("alert").filter(has_text="Metadata filters is not valid JSON")).to_be_visible()
    expect(results).not_to_contain_text("Search needs a scope")
    shot(page, "15-search-field-errors")


def test_a_search_longer_than_an_address_takes_is_sent_and_its_results_shown(page, make_user, make_memory):
    # A search was a GET: gunicorn (make serve) answers a request line over 4094 bytes itself, 414 (mem0server/tests/
    # test_faults.py), which a search of 3,900 Latin letters or 700 Hebrew ones (MAX_QUERY_CHARS is 4,000) made, and
    # the results area said to shorten the search. The live server here has no such bound: the route answers as
    # gunicorn does.
    too_long = {"status": 414, "content_type": "text/html", "body": "<h1>Bad Request</h1>Request Line is too large"}
    page.route(re.compile(r"/dashboard/memories/search/\?.{4000,}"), lambda route: route.fulfill(**too_long))
    ada = make_user("ada@example.com", password=PASSWORD)
    make_memory("Keeps the spare key under the blue flowerpot", user_id="alice", principal=ada)
    log_in(page, "ada@example.com")
    page.get_by_role("link", name="Memories", exact=True).click()
    search = page.locator("form[action='/dashboard/memories/search/']")
    results = page.locator("#search-results")
    # 3,978 characters; 792 (the local embedder reads no Hebrew: it finds nothing, and says so)
    for query, found in (("where is the key " * 234, "flowerpot"), ("איפה המפתח " * 72, "Nothing found")):
        search.get_by_label("Search by meaning", exact=True).fill(query)
        search.get_by_label("User id").fill("alice")
        with page.expect_response(re.compile(r"/dashboard/memories/search/")) as answer:
            search.get_by_role("button", name="Search").click()
        assert answer.value.status == 200
        expect(results.locator("table.results")).to_contain_text(found)
        expect(results.get_by_role("alert")).to_have_count(0)
        # Its address, too long to reload or paste, names the search as kept in the session.
        expect(page).to_have_url(re.compile(r"/dashboard/memories/search/\?kept=[\w-]+$"))
    # A short search keeps its address, and that address, pasted into a tab, shows the same results.
    search.get_by_label("Search by meaning", exact=True).fill("where is the key")
    search.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/dashboard/memories/search/\?.*query=where\+is\+the\+key&user_id=alice"))
    address = page.url
    expect(results.locator("table.results")).to_contain_text("flowerpot")
    pasted = page.context.new_page()
    pasted.goto(address)
    expect(pasted.locator("#search-results table.results")).to_contain_text("flowerpot")
    expect(pasted.get_by_label("Search by meaning", exact=True)).to_have_value("where is the key")
    pasted.close()


def test_back_to_a_search_too_long_for_an_address_and_its_reload_show_its_results_again(page, make_user, make_memory):
    # Its address was the search page's alone: Back from a memory it found, or a reload, showed an empty search page,
    # the results and the 3,978 characters typed gone.
    ada = make_user("ada@example.com", password=PASSWORD)
    make_memory("Keeps the spare key under the blue flowerpot", user_id="alice", principal=ada)
    log_in(page, "ada@example.com")
    page.goto("/dashboard/memories/")
    search = page.locator("form[action='/dashboard/memories/search/']")
    query = "where is the key " * 234
    search.get_by_label("Search by meaning", exact=True).fill(query)
    search.get_by_label("User id").fill("alice")
    search.get_by_role("button", name="Search").click()
    page.locator("#search-results").get_by_role("link", name="Keeps the spare key under the blue flowerpot").click()
    expect(page.get_by_role("heading", name="Memory", exact=True)).to_be_visible()
    for again in (page.go_back, page.reload):
        again()
        expect(page.locator("#search-results table.results")).to_contain_text("flowerpot")
        expect(page.get_by_label("Search by meaning", exact=True)).to_have_value(query)
        assert len(page.url) < 200


def test_older_memories_after_a_search_on_the_memories_page_lists_the_older_memories(page, make_user, make_memory):
    # The link's address was relative ("?cursor=…"), and a search leaves the tab at the search's address: it opened
    # the search page with a cursor and no search, which said the search had no text and no scope.
    from dashboard.views import memories

    ada = make_user("ada@example.com", password=PASSWORD)
    make_memory("Keeps the spare key under the blue flowerpot", user_id="alice", principal=ada)
    make_memory("Drinks green tea every morning", user_id="alice", principal=ada)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(memories, "PAGE_SIZE", 1)
        log_in(page, "ada@example.com")
        page.goto("/dashboard/memories/")
        search = page.locator("form[action='/dashboard/memories/search/']")
        search.get_by_label("Search by meaning", exact=True).fill("where is the key")
        search.get_by_label("User id").fill("alice")
        search.get_by_role("button", name="Search").click()
        expect(page).to_have_url(re.compile(r"/dashboard/memories/search/\?"))
        page.get_by_role("link", name="Older memories →").click()
        expect(page).to_have_url(re.compile(r"/dashboard/memories/\?cursor="))
        expect(page.get_by_role("link", name="Keeps the spare key under the blue flowerpot")).to_be_visible()


def test_a_refused_form_puts_the_keyboards_focus_on_what_it_got_wrong(page, make_user):
    # The focus was at the top of the page: a keyboard user tabbed through every link of the menu to get back to the
    # field the page said was wrong.
    make_user("ada@example.com", password=PASSWORD)
    log_in(page, "ada@example.com")
    page.goto("/dashboard/keys/")
    page.get_by_label("Label").fill("   ")
    page.get_by_label("Label").press("Enter")
    expect(page.get_by_role("alert")).to_have_text("This field is required.")
    expect(page.get_by_label("Label")).to_be_focused()
    # Refused as a whole (no scope id): its first field, what was typed kept.
    page.goto("/dashboard/memories/")
    add = page.locator("form[action='/dashboard/memories/add/']")
    add.get_by_label("Memory").fill("Likes green tea")
    add.get_by_role("button", name="Add").click()
    expect(page.get_by_role("alert")).to_contain_text("At least one of user, agent, app or run id.")
    expect(page.get_by_label("Memory")).to_be_focused()
    expect(page.get_by_label("Memory")).to_have_value("Likes green tea")


def test_back_after_the_session_ended_asks_the_server_not_a_copy_kept_in_the_tab(page, make_user, make_memory):
    # A search pushes its address into the tab's history; htmx kept a copy of the page it left (the memories listed)
    # in the tab's sessionStorage and showed it on Back without asking the server: after logging out elsewhere (or
    # the session's end) Back showed the memories again.
    ada = make_user("ada@example.com", password=PASSWORD)
    make_memory("Keeps the spare key under the blue flowerpot", user_id="alice", principal=ada)
    log_in(page, "ada@example.com")
    page.get_by_role("link", name="Memories", exact=True).click()
    expect(page.get_by_text("Keeps the spare key under the blue flowerpot")).to_be_visible()
    search = page.locator("form[action='/dashboard/memories/search/']")
    search.get_by_label("Search by meaning", exact=True).fill("where is the key")
    search.get_by_label("User id").fill("alice")
    search.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/dashboard/memories/search/\?"))
    expect(page.locator("#search-results table.results")).to_contain_text("flowerpot")
    assert "flowerpot" not in page.evaluate("JSON.stringify(Object.assign({}, sessionStorage))")

    page.context.clear_cookies()  # the session is gone (logged out in another tab, or expired)
    page.go_back()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.get_by_text("Keeps the spare key under the blue flowerpot")).to_have_count(0)


def test_back_after_deleting_a_scope_says_nothing_is_left_not_offer_to_delete_none(page, make_user, make_memory):
    # Back to the confirmation step after the delete asked again to "Delete 0 memories" of the scope, a button that
    # deleted nothing and said "Deleted 0 memories."
    ada = make_user("ada@example.com", role=User.Role.ADMIN, password=PASSWORD)
    make_memory("Likes jazz", user_id="alice", principal=ada)
    log_in(page, "ada@example.com")
    page.goto("/dashboard/memories/?user_id=alice")
    page.get_by_role("link", name="Delete this scope…").click()
    page.get_by_role("button", name="Delete 1 memory").click()
    expect(page.get_by_text("Deleted 1 memory.")).to_be_visible()
    page.go_back()
    expect(page.get_by_text("No memories of user_id “alice” are left")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Delete"))).to_have_count(0)


def apart(call, *args):
    """`call(*args)` on another thread, for code running an asyncio loop of its own beside Playwright's."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(call, *args).result(timeout=120)


def copied(page: Page, snippet: str) -> str:
    """What the Copy button beside `snippet` (a <pre> id) puts on the clipboard, as a user pastes it."""
    page.locator(f"button[data-copy='#{snippet}']").click()
    return page.evaluate("navigator.clipboard.readText()")


def test_a_new_keys_snippets_connect_the_python_sdk_claude_code_cursor_openclaw_hermes_and_curl_as_they_are(
    page, make_user, live_server
):
    make_user("ada@example.com", password=PASSWORD)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    log_in(page, "ada@example.com")
    expect(page.locator("#connect-python")).to_contain_text('api_key="m0sk_…"')  # the overview's, before a key
    expect(page.get_by_role("link", name="the API reference")).to_have_attribute("href", "/docs")
    page.get_by_role("link", name="API keys", exact=True).click()
    page.get_by_label("Label").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_label("New API key").input_value()
    expect(page.get_by_role("heading", name="Connect an agent")).to_be_visible()
    shot(page, "16-key-snippets")
    python, claude, cursor, curl = (
        copied(page, name) for name in ("connect-python", "connect-mcp", "connect-cursor", "connect-curl")
    )
    assert key in python and key in claude and key in cursor and key in curl
    # The connector URL is the MCP endpoint whose 401 leads an OAuth client to this server's metadata.
    connector = copied(page, "connect-oauth")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(connector, data=b"{}", method="POST"))  # noqa: S310
    metadata_url = re.search(r'resource_metadata="([^"]+)"', refused.value.headers["WWW-Authenticate"]).group(1)
    with urllib.request.urlopen(metadata_url) as response:  # noqa: S310
        assert json.loads(response.read())["resource"] == connector

    # Each runs as pasted: the Python SDK adds and finds the memory ...
    home = tempfile.mkdtemp()
    user_env = {"PATH": os.environ["PATH"], "HOME": home, "MEM0_TELEMETRY": "false", "MEM0_DIR": home}
    done = subprocess.run(  # noqa: S603  (the venv's python running the page's snippet against the live server)
        [sys.executable, "-c", python], env=user_env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "I drink green tea every morning" in done.stdout
    assert Memory.objects.filter(user_id="alice", text="I drink green tea every morning").count() == 1

    # ... curl adds it again (no LLM: infer=true skips the near-duplicate) and its search finds it ...
    done = subprocess.run(["bash", "-c", curl], env=user_env, capture_output=True, text=True, timeout=120)  # noqa: S603, S607
    assert done.returncode == 0, done.stderr
    decoder, answers, rest = json.JSONDecoder(), [], done.stdout.strip()
    while rest:
        answer, end = decoder.raw_decode(rest)
        answers.append(answer)
        rest = rest[end:].strip()
    added, found = answers
    assert added["results"][0]["event"] == "NONE"
    assert found["results"][0]["memory"] == "I drink green tea every morning"

    # ... and the URL and header of the Claude Code command reach it through the MCP client.
    words = shlex.split(claude.replace("\\\n", ""))  # the shell's line continuation, then its words
    _, _, _, transport, kind, name, url, header, value = words
    assert (transport, kind, name, header) == ("--transport", "http", "mem0", "--header")
    field, _, credential = value.partition(": ")

    async def search(session):
        return await call(session, "search_memories", query="What does alice drink?")

    is_error, answer = apart(run, url, {field: credential}, search)
    assert not is_error, answer
    assert answer["results"][0]["memory"] == "I drink green tea every morning"
    # Cursor's configuration names the same server and credentials.
    [server] = json.loads(cursor)["mcpServers"].values()
    is_error, answer = apart(run, server["url"], server["headers"], search)
    assert not is_error, answer
    assert answer["results"][0]["memory"] == "I drink green tea every morning"
    # Mem0's OpenClaw plugin, given the page's configuration as it is, finds it too.
    openclaw = json.loads(copied(page, "connect-openclaw"))["plugins"]["entries"]["openclaw-mem0"]
    assert openclaw["enabled"]
    report = run_node_check(
        NODE_MODULES.parent / "openclaw_check.mjs",
        "snippet",
        host="",
        key="",
        OPENCLAW_CONFIG=json.dumps(openclaw["config"]),
    )
    assert [m["memory"] for m in report["search"]["details"]["memories"]] == ["I drink green tea every morning"]
    # Hermes Agent's plugin, with the page's lines as its .env, finds it on its first recall.
    hermes = copied(page, "connect-hermes")
    assert key in hermes
    report = run_hermes("snippet", host="", key="", HERMES_DOTENV=hermes)
    assert "Mode: self-hosted (HTTP API). User: alice." in report["prompt"]
    assert report["search"] == ["I drink green tea every morning"]


def test_a_webhook_created_on_its_page_is_sent_each_change_signed_with_the_secret_shown_once(
    page, make_user, live_server, receiver, private_targets, run_jobs
):
    ada = make_user("ada@example.com", password=PASSWORD)
    key = apikey_create(user=ada, label="agent")[1]
    log_in(page, "ada@example.com")
    page.get_by_role("link", name="Webhooks", exact=True).click()
    page.get_by_label("Name").fill("my receiver")
    page.get_by_label("URL", exact=True).fill(receiver.url)
    expect(page.get_by_label("URL", exact=True)).to_have_accessible_description(re.compile("WEBHOOK_ALLOW_PRIVATE"))
    page.get_by_label("memory_update").uncheck()
    page.get_by_role("button", name="Create webhook").click()
    secret = page.get_by_label("Signing secret").input_value()
    expect(page.locator("#webhooks")).to_contain_text("memory_add, memory_delete")
    shot(page, "17-webhook-created")

    assert (
        api(
            live_server.url, "/memories", key, {"messages": [{"role": "user", "content": "Likes tea"}], "user_id": "al"}
        )[0]
        == 200
    )
    apart(run_jobs)
    [received] = receiver.requests
    fields = dict(part.split("=", 1) for part in received.headers["X-Mem0-Signature"].split(","))
    signed = hmac.new(secret.encode(), f"{fields['t']}.".encode() + received.body, hashlib.sha256).hexdigest()
    assert fields["v1"] == signed
    assert received.json["event_details"]["data"] == {"memory": "Likes tea"}
    page.goto("/dashboard/webhooks/")
    expect(page.get_by_label("Signing secret")).to_have_count(0)  # shown once
    expect(page.locator("#deliveries tbody tr").first).to_contain_text("memory_add")
    expect(page.locator("#deliveries tbody tr").first).to_contain_text("200")

    page.get_by_role("link", name="Edit my receiver").click()
    expect(page.get_by_label("URL", exact=True)).to_have_value(receiver.url)
    page.get_by_label("memory_update").check()
    page.get_by_role("button", name="Save webhook").click()
    expect(page.get_by_text("Webhook “my receiver” saved.")).to_be_visible()
    expect(page.locator("#webhooks")).to_contain_text("memory_add, memory_update, memory_delete")

    page.get_by_role("button", name="Pause my receiver").click()
    expect(page.get_by_text("Webhook “my receiver” paused")).to_be_visible()
    assert (
        api(
            live_server.url,
            "/memories",
            key,
            {"messages": [{"role": "user", "content": "Likes coffee"}], "user_id": "al"},
        )[0]
        == 200
    )
    apart(run_jobs)
    assert len(receiver.requests) == 1  # nothing sent while paused
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete my receiver").click()
    expect(page.get_by_text("Webhook deleted")).to_be_visible()
    expect(page.locator("#webhooks")).to_contain_text("No webhooks yet.")
    shot(page, "18-webhook-deleted")


def test_chromium_is_the_debian_build_not_a_downloaded_one():
    assert os.path.realpath(CHROMIUM).startswith("/usr/")


def test_a_connector_is_allowed_on_the_consent_page_after_logging_in_and_disconnected_there(
    page, live_server, make_user, callback
):
    """What claude.ai's connector makes the browser do: the authorization URL, the login, Allow, and the browser
    sent on to the connector's callback with the code (the dashboard's form-action allows exactly that)."""
    make_user("cleo@example.com", password=PASSWORD)
    base = live_server.url
    listener, arrived = callback
    status, client = api(
        base,
        "/oauth/register",
        "",
        {"redirect_uris": [listener], "client_name": "Claude", "token_endpoint_auth_method": "none"},
    )
    assert status == 201
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": client["client_id"],
            "state": "xyz",
            "redirect_uri": listener,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "resource": base + "/mcp",
        }
    )
    page.goto("/dashboard/oauth/authorize/?" + query)
    page.get_by_label("Email").fill("cleo@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Connect Claude?")).to_be_visible()
    expect(page.locator("#consent")).to_contain_text("cleo@example.com")
    expect(page.locator("#consent")).to_contain_text(listener.removesuffix("/callback"))
    shot(page, "40-oauth-consent")
    page.get_by_role("button", name="Allow").click()
    expect(page.locator("body")).to_have_text("done")

    answer = urllib.parse.parse_qs(urllib.parse.urlsplit(arrived[0]).query)
    assert answer["state"] == ["xyz"]
    form = urllib.parse.urlencode(
        {
            "grant_type": "authorization_code",
            "code": answer["code"][0],
            "redirect_uri": listener,
            "client_id": client["client_id"],
            "code_verifier": verifier,
        }
    ).encode()
    with urllib.request.urlopen(base + "/oauth/token", data=form) as response:  # noqa: S310
        access = json.loads(response.read())["access_token"]

    def ping() -> int:
        req = urllib.request.Request(  # noqa: S310
            base + "/mcp",
            data=b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}',
            headers={"Authorization": f"Bearer {access}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert ping() == 200
    page.goto("/dashboard/connections/")
    expect(page.locator("#connections")).to_contain_text("Claude")
    shot(page, "41-connected-apps")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Disconnect Claude").click()
    expect(page.locator("#connections")).to_contain_text("No connected apps.")
    assert ping() == 401


def test_an_apps_name_with_a_direction_override_leaves_the_consent_sentence_as_written(page, live_server, make_user):
    """An app registers itself with any name. One ending in U+202E (right-to-left override) turned the rest of the
    consent page's sentence around: "asks to read the memories of cleo@example.com" showed as "eht daer ot sksa …
    moc.elpmaxe@oelc", the permission it asked for unreadable. The name is now isolated from the text around it."""
    make_user("cleo@example.com", password=PASSWORD)
    status, client = api(
        live_server.url,
        "/oauth/register",
        "",
        {"redirect_uris": [CALLBACK], "client_name": "Claude \u202eppA", "token_endpoint_auth_method": "none"},
    )
    assert status == 201
    log_in(page, "cleo@example.com")
    query = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": CALLBACK,
        "scope": "memories:read",
    }
    query |= {"code_challenge": "c" * 43, "code_challenge_method": "S256"}
    page.goto("/dashboard/oauth/authorize/?" + urllib.parse.urlencode(query))
    sentence = page.locator("#consent p").first
    expect(sentence).to_contain_text("asks to read the memories of")
    shot(page, "42-oauth-consent-override")
    # Where each word is drawn, left to right: in the order written.
    drawn = sentence.evaluate(
        """(p, words) => {
            const walker = document.createTreeWalker(p, NodeFilter.SHOW_TEXT);
            const at = {};
            for (let node; (node = walker.nextNode()); ) {
                for (const word of words) {
                    const i = node.data.indexOf(word);
                    if (i < 0 || word in at) continue;
                    const range = document.createRange();
                    range.setStart(node, i);
                    range.setEnd(node, i + word.length);
                    const box = range.getBoundingClientRect();
                    at[word] = [Math.round(box.top), Math.round(box.left)];
                }
            }
            return at;
        }""",
        ["asks", "read", "cleo"],
    )
    (asks_top, asks_left), (read_top, read_left) = drawn["asks"], drawn["read"]
    assert asks_top != read_top or asks_left < read_left, drawn
    expect(page.get_by_role("heading", name="Connect Claude \u202eppA?")).to_be_visible()
