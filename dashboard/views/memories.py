"""Memories: list with scope and metadata filters, semantic search, detail with history, edit, delete."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django_htmx.http import push_url

from dashboard.access import account_required, admin_required, post_only
from dashboard.forms import AddMemoryForm, DeleteScopeForm, EditMemoryForm, MemoryFilterForm, SearchForm
from dashboard.kept_searches import keep_search, kept_search
from dashboard.views.common import attempt, carried_query, deleted_said, form_status
from mem0server.exceptions import NotFound
from memories import selectors, services
from memories.documents import document_uploaded

PAGE_SIZE = 50
# Characters of each text a timeline's event shows: an event keeps two texts of up to 100,000 characters, and 50
# events of those made a 10 MB page.
HISTORY_TEXT_SHOWN = 2000
# A search's address pushed into the tab's history, at most: gunicorn (make serve) answers a request line over 4094
# bytes itself (414), so a longer address would fail when reloaded or pasted.
MAX_ADDRESS_CHARS = 4000


# The Memories list's own query parameters: those a memory's page carries back to the list it was opened from.
LIST_QUERY = (*MemoryFilterForm.base_fields, "cursor")


def _from_list(raw: str | None) -> dict:
    """The Memories list (its filters and page) a memory's page was opened from, carried in `raw` (the list's
    query): `back`, its address; `from_list`, the query ("?list=…") the memory's pages and forms carry it in."""
    listed = carried_query(raw, LIST_QUERY)
    return {
        "back": reverse("dashboard:memories") + listed,
        "from_list": f"?{urlencode({'list': listed[1:]})}" if listed else "",
    }


def _memory_id(memory_id: str):
    try:
        return selectors.memory_id_from_path(memory_id)
    except NotFound:
        raise Http404("Memory not found.") from None


def _memory(request, memory_id: str):
    """The memory, or None when it is gone: deleted, its history stays (_deleted shows it)."""
    try:
        return selectors.memory_get(principal=request.user, memory_id=_memory_id(memory_id))
    except NotFound:
        return None


def _history(request, memory_id) -> dict:
    """The timeline's context: the newest events first, how many the memory has, and whether a text of theirs is
    longer than the timeline shows."""
    events, total = selectors.memory_history_newest(
        principal=request.user, memory_id=memory_id, limit=selectors.HISTORY_SHOWN
    )
    cut = any(len(text or "") > HISTORY_TEXT_SHOWN for e in events for text in (e.old_memory, e.new_memory))
    return {
        "history": events,
        "history_total": total,
        "memory_id": memory_id,
        "history_text_shown": HISTORY_TEXT_SHOWN,
        "history_cut": cut,
    }


def _deleted_history(request, memory_id: str) -> dict:
    """A deleted memory's timeline (the delete keeps its history); a 404 for an id the account never had (another
    account's included)."""
    context = _history(request, _memory_id(memory_id))
    if not context["history_total"]:
        raise Http404("Memory not found.")
    return context


def _deleted(request, memory_id: str, *, status: int = 200, unsaved: dict | None = None):
    """A deleted memory's page: its history, and no form; `unsaved`, what a Save refused for the delete sent (the
    text and metadata typed), shown to copy."""
    context = _deleted_history(request, memory_id) | {"unsaved": unsaved} | _from_list(request.GET.get("list"))
    return render(request, "dashboard/memory_deleted.html", context, status=status)


@account_required
def memory_list(request):
    """Newest first, filtered by scope and metadata; paged by cursor."""
    form = MemoryFilterForm(request.GET or None)
    page = None
    if form.is_bound and not form.is_valid():
        pass
    else:
        scope = form.scope() if form.is_bound else {}
        filters = form.cleaned_data.get("filters") if form.is_bound else None
        page = attempt(
            form,
            lambda: selectors.memories_list(
                principal=request.user,
                scope=scope,
                filters=filters,
                top_k=PAGE_SIZE,
                cursor=request.GET.get("cursor") or None,
            ),
        )
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "form": form,
        "page": page,
        "add_form": AddMemoryForm(auto_id="add_%s"),
        "search_form": SearchForm(auto_id="search_%s"),
        "query": query.urlencode(),
        # Each memory's page leads back to this page of the list, filtered as it is.
        "from_list": _from_list(request.GET.urlencode())["from_list"],
        # A later page with nothing left (its last memory deleted from its page) is not a filter matching nothing:
        # it links to the first page.
        "past_end": bool(request.GET.get("cursor") and page and not page.results),
    }
    # A refused field or cursor is a 400 (the page says why), as the API's list answers it.
    return render(request, "dashboard/memories.html", context, status=form_status(form))


