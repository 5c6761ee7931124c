"""The LLM layer on its own: reading JSON out of model answers, the retry, and the error mapping, with the
real `openai` client against the local OpenAI-wire server."""

from __future__ import annotations

import pytest

from mem0server.exceptions import UpstreamError
from memories.embeddings import OpenAIEmbedder
from memories.llm import _REASONING, LLMClient, MalformedReply, _strip_reasoning, parse_json_reply
from memories.tests.fake_openai import Reply, error, text


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ('{"facts": ["a"]}', {"facts": ["a"]}),
        ('```json\n{"facts": ["a"]}\n```', {"facts": ["a"]}),
        ('```\n{"facts": ["a"]}\n```', {"facts": ["a"]}),
        ('Here you go: {"facts": ["a", "b"]} Hope that helps {!}', {"facts": ["a", "b"]}),
        ('{"facts": ["a", "b",],}', {"facts": ["a", "b"]}),
        ('<think>the user said {maybe}</think>\n{"facts": []}', {"facts": []}),
        ('reasoning without an opening tag</think>{"facts": ["x"]}', {"facts": ["x"]}),
        (
            '{"facts": ["uses } and { inside", "quote \\" too"]} trailing',
            {"facts": ["uses } and { inside", 'quote " too']},
        ),
        ('["a", "b"]', ["a", "b"]),
    ],
)
def test_json_is_read_out_of_real_world_answers(answer, expected):
    assert parse_json_reply(answer) == expected


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "no json here",
        "{not: json}",
        '{"facts": ["unclosed"',
        '{"facts": ' + "[" * 5000 + "]" * 5000 + "}",  # deeper than Python's json decodes: RecursionError, a 500
    ],
)
def test_answers_without_json_are_malformed(answer):
    with pytest.raises(MalformedReply):
        parse_json_reply(answer)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ('<think>a</think>{"x": 1}<THINK>b</Think>', '{"x": 1}'),
        ("<think>a<think>b</think>c", "c"),
        ('<think>a</think>{"x": 1}<think>never closed {"y": 2}', '{"x": 1}<think>never closed {"y": 2}'),
        ("<think>" * 3, "<think>" * 3),
    ],
)
def test_reasoning_blocks_are_removed_and_one_never_closed_is_kept(answer, expected):
    assert _strip_reasoning(answer) == expected


def test_a_reasoning_block_never_closed_is_read_once_not_from_each_opening_tag():
    # "<think>" repeated to 20,000 characters with no "</think>" was tried from each "<think>" and read to the end
    # from each (0.4 s of CPU). The first one now matches to the end of the text, so no later one starts a match.
    answer = "intro " + "<think>" * 3000 + "{}"
    starts = [block.start() for block in _REASONING.finditer(answer)]
    assert starts == [len("intro ")]
    assert _strip_reasoning(answer) == answer


def client_for(fake, **kwargs) -> LLMClient:
    options = {"provider": "openai", "model": "m", "base_url": fake.url, "api_key": "sk-test", "timeout": 5, **kwargs}
    return LLMClient(**options)


def test_plain_text_answers_lose_reasoning_blocks(fake_openai):
    fake_openai.chat_queue.append(text("<think>hmm</think>\n  The summary.  "))
    assert client_for(fake_openai).complete_text(system="s", user="Conversation:\nx") == "The summary."


def test_options_are_sent_and_a_refused_max_tokens_is_renamed(fake_openai):
    fake_openai.chat_queue.append(error(400, "Unsupported parameter: 'max_tokens'. Use 'max_completion_tokens'."))
    llm = client_for(fake_openai, temperature=0.2, max_tokens=50, top_p=0.9)
    assert llm.complete_json(system="s", user="u", parse=lambda payload: payload) == {"facts": []}
    first, second = fake_openai.chat_calls()
    assert (first.body["max_tokens"], first.body["temperature"], first.body["top_p"]) == (50, 0.2, 0.9)
    assert "max_tokens" not in second.body
    assert second.body["max_completion_tokens"] == 50


def test_a_5xx_then_success_is_retried_once(fake_openai, monkeypatch):
    monkeypatch.setattr("memories.llm.RETRY_BACKOFF_SECONDS", 0.01)
    fake_openai.chat_queue.append(error(502, "bad gateway"))
    assert client_for(fake_openai).complete_json(system="s", user="u", parse=lambda p: p) == {"facts": []}
    assert len(fake_openai.chat_calls()) == 2


def test_an_empty_answer_is_an_upstream_error(fake_openai):
    fake_openai.chat_queue.append(text(""))
    with pytest.raises(UpstreamError) as raised:
        client_for(fake_openai).complete_text(system="s", user="u")
    assert raised.value.code == "provider_unavailable"


def test_lm_studio_is_not_asked_for_json_mode(fake_openai):
    llm = client_for(fake_openai, provider="lmstudio", json_mode=False)
    llm.complete_json(system="s", user="u", parse=lambda p: p)
    assert "response_format" not in fake_openai.chat_calls()[0].body


@pytest.mark.parametrize("body", ["<html>Please log in to the proxy</html>", '{"choices": "none"}', '{"data": [1]}'])
def test_a_body_that_is_not_the_openai_format_is_a_502_naming_the_base_url(fake_openai, body):
    fake_openai.chat_queue.append(Reply(raw=body))
    fake_openai.embed_queue.append(Reply(raw=body))
    embedder = OpenAIEmbedder(provider="openai", model="e", dims=4, base_url=fake_openai.url, api_key="k", timeout=5)
    for call in (lambda: client_for(fake_openai).complete_text(system="s", user="u"), lambda: embedder.embed(["a"])):
        with pytest.raises(UpstreamError) as raised:
            call()
        assert raised.value.code == "provider_unavailable"
        assert "OpenAI-compatible API" in raised.value.detail


def test_looking_for_json_in_an_answer_reads_a_bounded_number_of_characters():
    """Each "{" or "[" of an answer was read to its end when none closes: 10,000 "[" cost 5.5 s of CPU, twice with
    the retry. The characters read are counted, not timed."""
    from memories.llm import _candidates

    reads = 0

    class Counted(str):
        def __getitem__(self, key):
            nonlocal reads
            reads += 1
            return str.__getitem__(self, key)

    answer = Counted("[" * 5_000)  # 12.5 million characters read, one scan from each "["
    assert list(_candidates(answer)) == [answer]
    assert reads <= 1_000_000
    with pytest.raises(MalformedReply):
        parse_json_reply("[" * 5_000)
    # An object after prose with brackets that do not close is still found.
    assert parse_json_reply('Note [1: {"a": [1, 2]}') == {"a": [1, 2]}
