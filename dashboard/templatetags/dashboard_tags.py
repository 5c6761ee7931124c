import json
import shlex
from urllib.parse import quote, urlencode

from django import template
from django.urls import reverse

register = template.Library()


@register.filter
def as_json(value) -> str:
    """Metadata as the JSON an API caller sends and reads (escaped by the template like any text)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@register.filter
def isolated(value) -> str:
    """Text someone chose, for a sentence that is not HTML (a confirmation prompt's, where <bdi> cannot go): between
    U+2068 and U+2069 (first-strong isolate, pop), so a direction override in it (U+202E) ends with it instead of
    reversing the rest of the sentence. Escaped by the template like any text."""
    return f"\u2068{value}\u2069"


@register.filter
def shell_quoted(value) -> str:
    """A value as one word of a shell command (an email with a quote in it stays one argument)."""
    return shlex.quote(str(value))


@register.simple_tag
def memories_of(scope) -> str:
    """The Memories page filtered by a scope ({"user_id": "sam", …}: a queued add's)."""
    scope = scope if isinstance(scope, dict) else {}
    return reverse("dashboard:memories") + "?" + urlencode({k: v for k, v in scope.items() if isinstance(v, str)})


@register.simple_tag
def entity_delete_url(entity_type: str, entity_id: str) -> str:
    """The entity's delete page with its id quoted whole, "/" included: reverse() leaves "/" as it is, and a
    browser resolves the dot segments of an id like "team/../bob" away, to bob's page. The server decodes %2F
    back to "/" before routing, so the <path:entity_id> route reads the id as it is."""
    head, _, tail = reverse("dashboard:entity-delete", args=[entity_type, "-"]).rpartition("/-/")
    return f"{head}/{quote(entity_id, safe='')}/{tail}"


@register.simple_tag(takes_context=True)
def server_url(context) -> str:
    """This server's address as the browser reached it (scheme, host, port; no trailing slash), for the snippets
    that connect an agent: the address a user's agents on the same network reach too, or the one to change."""
    return context["request"].build_absolute_uri("/").rstrip("/")
