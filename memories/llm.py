"""Talking to the LLM: any OpenAI-compatible server through the `openai` package.

One place for the client, the single retry on 429/5xx, the mapping of failures to UpstreamError
(502, or 504 on timeout) and a tolerant JSON reader for servers without JSON mode.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.db import connection

from mem0server.exceptions import UpstreamError
from mem0server.text import mask_url_value, redact_secret_echoes, storable_json, storable_text, url_secrets

if TYPE_CHECKING:
    import openai

logger = logging.getLogger("mem0server")

T = TypeVar("T")

# The pause before the one retry, unless the server says how long (Retry-After) ...
RETRY_BACKOFF_SECONDS = 0.5
# ... and the longest Retry-After we are willing to sit through inside a request.
RETRY_MAX_WAIT_SECONDS = 5.0
# Local servers ignore the key, but the client refuses to run without one.
PLACEHOLDER_API_KEY = "not-needed"


class MalformedReply(Exception):
    """The model answered, but not with the JSON we asked for."""


# --- the client and its failures ---------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """Where an OpenAI-compatible API lives and how to reach it; `service` names it in error messages."""

    service: str  # "LLM" or "embedding"
    provider: str
    base_url: str
    api_key: str | None
    timeout: float

    def describe(self) -> str:
        return f"{self.provider} at {mask_url_value(self.base_url)}"


_clients: dict[Endpoint, openai.OpenAI] = {}
_clients_lock = threading.Lock()
# Endpoints change only through /configure; old clients beyond this many are dropped.
MAX_CLIENTS = 8


def _no_redirects_client():
    """The openai package's HTTP client, but one that does not follow redirects: it did, and a base URL
    answering 307 had the prompt re-sent to any host it named, with Azure's `api-key` header (httpx strips only
    Authorization across origins). Closed when dropped, as the package's own."""
    import openai

    class NoRedirectsClient(openai.DefaultHttpxClient):
        def __del__(self) -> None:
            with contextlib.suppress(Exception):
                self.close()

    return NoRedirectsClient(follow_redirects=False)


def openai_client(endpoint: Endpoint) -> openai.OpenAI:
    """One client (and connection pool) per endpoint, shared by the process's threads. The openai package is
    imported by the first, not as the process starts: it was about 0.9 s of CPU of every gunicorn worker's, job
    worker's and command's 3.3 s start, whether it called a model or not (bench/process_start.py)."""
    import openai

    client = _clients.get(endpoint)
    if client is None:
        with _clients_lock:
            client = _clients.get(endpoint)
            if client is None:
                azure = endpoint.provider == "azure_openai" and endpoint.api_key
                headers = {"api-key": endpoint.api_key} if azure else {}
                client = openai.OpenAI(
                    api_key=endpoint.api_key or PLACEHOLDER_API_KEY,
                    base_url=endpoint.base_url,
                    timeout=endpoint.timeout,
                    max_retries=0,  # we retry ourselves, once, and only on 429/5xx
                    default_headers=headers or None,
                    http_client=_no_redirects_client(),
                )
                while len(_clients) >= MAX_CLIENTS:
                    del _clients[next(iter(_clients))]
                _clients[endpoint] = client
    return client


