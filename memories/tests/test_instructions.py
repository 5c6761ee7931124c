"""POST /generate-instructions and POST /auth/onboarding-complete: the calls of Mem0's dashboard setup flow."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.services import tokens_issue
from memories.tests import fake_openai


def test_without_an_llm_instructions_name_the_use_case(api_client):
    response = api_client.post("/generate-instructions", {"use_case": "a cooking assistant"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert "a cooking assistant" in body["custom_instructions"]
    assert body["test_message"]


def test_with_an_llm_the_model_drafts_the_instructions(api_client, llm):
    llm.chat_queue.append(
        fake_openai.as_json(
            {"custom_instructions": "Remember dietary needs and favourite cuisines.", "test_message": "I am vegan."}
        )
    )
    response = api_client.post("/generate-instructions", {"use_case": "a cooking assistant"}, format="json")
    assert response.json() == {
        "custom_instructions": "Remember dietary needs and favourite cuisines.",
        "test_message": "I am vegan.",
    }
    assert "a cooking assistant" in str(llm.chat_calls()[-1].body)


def test_an_llm_failure_is_a_502_that_says_so(api_client, llm):
    llm.chat_queue.append(fake_openai.error(401, "bad key"))
    response = api_client.post("/generate-instructions", {"use_case": "x"}, format="json")
    assert response.status_code == 502
    assert response.json()["code"] == "provider_auth_failed"


@pytest.mark.parametrize("body", [{}, {"use_case": 3}, {"use_case": "x" * 2001}])
def test_generate_instructions_refuses_a_bad_use_case(api_client, body):
    response = api_client.post("/generate-instructions", body, format="json")
    assert response.status_code == 400
    assert "use_case" in response.json()["detail"]


def test_generate_instructions_needs_credentials(anon_client):
    assert anon_client.post("/generate-instructions", {"use_case": "x"}, format="json").status_code == 401


def test_onboarding_complete_is_acknowledged_for_a_logged_in_account(member, admin_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_issue(user=member).access_token}")
    response = client.post("/auth/onboarding-complete", {"use_case": "a cooking assistant"}, format="json")
    assert (response.status_code, response.json()) == (200, {"message": "Onboarding completed."})
    assert client.post("/auth/onboarding-complete", {}, format="json").status_code == 400


def test_onboarding_complete_needs_credentials(anon_client, db):
    assert anon_client.post("/auth/onboarding-complete", {"use_case": "x"}, format="json").status_code == 401
