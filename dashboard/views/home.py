"""The overview page."""

from __future__ import annotations

from django.shortcuts import render

from apikeys.services import apikeys_list
from dashboard.access import account_required
from entities.selectors import entities_list
from memories.configuration import server_config_get
from memories.selectors import memories_count


@account_required
def home(request):
    entities = entities_list(principal=request.user, limit=1000).results
    context = {
        "memories": memories_count(principal=request.user, scope={}),
        "entities": len(entities),
        "keys": len(apikeys_list(user=request.user)),
        "config": server_config_get(),
    }
    return render(request, "dashboard/home.html", context)
