"""Random requests to every OAuth endpoint and the consent page: each answers 2xx, 3xx or 4xx, never 5xx, and a 4xx
from the protocol endpoints is OAuth's error JSON with a description."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from dashboard.tests.clients import logged_in

pytestmark = pytest.mark.django_db

NAMES = st.sampled_from(
    [
        "grant_type",
        "code",
        "redirect_uri",
        "code_verifier",
        "refresh_token",
        "resource",
        "scope",
        "client_id",
        "client_secret",
        "token",
        "token_type_hint",
        "response_type",
        "state",
        "code_challenge",
        "code_challenge_method",
        "decision",
        "redirect_uris",
        "client_name",
        "token_endpoint_auth_method",
        "grant_types",
        "response_types",
    ]
)
VALUES = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "authorization_code",
            "refresh_token",
            "code",
            "S256",
            "none",
            "allow",
            "deny",
            "m0at_x",
            "https://a.example/cb",
            "http://testserver/mcp",
            "client_secret_basic",
            "a\x00b",
        ]
    ),
)
FORMS = st.dictionaries(NAMES, VALUES, max_size=8)
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=40)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(NAMES, inner, max_size=6)),
    max_leaves=12,
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def _oauth_error(response) -> None:
    assert response.status_code < 500, response.content
    if 400 <= response.status_code < 500 and response.status_code != 429:
        body = response.json()
        assert body["error"] and body["error_description"], body


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke"])
def test_random_forms(admin_key, path):
    @SETTINGS
    @given(form=FORMS)
    def check(form):
        _oauth_error(APIClient().post(path, urlencode(form), content_type="application/x-www-form-urlencoded"))

    check()


@pytest.mark.parametrize("path", ["/oauth/register", "/oauth/token", "/oauth/revoke"])
def test_random_json(admin_key, path):
    @SETTINGS
    @given(body=JSON)
    def check(body):
        cache.clear()  # registration's rate limit, counted per address
        _oauth_error(APIClient().post(path, body, format="json"))

    check()


def test_random_authorization_requests(member, admin_key):
    browser = logged_in(member)

    @SETTINGS
    @given(query=FORMS, post=st.booleans())
    def check(query, post):
        path = "/dashboard/oauth/authorize/"
        response = browser.post(path, query) if post else browser.get(path, query)
        assert response.status_code in (200, 302, 400), response.status_code

    check()
