"""What PostgreSQL text and jsonb can hold (no NUL, only characters UTF-8 can encode), and secrets masked in
texts that are shown or logged (URL credentials, query values, a provider echoing a key)."""

from __future__ import annotations

import re
from typing import Any


def unstorable_text(text: str) -> str | None:
    """Why PostgreSQL cannot hold this string, or None.

    JSON may spell both problems (`\\u0000`, and an unpaired `\\ud800`, which Python decodes to a lone
    surrogate that no UTF-8 encoder accepts); sent on to the database they were a DataError or a 500.
    """
    if "\x00" in text:
        return "the NUL character (\\u0000)"
    if not encodable(text):
        return "an unpaired surrogate character (\\ud800-\\udfff)"
    return None


def encodable(text: str) -> bool:
    """Whether UTF-8 can encode the text: not if it holds an unpaired surrogate."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def storable_text(text: str) -> str:
    """The text with what PostgreSQL cannot hold taken out: NULs dropped, unpaired surrogates replaced by U+FFFD
    (for text the server did not take from a client, such as a model's answer)."""
    text = text.replace("\x00", "")
    return text if encodable(text) else text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def storable_json(value: Any) -> Any:
    """The JSON value, or when one of its keys or strings is not storable (unstorable_json), a copy with
    storable_text applied to every key and string."""
    return value if unstorable_json(value) is None else _storable_copy(value)


def _storable_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {storable_text(key): _storable_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable_copy(item) for item in value]
    return storable_text(value) if isinstance(value, str) else value


def unstorable_json(value: Any) -> str | None:
    """Like unstorable_text, for the first key or string inside a JSON value that has a problem."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and (problem := unstorable_text(item)):
            return problem
    return None


# --- secrets inside text that is shown or logged -----------------------------------------------------

REDACTED = "[redacted]"


def is_secret(key: str) -> bool:
    """Whether a configuration key names a secret (api_key, password, token …, a header's Authorization)."""
    words = set(re.split(r"[^a-z0-9]+", key.lower()))
    return key.lower().endswith("key") or bool(
        words & {"password", "passwd", "secret", "token", "credential", "credentials", "apikey", "authorization"}
    )


def is_connection_string(key: str) -> bool:
    """Whether a configuration key names a database connection string (Mem0's pgvector `connection_string`)."""
    words = set(re.split(r"[^a-z0-9]+", key.lower()))
    return {"connection", "string"} <= words or "dsn" in words


def holds_secret(key: str, value: Any) -> bool:
    """Whether a configuration value is a secret as a whole: a secret-named one, or a connection string in
    libpq's keyword form ("dbname=… password=…"), whose password is no URL's for mask_urls to hide."""
    if is_secret(key):
        return True
    return isinstance(value, str) and is_connection_string(key) and "://" not in value and "password" in value.lower()


# A URL anywhere in a text: scheme, "://", then everything up to whitespace or a quote. Tried only where a run of
# scheme characters begins (its leading digits, which no scheme starts with, kept aside as `lead`), and read
# without backtracking: tried at each of a run's characters, a long run without "://" after it ("://" then 500,000
# letters, in a configuration value) was read again from each, quadratic (20,000 letters: 0.56 s of CPU).
_URL = re.compile(r"(?<![A-Za-z0-9+.-])(?P<lead>[0-9+.-]*+)(?P<url>[A-Za-z][A-Za-z0-9+.-]*+://[^\s\"'<>]*)")
# The user info before the authority's last "@" (a password may hold one); never crosses into the path.
_USERINFO = re.compile(r"^(?P<scheme>[^:]+://)(?P<userinfo>[^/?#\s]*)@")
# Else "user:password@" whose password holds an unencoded "/", "?" or "#" (base64 passwords hold "/"), where the
# authority seems to end: the password runs to the URL's last "@". Not when digits follow "host:" there (below),
# nor in an IPv6 address's brackets.
_USERINFO_UNENCODED = re.compile(r"^(?P<scheme>[^:]+://)(?P<userinfo>[^:/?#@\s\[\]]*:(?![0-9]+(?:[/?#]|$)).*)@")
# Else digits then "/", "?" or "#" after "user:": a password starting with digits ("u:123/abc@db:5432/x"), or a host,
# its port and a path holding an "@" ("http://localhost:3000/@alice", "…:8000/users/alice@example.com"). Seen
# after the URL's last "@" (captured without being consumed): a host, and what follows it.
_USERINFO_PORT_LIKE = re.compile(
    r"^(?P<scheme>[^:]+://)(?P<userinfo>[^:/?#@\s\[\]]*:[0-9]+[/?#].*)@(?![^@]*@)"
    r"(?=(?P<host>\[[0-9A-Fa-f:.]*\]|[^:/?#@\s\[\]]*)(?P<after>.?))"
)
# The schemes whose paths hold an "@" (a handle, a scoped package, an email): theirs is a password only when the
# host after the "@" is followed by a port or a path, and no "/" ends it. Any other scheme's path is a database's
# name or number, never with an "@", so there "user:digits/…@host" is always a password.
_WEB_SCHEMES = {"http://", "https://", "ws://", "wss://"}


def _port_like_password(match: re.Match) -> bool:
    if match["scheme"].lower() not in _WEB_SCHEMES:
        return True
    return bool(match["host"]) and match["after"] in (":", "/") and not match["userinfo"].endswith("/")


# A query parameter's value: "?key=VALUE" or "&key=VALUE". A name holds no "?": with one, "?????..." without "=" was
# read to its end from each "?" (20,000 of them: 2.6 s); the text replaced is the same ("?a?b=c": "?a" is kept as is).
_QUERY_VALUE = re.compile(r"(?P<name>[?&][^=&#?]*)=[^&#]*")


def _userinfo(url: str) -> re.Match | None:
    if match := _USERINFO.match(url) or _USERINFO_UNENCODED.match(url):
        return match
    match = _USERINFO_PORT_LIKE.match(url)
    return match if match and _port_like_password(match) else None


def _mask_one_url(url: str) -> str:
    if match := _userinfo(url):
        user, colon, _password = match["userinfo"].partition(":")
        # "user:password@" keeps the user; a lone "token@" is all secret.
        masked = f"{user}:{REDACTED}" if colon else REDACTED
        url = f"{match['scheme']}{masked}@{url[match.end() :]}"
    base, question, rest = url.partition("?")
    if not question:
        return url
    query, hash_sign, fragment = rest.partition("#")
    masked = _QUERY_VALUE.sub(lambda m: f"{m['name']}={REDACTED}", "?" + query)
    return base + masked + hash_sign + fragment


def mask_urls(text: str) -> str:
    """The text with every URL's credentials (user:password@) and query-string values replaced.

    No URL parsing: urlsplit raised on an unbalanced "[" or a port out of range, and texts here are
    prompts, provider messages and stored configuration written by earlier versions.
    """
    if "://" not in text:
        return text
    return _URL.sub(lambda match: match["lead"] + _mask_one_url(match["url"]), text)


# A value that starts as a URL does (a scheme and "://").
_SCHEME_START = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def mask_url_value(value: str) -> str:
    """A value that is one URL whole (a base URL, a connection string) masked as one, then as text (mask_urls).

    In running text a quote, a space or "<" ends a URL, so a password holding one was read only up to it, and shown;
    a configuration's URL ends where the value does, its password running to the last "@" whatever it holds.
    """
    if _SCHEME_START.match(value) is None:
        return mask_urls(value)
    return mask_urls(_mask_one_url(value))


# A provider quoting the key it refused, shortened ("sk-abc***xyz"), or a key-looking word.
# A starred word is matched from where its run of non-space characters begins: tried from each of its characters, a
# provider's message of 20,000 letters was read 200 million times (2.4 s of CPU).
_KEY_ECHO = re.compile(r"(?<!\S)\S*\*{3,}\S*|\b(?:sk|pk|rk|key|gsk|xai)[-_][A-Za-z0-9_\-*.]{6,}")


def url_secrets(url: str) -> list[str]:
    """The parts of a URL that mask_urls hides (user info, query values), to find them echoed elsewhere."""
    found = []
    if match := _userinfo(url):
        user, colon, password = match["userinfo"].partition(":")
        found.append(password if colon else user)
        url = url[match.end() :]  # a "?" in the password starts no query
    query = url.partition("?")[2].partition("#")[0]
    found += [pair.partition("=")[2] for pair in query.split("&")]
    return [secret for secret in found if len(secret) >= 4]


def redact_secret_echoes(text: str, *secrets: str | None) -> str:
    """A provider's message without the secrets it may echo: a key whole, as a prefix or suffix, or masked
    with *** (OpenAI: "Incorrect API key provided: sk-abc***xyz"); a URL's password or query values."""
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
        # A shortened echo: the key's first or last characters.
        for part in {secret[:8], secret[-6:]}:
            if len(part) >= 6:
                text = text.replace(part, REDACTED)
    return _KEY_ECHO.sub(REDACTED, mask_urls(text))


def counted(count: int, singular: str, plural: str = "") -> str:
    """A count and the noun agreeing with it: counted(1, "memory", "memories") is "1 memory", counted(2, "batch",
    "batches") "2 batches", counted(3, "history row") "3 history rows"."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"
