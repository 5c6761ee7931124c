"""Exports: start one over a scope (optionally shaped by a JSON Schema), follow their status, download the JSON."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from dashboard.access import account_required
from dashboard.forms import ExportForm
from dashboard.views.common import attempt, form_status
from exports import selectors, services
from exports.backup import backup_file
from exports.models import MemoryExport
from mem0server.exceptions import InvalidInput, NotFound


@account_required
def export_list(request):
    """GET: the account's recent exports and the form; POST: queue a new export of the account's memories."""
    form = ExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        export = attempt(
            form,
            lambda: services.export_create(
                principal=request.user,
                filters=form.scope(),
                schema=form.cleaned_data["schema"],
                export_instructions=form.cleaned_data["export_instructions"],
            ),
        )
        if export is not None:
            messages.success(request, f"Export {export.id} queued; a background worker builds it.")
            return redirect("dashboard:exports")
    context = {
        "form": form,
        "exports": selectors.exports_recent(principal=request.user),
        # What one export holds: a row that reached it says so (it held the newest, and passed for all of them).
        "most": settings.EXPORT_MAX_MEMORIES,
        "most_bytes": settings.EXPORT_MAX_TEXT_BYTES,
        "most_shaped": settings.EXPORT_LLM_MAX_MEMORIES,
    }
    return render(request, "dashboard/exports.html", context, status=form_status(form))


@account_required
def export_download(request, export_id: str):
    """A finished export's data as a JSON file; 404 for another account's, an unknown or an unfinished one."""
    try:
        export = selectors.export_get(principal=request.user, export_id=export_id)
    except (InvalidInput, NotFound):
        raise Http404("Export not found.") from None
    if export.status != MemoryExport.Status.SUCCEEDED:
        raise Http404("This export has no data (yet).")
    try:
        file = selectors.export_result_file(export=export, indent=2)
    except NotFound:
        raise Http404("Export not found.") from None
    name = f"memory-export-{export.id}.json"
    return FileResponse(file, as_attachment=True, filename=name, content_type="application/json")


@account_required
def export_backup(request):
    """The account's memories with their history as JSON lines (export_memories' format, which the Import page and
    import_memories take back), built now; over EXPORT_MAX_MEMORIES, the Exports page says to use the command."""
    try:
        file, _, _ = backup_file(account=request.user)
    except InvalidInput as exc:
        messages.error(request, exc.detail)
        return redirect("dashboard:exports")
    name = f"memories-{timezone.now():%Y-%m-%d}.jsonl"
    return FileResponse(file, as_attachment=True, filename=name, content_type="application/x-ndjson")
