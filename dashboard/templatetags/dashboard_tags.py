import json

from django import template

register = template.Library()


@register.filter
def as_json(value) -> str:
    """Metadata as the JSON an API caller sends and reads (escaped by the template like any text)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
