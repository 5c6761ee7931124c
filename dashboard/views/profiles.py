"""Profiles: the account's profile settings, its users' profiles and their status, and a generation on demand
(the same settings, profiles and jobs as the SDKs' profile methods)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.html import format_html

from dashboard.access import account_required
from dashboard.forms import ProfileGenerateForm, ProfileSettingsForm
from dashboard.views.common import attempt, form_status
from profiles import selectors, services
from profiles.models import ProfileJob


@account_required
def profile_list(request):
    """GET: the settings, the generate form and the profiles; POST: save the settings, or queue one user."""
    stored = services.settings_get(principal=request.user)
    initial = {
        "enabled": stored.enabled,
        "schema": json.dumps(stored.schema, indent=2, ensure_ascii=False) if stored.schema else "",
        "custom_instructions": stored.custom_instructions or "",
    }
    posted = request.POST.get("form")
    settings_form = ProfileSettingsForm(request.POST if posted == "settings" else None, initial=initial)
    generate_form = ProfileGenerateForm(request.POST if posted == "generate" else None)
    if posted == "settings" and settings_form.is_valid():
        data = settings_form.cleaned_data
        saved = attempt(
            settings_form,
            lambda: services.settings_update(
                principal=request.user,
                enabled=data["enabled"],
                schema=data["schema"],
                custom_instructions=data["custom_instructions"],
            ),
        )
        if saved is not None:
            messages.success(request, "Profile settings saved.")
            return redirect("dashboard:profiles")
    if posted == "generate" and not (stored.enabled and stored.schema):
        # The service's reason names the SDK call and the API route that turn them on; here, the form above does.
        generate_form.add_error(
            None, "Profiles are off: tick “Profiles on” under Settings, give a schema and save them first."
        )
    if posted == "generate" and generate_form.is_valid():
        user_id = generate_form.cleaned_data["user_id"]
        queued = attempt(
            generate_form,
            lambda: services.job_create(
                principal=request.user, operation=ProfileJob.Operation.TRIGGER, entity_id=user_id
            ),
        )
        if queued is not None:
            messages.success(
                request, format_html("The profile of <bdi>{}</bdi> is queued; a background worker writes it.", user_id)
            )
            return redirect("dashboard:profiles")
    unknown = request.method == "POST" and posted not in ("settings", "generate")
    if unknown:
        messages.error(request, "form must be settings or generate: which of the page's forms was sent.")
    profiles, total = selectors.profiles_recent(principal=request.user)
    context = {
        "settings_form": settings_form,
        "generate_form": generate_form,
        "stored": stored,
        "profiles": profiles,
        "profiles_total": total,
    }
    status = 400 if unknown else form_status(settings_form, generate_form)
    return render(request, "dashboard/profiles.html", context, status=status)
