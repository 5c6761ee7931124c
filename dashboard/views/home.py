"""The overview page."""

from __future__ import annotations

from django.shortcuts import render

from apikeys.services import apikeys_count
from dashboard.access import account_required
from entities.selectors import entities_list
from events.selectors import events_counts
from memories.configuration import server_config_get
from memories.selectors import memories_count

COUNTED_ENTITIES = 1000


@account_required
def home(request):
    # Listing entities is the costly part: past this many the page says "1000+" rather than counting on.
    entities = entities_list(principal=request.user, limit=COUNTED_ENTITIES)
    context = {
        "memories": memories_count(principal=request.user, scope={}),
        "entities": len(entities.results),
        "more_entities": entities.next_cursor is not None,
        "keys": apikeys_count(user=request.user),
        "config": server_config_get(),
        "events": events_counts(principal=request.user),
    }
    return render(request, "dashboard/home.html", context)
