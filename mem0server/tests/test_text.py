"""mask_urls: what it hides of a URL (its password, its query values) and what it leaves."""

from __future__ import annotations

import pytest

from mem0server.text import REDACTED, mask_url_value, mask_urls, redact_secret_echoes, url_secrets

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


# A password whose characters before its first "/", "?" or "#" are digits: read as "host:port" and a path up to the
# "@", it was shown whole. An "@" follows it, then a host that a port or a path follows (or, outside the web's
# schemes, whose paths hold no "@", anything).
PORT_LIKE = [
    ("postgres://u:123/abc@db:5432/x", "postgres://u:{}@db:5432/x"),
    ("postgres://u:123/abc@db/x", "postgres://u:{}@db/x"),
    ("postgres://u:123/abc@db", "postgres://u:{}@db"),
    ("postgresql://u:1/@db.internal?sslmode=require", "postgresql://u:{}@db.internal?sslmode={}"),
    ("redis://:6379/0@cache:6379/0", "redis://:{}@cache:6379/0"),
    ("mysql://app:2024?x#y@[::1]:3306/m", "mysql://app:{}@[::1]:3306/m"),
    ("https://u:42/x@host/", "https://u:{}@host/"),
    ("https://u:42/x@host:8443", "https://u:{}@host:8443"),
    ("http://u:42/a/b@example.com/v1?k=v", "http://u:{}@example.com/v1?k={}"),
    ("calling http://u:7/7@10.0.0.1:11434/api failed", "calling http://u:{}@10.0.0.1:11434/api failed"),
]


@pytest.mark.parametrize(("text", "masked"), PORT_LIKE)
def test_a_password_starting_with_digits_then_a_slash_is_masked_whole(text, masked):
    assert mask_urls(text) == masked.format(REDACTED, REDACTED)
    url = text.split()[1] if " " in text else text
    password = url.split("://", 1)[1].split(":", 1)[1].rpartition("@")[0]
    assert password in url_secrets(url) or len(password) < 4


@pytest.mark.parametrize(
    "text",
    [
        "http://localhost:8000/users/alice@example.com?verbose",  # an email in a web path, then a query
        "http://localhost:8000/users/alice@example.com#top",
        "https://registry.local:4873/@types/node",  # a scoped package after a port
        "http://localhost:3000/users/@alice/",
        "ws://localhost:3000/u/alice@example.com",
    ],
)
def test_an_email_or_handle_in_a_web_path_after_a_port_is_no_password(text):
    assert mask_urls(text) == text


def test_an_echo_of_a_password_holding_a_slash_is_redacted_too():
    url = "postgres://u:ab/cd?ef@host/db?sslmode=require"
    assert url_secrets(url) == ["ab/cd?ef", "require"]
    said = "password ab/cd?ef refused"
    assert redact_secret_echoes(said, *url_secrets(url)) == f"password {REDACTED} refused"


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://mem0:it's@db/x",
        'postgresql://mem0:say "hi"@db/x',
        "postgresql://mem0:a<b>c@db/x",
        "postgresql://mem0:two words\tand a tab@db/x",
        "https://u:pass word@host/v1",
    ],
)
def test_a_value_that_is_one_url_is_masked_whole_whatever_its_password_holds(value):
    # In running text a quote, a space or "<" ends a URL; a configuration's base URL or connection string is one
    # URL whole, and such a password was shown.
    assert mask_url_value(value).partition("@")[0].endswith(f":{REDACTED}")
    assert url_secrets(value)[0] == value.split(":", 2)[2].rpartition("@")[0]


@pytest.mark.parametrize(
    "value",
    ["see http://example.com/a for more", "http://localhost:8000/v1", "postgres://db/x http://u:pw@h/ y"],
)
def test_a_value_that_is_not_one_url_is_masked_as_text(value):
    assert mask_url_value(value) == mask_urls(value)