@post_only("dashboard:memories")
@account_required
def memory_add(request):
    """Store the text as given (no inference), and a document's text in passages, owned by the logged-in account."""
    form = AddMemoryForm(request.POST, request.FILES, auto_id="add_%s")
    if form.is_valid():
        document = form.cleaned_data["document"]
        message = services.Message(
            role="user",
            content=form.cleaned_data["text"],
            documents=[document_uploaded(document.read(), document.name)] if document else (),
        )
        added = attempt(
            form,
            lambda: services.memories_add(
                principal=request.user,
                messages=[message],
                scope=form.scope(),
                metadata=form.cleaned_data["metadata"],
                infer=False,
            ),
        )
        if len(added or ()) == 1:
            messages.success(request, "Memory added.")
            return redirect("dashboard:memory", memory_id=added[0]["id"])
        if added:  # a document's passages: the scope's memories show them
            messages.success(request, f"{len(added)} memories added.")
            return redirect(f"{reverse('dashboard:memories')}?{urlencode(form.scope())}")
    elif request.FILES.get("document") and "document" not in form.errors:
        # Refused before the document was read (its scope, say): the page shown again has no file chosen (a browser
        # never fills a file field in), and the add sent again once the scope was mended was refused for having no
        # text and no document.
        chosen = request.FILES["document"].name
        form.add_error("document", f"Choose {chosen} again: a page shown again cannot keep the file chosen.")
    return render(request, "dashboard/memory_add.html", {"add_form": form}, status=400)


@account_required
def memory_search(request):
    """Semantic search in one scope; each result shows its score and the parts it is made of. The page's form POSTs
    (a search of any length); a GET (a search's address, pasted or reloaded) searches the same, and the address of one
    too long for an address names it as kept in the session (dashboard.kept_searches)."""
    data = request.POST if request.method == "POST" else request.GET
    if request.method == "GET" and request.GET.get("kept"):
        data = kept_search(request, request.GET["kept"])
        if data is None:
            messages.info(request, "That search was too long for an address and is no longer kept: search again.")
    form = SearchForm(data or None, auto_id="search_%s")
    outcome = None
    if form.is_valid():
        # The scope fields and the filters both apply: a user_id in each narrows to memories of both (none when
        # they differ), as the list's do; one does not replace the other.
        filters = form.scope()
        if form.cleaned_data["filters"]:
            filters = {"AND": [filters, form.cleaned_data["filters"]]}
        outcome = attempt(
            form,
            # As the API's search: the configured default reranker applies (SEARCH_RERANK_DEFAULT).
            lambda: selectors.memories_search_reranked(
                rerank=None, principal=request.user, query=form.cleaned_data["query"], filters=filters, top_k=20
            ),
        )
    template = "dashboard/_search_results.html" if request.htmx else "dashboard/search.html"
    context = {"search_form": form, "results": outcome and outcome.results, "rerank": outcome and outcome.rerank}
    # htmx swaps a 400 in too (htmx-config in base.html): the results area shows what is wrong.
    response = render(request, template, context, status=form_status(form))
    if request.method == "POST" and request.htmx:
        push_url(response, _search_address(request))
    return response


def _search_address(request) -> str:
    """The address of a posted search, for the tab's history: its fields in the query, as a GET form's would be, or
    when that would be too long an address (a search of 3,900 letters) the id of its fields kept in the session."""
    query = request.POST.copy()
    query.pop("csrfmiddlewaretoken", None)
    address = f"{reverse('dashboard:search')}?{query.urlencode()}"
    if len(address) <= MAX_ADDRESS_CHARS:
        return address
    return f"{reverse('dashboard:search')}?{urlencode({'kept': keep_search(request, query.dict())})}"


