"""The dashboard's Configuration page (and the setup wizard's Models step, the same form): a Save made from a page
showing a configuration since changed."""

from __future__ import annotations

import html
import json

import pytest

from accounts.models import User
from dashboard.tests.clients import form_as_shown, logged_in
from mem0server.tests.sessions import in_thread, other_session, wait_until_blocked
from memories.configuration import server_config_get, server_config_set
from memories.models import ServerConfig

pytestmark = pytest.mark.django_db

PAGES = ["/dashboard/configuration/", "/dashboard/setup/models/"]
CHANGED = "The configuration was changed since this page was opened"


@pytest.fixture
def admin(make_user) -> User:
    return make_user("admin@example.com", role=User.Role.ADMIN)


def stored_llm() -> dict:
    return ServerConfig.objects.get(pk=1).config["llm"]["config"]


def llm_set(**config) -> None:
    server_config_set(changes={"llm": {"provider": "openai", "config": config}})


@pytest.mark.parametrize("page", PAGES)
def test_a_save_from_a_page_opened_before_another_admins_save_is_refused_and_that_save_kept(admin, page):
    """Two admins (two tabs) open the page; one changes the model and saves; the other, whose page still shows the
    old model, changes the base URL and saves: that Save put the old model back, and nobody was told (302). It is
    refused now, the page showing the configuration in force and keeping what was typed, the key too; saved again,
    knowing it, it applies."""
    llm_set(model="gpt-old", openai_base_url="https://a.example/v1", api_key="sk-stored")
    first, second = logged_in(admin), logged_in(admin)
    opened_first = form_as_shown(first.get(page).content.decode(), "llm_model")
    opened_second = form_as_shown(second.get(page).content.decode(), "llm_model")
    assert first.post(page, opened_first | {"llm_model": "gpt-new"}).status_code == 302

    typed = opened_second | {"llm_base_url": "https://b.example/v1", "llm_api_key": "sk-typed"}
    refused = second.post(page, typed)
    assert refused.status_code == 400
    said = html.unescape(refused.content.decode())
    assert CHANGED in said and "nothing was saved" in said
    assert "openai · gpt-new at https://a.example/v1" in said  # what is in force now
    assert stored_llm() == {"model": "gpt-new", "openai_base_url": "https://a.example/v1", "api_key": "sk-stored"}
    again = form_as_shown(refused.content.decode(), "llm_model")
    assert {name: again[name] for name in typed if name != "config_version"} == {
        name: value for name, value in typed.items() if name != "config_version"
    }
    assert second.post(page, again).status_code == 302  # saved knowing what it replaces
    assert stored_llm() == {"model": "gpt-old", "openai_base_url": "https://b.example/v1", "api_key": "sk-typed"}


@pytest.mark.parametrize(
    "base_url",
    [
        "https://llm.example/openai/deployments/chat?api-version=2024-02-01",
        "https://proxy-user:proxy-pass@llm.example/v1",
    ],
)
def test_a_page_whose_masked_base_url_was_changed_since_says_the_configuration_changed_once(admin, base_url):
    """The base URL shown masked, then changed (another admin, POST /configure): the Save was refused for the URL
    ("no longer stands for the URL in force ... Give the URL in full", a URL the admin cannot see), or as not a valid
    URL, never saying that the configuration had changed. It says that alone now, and the form shows the URL in force
    as the page now shows it, so that the next Save keeps it."""
    llm_set(model="gpt-old", openai_base_url=base_url, api_key="sk-a")
    client = logged_in(admin)
    opened = form_as_shown(client.get(PAGES[0]).content.decode(), "llm_model")
    assert "[redacted]" in opened["llm_base_url"]
    moved = base_url.replace("llm.example", "other.example")
    llm_set(openai_base_url=moved, api_key="sk-b")  # meanwhile
    before = stored_llm()

    refused = client.post(PAGES[0], opened | {"llm_model": "gpt-typed"})
    assert refused.status_code == 400
    said = html.unescape(refused.content.decode())
    assert CHANGED in said
    assert "no longer stands for the URL in force" not in said and "Enter a valid URL" not in said
    assert stored_llm() == before
    again = form_as_shown(refused.content.decode(), "llm_model")
    assert again["llm_base_url"] == server_config_get()["llm"]["config"]["openai_base_url"]
    assert client.post(PAGES[0], again).status_code == 302
    assert stored_llm() == {"model": "gpt-typed", "openai_base_url": moved, "api_key": "sk-b"}


@pytest.mark.django_db(transaction=True)
def test_a_save_made_while_another_save_is_under_way_is_refused_after_it(admin):
    """The other Save commits after this one read the version in force and before it locked the configuration: it
    was written over without a word. The version is compared again under the lock."""
    llm_set(model="gpt-old", openai_base_url="https://a.example/v1", api_key="sk-stored")
    client = logged_in(admin)
    opened = form_as_shown(client.get(PAGES[0]).content.decode(), "llm_model")
    holder, watcher = other_session(), other_session()
    watcher.autocommit = True
    other = {"llm": {"provider": "ollama", "config": {"model": "llama-new", "openai_base_url": "http://h:11434/v1"}}}
    holder.execute(
        f"UPDATE {ServerConfig._meta.db_table} SET version = version + 1, config = %s WHERE id = 1",  # noqa: S608
        [json.dumps(other)],
    )
    saving, saved = in_thread(lambda: client.post(PAGES[0], opened | {"llm_base_url": "https://b.example/v1"}))
    wait_until_blocked(watcher, "%FOR UPDATE%")
    holder.commit()
    saving.join(timeout=120)
    holder.close(), watcher.close()
    refused = saved["response"]
    assert refused.status_code == 400
    said = html.unescape(refused.content.decode())
    assert CHANGED in said and "ollama · llama-new at http://h:11434/v1" in said
    assert ServerConfig.objects.get(pk=1).config == other
