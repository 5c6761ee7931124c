"""mask_urls and redact_secret_echoes read a text in one pass: a configuration value or a provider's message of a
megabyte must not cost minutes. No timing here: each pattern is asserted to start a match only where one can begin,
so no run of characters is read again from each of its characters."""

from __future__ import annotations

from mem0server.text import (
    _KEY_ECHO,
    _QUERY_VALUE,
    _URL,
    _USERINFO_PORT_LIKE,
    REDACTED,
    mask_urls,
    redact_secret_echoes,
)


def test_a_url_is_only_tried_where_a_run_of_scheme_characters_begins():
    text = "see 12abc://user:pw@host/x ok"
    start = text.index("12abc")
    assert _URL.match(text, start)["url"].startswith("abc://")
    # Inside the run (and at its letters after digits) no match begins: a run without "://" after it is read once,
    # not once from each of its characters ("://" then 20,000 letters cost 0.56 s of CPU, 50,000 about 4 s).
    assert all(_URL.match(text, at) is None for at in range(start + 1, text.index("://")))
    assert mask_urls(text) == f"see 12abc://user:{REDACTED}@host/x ok"


def test_a_query_parameter_name_holds_no_question_mark_and_masks_the_same():
    assert _QUERY_VALUE.match("??=x") is None  # "?" * 20,000 without "=": each "?" read the rest (2.6 s of CPU)
    assert mask_urls("https://h/p?a?b=c&d=e#f") == f"https://h/p?a?b={REDACTED}&d={REDACTED}#f"
    assert mask_urls("https://h/p?" + "?" * 50) == "https://h/p?" + "?" * 50


def test_a_starred_key_a_provider_echoes_is_matched_only_from_where_its_word_begins():
    text = "Incorrect API key provided: sk-abc***xyz. Check it."
    start = text.index("sk-abc")
    assert _KEY_ECHO.match(text, start).group() == "sk-abc***xyz."
    # Inside the word no match begins: a long word without "***" is read once, not once from each of its characters.
    assert all(_KEY_ECHO.match(text, at) is None for at in range(start + 1, text.index("***")))
    assert redact_secret_echoes(text) == f"Incorrect API key provided: {REDACTED} Check it."


def test_a_password_starting_with_digits_runs_to_the_last_at_sign():
    # Only the last "@" is tried, and what stands between an "@" and the next is read once: looking at each "@" for
    # one after it to the text's end, 100,000 "@a" cost 12 s of CPU.
    text = "postgres://u:1/" + "@a" * 50 + "@/x"
    assert _USERINFO_PORT_LIKE.match(text).end() == len(text) - 2
    assert mask_urls(text) == f"postgres://u:{REDACTED}@/x"
    assert mask_urls("http://u:1/" + "@a" * 50 + "@/") == "http://u:1/" + "@a" * 50 + "@/"  # no host after it