@account_required
def memory_detail(request, memory_id: str):
    memory = _memory(request, memory_id)
    if memory is None:
        return _deleted(request, memory_id)
    form = EditMemoryForm(initial={"text": memory.text, "text_was": memory.hash})
    context = {"memory": memory, "form": form, **_history(request, memory.id), **_from_list(request.GET.get("list"))}
    return render(request, "dashboard/memory_detail.html", context)


@post_only("dashboard:memory", "memory_id")
@account_required
def memory_edit(request, memory_id: str):
    memory = _memory(request, memory_id)
    if memory is None:  # deleted in another tab since this page was opened
        return _not_saved(request, memory_id)
    form = EditMemoryForm(request.POST)
    if form.is_valid():
        try:
            updated = attempt(
                form,
                lambda: services.memory_update(
                    principal=request.user,
                    memory_id=memory.id,
                    text=form.cleaned_data["text"],
                    metadata=form.cleaned_data["metadata"],
                    text_was=form.cleaned_data["text_was"] or None,
                    only_if_changed=True,  # a Save pressed twice writes one UPDATE, not a second "X → X"
                ),
                passing=(NotFound,),
            )
        except NotFound:  # deleted since it was read above, before the update locked it
            return _not_saved(request, memory_id)
        except services.NothingChanged:
            messages.info(request, "Nothing changed: this Save changes neither the memory's text nor its metadata.")
            return _to_memory(request, memory.id)
        if updated is not None:
            messages.success(request, "Memory updated.")
            return _to_memory(request, memory.id)
        memory = _memory(request, memory_id) or memory
        if form.cleaned_data["text_was"] not in ("", memory.hash):
            # Refused for a change made since the page was read: this page shows the text as it now is, so its Save
            # is made knowing it (it was refused again and again, until a reload lost what was typed).
            form.data = form.data.copy()
            form.data["text_was"] = memory.hash
            form.add_error(None, "Save again to replace it with yours.")
    context = {"memory": memory, "form": form, **_history(request, memory.id), **_from_list(request.GET.get("list"))}
    return render(request, "dashboard/memory_detail.html", context, status=400)


def _not_saved(request, memory_id: str):
    """The answer to a Save of a memory deleted (in another tab, through the API): its page saying so, with the text
    and metadata typed to copy."""
    messages.error(request, "This memory was deleted: nothing was saved.")
    unsaved = {name: request.POST.get(name, "") for name in ("text", "metadata")}
    return _deleted(request, memory_id, status=400, unsaved=unsaved)


def _to_memory(request, memory_id):
    """The memory's page, leading back to the list it was opened from."""
    return redirect(reverse("dashboard:memory", args=[memory_id]) + _from_list(request.GET.get("list"))["from_list"])


@post_only("dashboard:memory", "memory_id")
@account_required
def memory_delete(request, memory_id: str):
    try:
        services.memory_delete(principal=request.user, memory_id=_memory_id(memory_id))
    except NotFound:  # deleted already (another tab, the API): its page says so, or a 404 if it never was the account's
        _deleted_history(request, memory_id)
        messages.info(request, "This memory was already deleted.")
        return _to_memory(request, memory_id)
    messages.success(request, "Memory deleted; its history stays readable.")
    return redirect(_from_list(request.GET.get("list"))["back"])


@admin_required
def memory_delete_scope(request):
    """Admin: delete every memory of a scope, after a confirmation step showing how many."""
    form = DeleteScopeForm(request.POST or request.GET or None)
    count = None
    if form.is_bound and form.is_valid():
        if request.method == "POST" and request.POST.get("confirm") == "yes":
            deleted = attempt(form, lambda: services.memories_delete_scope(principal=request.user, scope=form.scope()))
            if deleted is not None:
                messages.success(request, f"Deleted {deleted_said(deleted)}.")
                return redirect("dashboard:memories")
        else:
            count = selectors.memories_count(principal=request.user, scope=form.scope())
    # Opened from a list filtered by metadata too: those filters are not part of a scope, and the page says so.
    filtered = bool(request.GET.get("filters", "").strip())
    context = {"form": form, "count": count, "filtered": filtered}
    return render(request, "dashboard/memory_delete_scope.html", context, status=form_status(form))
