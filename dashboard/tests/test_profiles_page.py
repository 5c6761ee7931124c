"""The dashboard's Profiles page: profile settings, a generation on demand, the users' profiles (own only)."""

from __future__ import annotations

import json
from html import unescape

import pytest
from django.test import Client

from dashboard.tests.clients import logged_in
from memories.tests.fake_openai import as_json, llm_configured
from profiles.models import Profile, ProfileJob, ProfileSettings
from profiles.services import job_run

pytestmark = pytest.mark.django_db

SCHEMA = {"type": "object", "properties": {"city": {"type": ["string", "null"], "description": "Where they live."}}}


@pytest.fixture
def llm():
    with llm_configured() as fake:
        yield fake


def save_settings(client: Client, schema=SCHEMA, **fields):
    body = {"form": "settings", "enabled": "on", "schema": json.dumps(schema), **fields}
    return client.post("/dashboard/profiles/", body, follow=True)


def test_a_member_turns_profiles_on_generates_one_and_sees_it(alice, make_memory, llm):
    make_memory("Moved to Lisbon last spring", user_id="alice-user", principal=alice)
    client = logged_in(alice)
    assert "Profiles are off" in client.get("/dashboard/profiles/").content.decode()

    page = save_settings(client, custom_instructions="Cities in English.").content.decode()
    assert "Profile settings saved" in page and "Profiles are on" in page
    stored = ProfileSettings.objects.get(account=alice)
    assert (stored.enabled, stored.schema, stored.custom_instructions) == (True, SCHEMA, "Cities in English.")

    page = client.post("/dashboard/profiles/", {"form": "generate", "user_id": "alice-user"}, follow=True)
    assert "The profile of <bdi>alice-user</bdi> is queued" in page.content.decode()
    llm.chat_queue.append(as_json({"city": "Lisbon"}))
    job_run(job_id=ProfileJob.objects.get().id)

    page = unescape(client.get("/dashboard/profiles/").content.decode())
    assert "succeeded" in page
    assert '"city": "Lisbon"' in page


def test_a_user_id_with_a_direction_override_is_isolated_in_the_queued_message(alice, make_memory, llm):
    # "The profile of … is queued; …": U+202E in the user_id reversed the rest of the line in the browser.
    make_memory("Moved to Lisbon last spring", user_id="\u202eevil<b>", principal=alice)
    client = logged_in(alice)
    save_settings(client)
    page = client.post("/dashboard/profiles/", {"form": "generate", "user_id": "\u202eevil<b>"}, follow=True)
    assert "The profile of <bdi>\u202eevil&lt;b&gt;</bdi> is queued" in page.content.decode()


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "object", "properties": {"city": {"type": "string"}}}, "needs a `description`"),
        ({"type": "array"}, "top-level type must be object"),
    ],
)
def test_a_schema_a_profile_cannot_be_filled_into_is_shown_on_the_form(alice, schema, message):
    response = save_settings(logged_in(alice), schema=schema)
    assert response.status_code == 400
    assert message in unescape(response.content.decode())
    assert ProfileSettings.objects.get(account=alice).schema is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"d": ' + "[" * 100_000 + "]" * 100_000 + "}", "nest deeper than 32 levels"),
        ('{"maximum": NaN}', "The schema is not valid JSON: NaN is not a JSON number"),
    ],
)
def test_schema_json_the_api_refuses_is_shown_on_the_form(alice, raw, message):
    body = {"form": "settings", "enabled": "on", "schema": raw}
    response = logged_in(alice).post("/dashboard/profiles/", body)
    assert response.status_code == 400
    assert message in unescape(response.content.decode())
    assert not ProfileSettings.objects.filter(account=alice, enabled=True).exists()


def test_generating_says_what_is_missing(alice, make_memory):
    make_memory("Likes tea", user_id="alice-user", principal=alice)
    client = logged_in(alice)
    response = client.post("/dashboard/profiles/", {"form": "generate", "user_id": "alice-user"})
    assert response.status_code == 400
    # It told the page's reader to call update_profile_settings(enabled=True, …) or POST /v2/profiles/settings/.
    said = unescape(response.content.decode())
    assert "Profiles are off: tick “Profiles on” under Settings, give a schema and save them first." in said
    assert "update_profile_settings" not in said
    save_settings(client)
    response = client.post("/dashboard/profiles/", {"form": "generate", "user_id": "alice-user"})
    assert response.status_code == 400
    assert "Profiles are written by an LLM, and none is configured" in response.content.decode()
    assert not ProfileJob.objects.exists()


def test_generating_for_a_user_with_no_memory_says_so(alice, llm):
    client = logged_in(alice)
    save_settings(client)
    response = client.post("/dashboard/profiles/", {"form": "generate", "user_id": "nobody"})
    assert response.status_code == 400
    assert "User 'nobody' not found: no memory has this user_id" in unescape(response.content.decode())
    assert not ProfileJob.objects.exists()


def test_generating_for_a_user_id_the_api_refuses_says_what_is_wrong(alice, make_memory, llm):
    client = logged_in(alice)
    save_settings(client)
    response = client.post("/dashboard/profiles/", {"form": "generate", "user_id": "alice user"})
    assert response.status_code == 400
    assert "Must not contain whitespace." in response.content.decode()
    assert not ProfileJob.objects.exists()


def test_a_member_sees_only_their_own_profiles(alice, bob, make_memory, llm):
    make_memory("bob secret-marker", user_id="bob-user", principal=bob)
    save_settings(logged_in(bob))
    logged_in(bob).post("/dashboard/profiles/", {"form": "generate", "user_id": "bob-user"})
    assert Profile.objects.get().entity_id == "bob-user"
    assert "bob-user" not in logged_in(alice).get("/dashboard/profiles/").content.decode()


def test_the_profiles_list_says_when_it_shows_only_the_most_recently_updated(alice, bob):
    # It listed 100 and said nothing: a reader with more users took them for all, and looked for the others in vain.
    Profile.objects.bulk_create(Profile(account=alice, entity_id=f"user-{n}") for n in range(101))
    Profile.objects.create(account=bob, entity_id="bobs-user")
    page = logged_in(alice).get("/dashboard/profiles/").content.decode()
    assert page.count("<td>user-") == 100
    assert "The 100 most recently updated of 101 profiles" in page
    Profile.objects.filter(account=alice, entity_id="user-0").delete()
    page = logged_in(alice).get("/dashboard/profiles/").content.decode()
    assert page.count("<td>user-") == 100
    assert "most recently updated" not in page
