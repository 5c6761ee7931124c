"""mask_urls: what it hides of a URL (its password, its query values) and what it leaves."""

from __future__ import annotations

import pytest

from mem0server.text import REDACTED, mask_urls, redact_secret_echoes, url_secrets

# A password holding an unencoded "/", "?" or "#", as base64 passwords hold "/": the user info ended at that
# character, so no "@" followed it, and the password was shown whole (its "?" read as a query's start).
UNENCODED = [
    ("postgres://u:ab/cd@host/db", "postgres://u:{}@host/db"),
    ("postgres://u:ab?cd@host/db", "postgres://u:{}@host/db"),
    ("postgres://u:ab?c=d@host/db", "postgres://u:{}@host/db"),
    ("postgres://u:ab#cd@host/db", "postgres://u:{}@host/db"),
    ("postgres://u:/ab@host/db", "postgres://u:{}@host/db"),
    ("postgres://u:a/b@c@host/db", "postgres://u:{}@host/db"),
    (
        "postgres://app:Zm9v/YmFy+cXV4PQ==@db.internal:5432/mem0?sslmode=require",
        "postgres://app:{}@db.internal:5432/mem0?sslmode={}",
    ),
    ("redis://:a/b?c#d@[::1]:6379/0", "redis://:{}@[::1]:6379/0"),
    ("connecting to amqp://guest:pa/ss@rabbit/ failed", "connecting to amqp://guest:{}@rabbit/ failed"),
]


@pytest.mark.parametrize(("text", "masked"), UNENCODED)
def test_a_password_holding_a_slash_question_mark_or_hash_is_masked_whole(text, masked):
    assert mask_urls(text) == masked.format(REDACTED, REDACTED)


@pytest.mark.parametrize(
    "text",
    [
        "http://localhost:3000/@alice",  # a host, a port, and a path with an "@"
        "http://localhost:8000/users/alice@example.com",
        "https://mastodon.social/@alice",
        "http://[::1]:8080/@alice",
        "https://host/path/x:y@z",
        "https://example.com/a/b#c@d",
    ],
)
def test_an_at_sign_after_a_host_and_port_is_no_password(text):
    assert mask_urls(text) == text


def test_an_echo_of_a_password_holding_a_slash_is_redacted_too():
    url = "postgres://u:ab/cd?ef@host/db?sslmode=require"
    assert url_secrets(url) == ["ab/cd?ef", "require"]
    said = "password ab/cd?ef refused"
    assert redact_secret_echoes(said, *url_secrets(url)) == f"password {REDACTED} refused"
