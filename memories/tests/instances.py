"""Memories made without Model.__init__ (search results, list pages) must be what the ORM makes; a receiver of the
model's post_init, when one listens, must hear each one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db.models import signals

from memories.models import Memory


@contextmanager
def post_init_heard(listening: bool) -> Iterator[list[Memory]]:
    """Within the block, with `listening`, a receiver of Memory's post_init: the memories it heard (yielded, filled as
    they are made); without, nobody listens and the list stays empty."""
    heard: list[Memory] = []

    def receiver(sender, instance, **kwargs):
        heard.append(instance)

    if listening:
        signals.post_init.connect(receiver, sender=Memory)
    try:
        yield heard
    finally:
        signals.post_init.disconnect(receiver, sender=Memory)