def side_by_side(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Each call's result, in their order: calls to a model (one add's extraction runs, its decisions, its images'
    descriptions), up to LLM_ADD_CONCURRENCY at once in threads of their own (each in a copy of this context: its log
    lines carry the request's id); one alone runs here. Meanwhile this thread's database connection goes back to the
    pool, as during one call, unless a transaction holds it. When one fails its error is raised: those not yet
    started are not."""
    if len(calls) <= 1:
        return [call() for call in calls]
    if not connection.in_atomic_block:
        connection.close()
    with ThreadPoolExecutor(min(settings.LLM_ADD_CONCURRENCY, len(calls)), "llm-call") as pool:
        running = [pool.submit(contextvars.copy_context().run, call) for call in calls]
        try:
            return [future.result() for future in running]
        finally:
            for future in running:
                future.cancel()


def beside(call: Callable[[], T]) -> Future[T]:
    """`call` (a call to a model) on a thread of its own, in a copy of this context, while the caller goes on: its
    result, or its error, when asked for."""
    pool = ThreadPoolExecutor(1, "llm-call")
    try:
        return pool.submit(contextvars.copy_context().run, call)
    finally:
        pool.shutdown(wait=False)


def _upstream_message(exc: openai.APIStatusError, endpoint: Endpoint) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        message = error.get("message") if isinstance(error, dict) else error
    else:
        message = body or exc.message
    # Shown and logged: what UTF-8 cannot encode (half a surrogate pair) would fail both.
    message = storable_text(" ".join(str(message or "").split()))
    # Some servers echo the key they refused, whole or shortened ("sk-abc***xyz"), or the URL called.
    return redact_secret_echoes(message, endpoint.api_key, *url_secrets(endpoint.base_url))[:300]


def upstream_error(exc: openai.OpenAIError, endpoint: Endpoint) -> UpstreamError:
    """A clear 502/504 for a failed call; the caller's configuration key is named where it helps."""
    import openai  # imported already: the call that failed was made with it (openai_client)

    where = endpoint.describe()
    who = f"The {endpoint.service} provider ({where})"
    if isinstance(exc, openai.APITimeoutError):
        return UpstreamError(
            f"{who} did not answer within {endpoint.timeout:g} s; nothing was stored. "
            "Raise the timeout (config.timeout, LLM_TIMEOUT) or try again.",
            code="provider_timeout",
            status_code=504,
        )
    if isinstance(exc, openai.APIConnectionError):
        return UpstreamError(
            f"{who} could not be reached; nothing was stored. Check that it is running and the base URL.",
            code="provider_unavailable",
        )
    if isinstance(exc, openai.APIStatusError):
        upstream = _upstream_message(exc, endpoint)
        said = f" It said: {upstream}" if upstream else ""
        if exc.status_code in (401, 403):
            return UpstreamError(
                f"{who} refused the credentials (HTTP {exc.status_code}); check the api_key.{said}",
                code="provider_auth_failed",
            )
        if 300 <= exc.status_code < 400:
            return UpstreamError(
                f"{who} answered with a redirect (HTTP {exc.status_code}); redirects are not followed, so that "
                "neither the key nor the request goes to a host nobody configured. Set the base URL to where it "
                "points.",
                code="provider_bad_request",
            )
        if exc.status_code == 429:
            return UpstreamError(
                f"{who} is rate-limiting us (HTTP 429), also after one retry; try again later.{said}",
                code="provider_rate_limited",
            )
        if exc.status_code >= 500:
            return UpstreamError(
                f"{who} failed (HTTP {exc.status_code}), also after one retry; nothing was stored.{said}",
                code="provider_unavailable",
            )
        return UpstreamError(
            f"{who} rejected the request (HTTP {exc.status_code}); check the model name and settings.{said}",
            code="provider_bad_request",
        )
    return UpstreamError(
        f"{who} failed: {redact_secret_echoes(str(exc), endpoint.api_key, *url_secrets(endpoint.base_url))}",
        code="provider_unavailable",
    )


def _retry_delay(exc: openai.OpenAIError) -> float | None:
    """Seconds to wait before the one retry, or None when this failure is not worth retrying."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return None  # we already waited the whole timeout once
    if isinstance(exc, openai.APIConnectionError):
        return RETRY_BACKOFF_SECONDS * (1 + random.random() / 4)  # noqa: S311 (jitter, not crypto)
    if not isinstance(exc, openai.APIStatusError) or not (exc.status_code == 429 or exc.status_code >= 500):
        return None
    headers = exc.response.headers
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            wait = float(headers.get(header, "")) * scale
        except ValueError:
            continue
        # A server asking for a long pause gets a prompt 502 instead of a hung request.
        return max(wait, 0.0) if wait <= RETRY_MAX_WAIT_SECONDS else None
    return RETRY_BACKOFF_SECONDS * (1 + random.random() / 4)  # noqa: S311


def unexpected_answer(endpoint: Endpoint, what: str) -> UpstreamError:
    """A 200 whose body is not what the OpenAI wire format promises (a proxy's HTML page, another API)."""
    return UpstreamError(
        f"The {endpoint.service} provider ({endpoint.describe()}) answered with {what}, not an OpenAI-format "
        "response; check that the base URL points at an OpenAI-compatible API (usually ending in /v1). "
        "Nothing was stored.",
        code="provider_unavailable",
    )


def call_with_retry(endpoint: Endpoint, call: Callable[[], T]) -> T:
    """Run one API call; retry once on 429, 5xx or a dropped connection; raise UpstreamError."""
    import openai

    for attempt in (1, 2):
        try:
            return call()
        except ValueError as exc:  # the client could not decode the body as JSON
            raise unexpected_answer(endpoint, "a body that is not JSON") from exc
        except openai.OpenAIError as exc:
            delay = _retry_delay(exc) if attempt == 1 else None
            if delay is None:
                # Not chained: the client's exception holds the provider's answer unredacted (a key it echoed),
                # and a traceback logged further up (a job worker's) printed it.
                raise upstream_error(exc, endpoint) from None
            logger.info("%s call failed (%s); retrying once in %.2f s", endpoint.service, type(exc).__name__, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


# --- the chat model ----------------------------------------------------------------------------------

# Request fields some OpenAI-compatible servers or models refuse; each is dropped (or renamed) once.
_ADAPTABLE = ("response_format", "max_tokens", "temperature", "top_p")


class LLMClient:
    """Chat completions against one configured model. Thread-safe; shared by the process."""

    def __init__(
        self,
        *,
        provider: str,
        model: str,
        base_url: str,
        api_key: str | None,
        timeout: float,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        json_mode: bool = True,
        vision_details: str | None = None,
    ) -> None:
        self.endpoint = Endpoint(service="LLM", provider=provider, base_url=base_url, api_key=api_key, timeout=timeout)
        self.model = model
        self.options: dict[str, Any] = {
            key: value
            for key, value in {"temperature": temperature, "max_tokens": max_tokens, "top_p": top_p}.items()
            if value is not None
        }
        self.json_mode = json_mode
        # Set when images are described (Mem0's enable_vision): the `detail` asked for ("auto", "low", "high").
        self.vision_details = vision_details

    def describe(self) -> str:
        return f"{self.endpoint.provider}: model {self.model} at {mask_url_value(self.endpoint.base_url)}"

    def complete_text(self, *, system: str, user: str) -> str:
        """The model's plain-text answer (reasoning blocks removed)."""
        return self.complete_messages(_system_and_user(system, user))

    def complete_messages(self, messages: list[dict[str, Any]]) -> str:
        """The model's plain-text answer to these chat messages (content parts allowed; reasoning blocks removed)."""
        return _strip_reasoning(self._chat(messages, want_json=False)).strip()

    def complete_json(self, *, system: str, user: str, parse: Callable[[Any], T]) -> T:
        """The model's JSON answer passed through `parse`; one more call if it is not usable, then a 502."""
        reply = self._chat(_system_and_user(system, user), want_json=True)
        try:
            return parse(parse_json_reply(reply))
        except MalformedReply as first:
            logger.warning("LLM reply was not usable JSON (%s); asking once more", first)
        nudge = "\n\nReply with the JSON object only: no prose, no code fences."
        reply = self._chat(_system_and_user(system + nudge, user), want_json=True)
        try:
            return parse(parse_json_reply(reply))
        except MalformedReply as second:
            raise UpstreamError(
                f"The LLM ({self.describe()}) answered twice with text that is not the JSON asked for "
                f"({second}); nothing was stored. A larger or instruction-tuned model usually fixes this.",
                code="provider_unavailable",
            ) from second

    def _chat(self, messages: list[dict[str, Any]], *, want_json: bool) -> str:
        request: dict[str, Any] = {"model": self.model, "messages": messages, **self.options}
        if want_json and self.json_mode:
            request["response_format"] = {"type": "json_object"}
        client = openai_client(self.endpoint)
        # The model takes seconds: meanwhile this thread's database connection goes back to the pool (or is closed
        # without one), and the next query takes one again. Inside a transaction it stays: the transaction is on it.
        if not connection.in_atomic_block:
            connection.close()
        for _ in range(len(_ADAPTABLE) + 1):
            try:
                response = call_with_retry(self.endpoint, lambda: client.chat.completions.create(**request))
                break
            except UpstreamError as exc:
                if not self._adapt(request, exc):
                    raise
        else:  # pragma: no cover - every adaptable field was already dropped
            raise UpstreamError(f"The LLM ({self.describe()}) rejected every request.", code="provider_bad_request")
        choices = getattr(response, "choices", None)
        if not isinstance(choices, list):
            raise unexpected_answer(self.endpoint, "a body without a list of choices")
        message = getattr(choices[0], "message", None) if choices else None
        content = getattr(message, "content", None)
        if not isinstance(content, str) or not content:
            raise UpstreamError(
                f"The LLM ({self.describe()}) sent an empty answer; nothing was stored.", code="provider_unavailable"
            )
        return storable_text(content)  # a model may write a NUL or half a surrogate pair; a client cannot

    def _adapt(self, request: dict[str, Any], exc: UpstreamError) -> bool:
        """After a 400 that names a field we can do without, drop it (for good) and say whether to retry."""
        if exc.code != "provider_bad_request":
            return False
        detail = exc.detail.lower()
        for field in _ADAPTABLE:
            if field in request and field in detail:
                logger.warning("LLM %s refused %s; sending it without from now on", self.describe(), field)
                value = request.pop(field)
                if field == "response_format":
                    self.json_mode = False
                else:
                    self.options.pop(field, None)
                if field == "max_tokens":  # newer OpenAI models want the new name
                    request["max_completion_tokens"] = self.options["max_completion_tokens"] = value
                return True
        return False


def _system_and_user(system: str, user: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


# --- reading JSON out of a model's answer --------------------------------------------------------------

# A block runs to its first "</think>". One never closed is matched to the end of the text and kept as it is: left
# unmatched, each "<think>" after it was tried in turn and read to the end ("<think>" repeated to 20,000 characters
# cost 0.4 s of CPU); matched, the text after it is read once.
_REASONING = re.compile(r"<think>(?:.*?(?P<closed></think>)|.*)", re.DOTALL | re.IGNORECASE)
# Language and whitespace read possessively: giving them back cannot find a closing fence that was not there, and
# "```" then 20,000 letters was read to its end once for each letter given back (2.6 s of CPU).
_FENCE = re.compile(r"```[a-zA-Z0-9_-]*+\s*+(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def _strip_reasoning(text: str) -> str:
    # Reasoning models served through Ollama or vLLM put their thinking in the answer.
    text = _REASONING.sub(lambda block: "" if block["closed"] is not None else block[0], text)
    if "</think>" in text:  # an opening tag swallowed by the template
        text = text.split("</think>", 1)[1]
    return text


# At most this many characters are read looking for a JSON object or array in an answer (about 0.1 s of CPU): each
# "{" or "[" is tried in turn and read to where it closes, so an answer of 10,000 "[" never closing read 50 million
# (5.5 s), twice with the retry.
BALANCED_MAX_CHARS = 1_000_000


def _balanced(text: str, start: int, end: int) -> tuple[str | None, int]:
    """The JSON object or array starting at `start`, up to its matching bracket (strings respected), read no further
    than `end`; and where the reading stopped."""
    closing = {"{": "}", "[": "]"}
    stack: list[str] = []
    in_string = escaped = False
    for index in range(start, end):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in closing:
            stack.append(closing[char])
        elif char in "}]":
            if not stack or stack.pop() != char:
                return None, index + 1
            if not stack:
                return text[start : index + 1], index + 1
    return None, end


def _candidates(text: str):
    yield text
    yield from _FENCE.findall(text)
    left = BALANCED_MAX_CHARS
    for index, char in enumerate(text):
        if char in "{[":
            if left <= 0:
                return
            block, stop = _balanced(text, index, min(len(text), index + left))
            left -= stop - index
            if block is not None:
                yield block
                return


def parse_json_reply(text: str) -> Any:
    """JSON from a model's answer, tolerating code fences, prose around it, reasoning blocks and
    trailing commas, with what PostgreSQL cannot hold taken out of its strings (JSON may spell a NUL as \\u0000);
    MalformedReply when there is none."""
    text = _strip_reasoning(text).strip()
    for candidate in _candidates(text):
        candidate = candidate.strip()
        for attempt in (candidate, _TRAILING_COMMA.sub(r"\1", candidate)):
            try:  # RecursionError: nested deeper than Python's json (or storable_json) reads
                return storable_json(json.loads(attempt))
            except (ValueError, RecursionError):
                continue
    raise MalformedReply(f"no JSON in the answer: {text[:80]!r}")
