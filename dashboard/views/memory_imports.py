"""Import: upload a file of memories (a backup's or Mem0's JSON lines, or an export's JSON) into your account, imported
in the background; follow each import's status."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render

from dashboard.access import account_required
from dashboard.forms import ImportForm
from dashboard.views.common import attempt, form_status
from exports import selectors, services
from mem0server import uploads


@account_required
def import_list(request):
    """GET: the account's recent imports and the form; POST: queue the import of an uploaded file."""
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
    if request.method == "POST" and form.is_valid():
        upload = request.FILES["file"]
        memory_import = attempt(
            form,
            lambda: services.import_create(account=request.user, file_name=upload.name, text=form.cleaned_data["file"]),
        )
        if memory_import is not None:
            messages.success(request, f"{upload.name} queued; a background worker imports it.")
            return redirect("dashboard:imports")
    context = {
        "form": form,
        "imports": selectors.imports_recent(account=request.user),
        "max_bytes": uploads.import_limit(),
    }
    return render(request, "dashboard/imports.html", context, status=form_status(form))
