"""Admin pages: the model configuration (with a connection test) and the accounts."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts import services as accounts
from accounts.selectors import users_page
from dashboard.access import admin_required, post_only
from dashboard.forms import ModelConfigForm, PageForm, ResetPasswordForm, UserCreateForm, model_config_initial
from dashboard.views.common import attempt, form_status, posted_yes_no
from mem0server.exceptions import DomainError, InvalidInput, NotFound, error_sentences
from memories import configuration
from memories.config_serializers import ConfigSerializer
from memories.connection_check import models_check_connection

PAGE_SIZE = 50  # accounts a page, as the dashboard's other lists


def model_config_page(request, *, template: str, done: str, context: dict | None = None):
    """`template` showing the configuration in force and the form changing its LLM and embedder (validated as POST
    /configure is); once saved, back to `done`. The Configuration page, and the setup wizard's Models step."""
    current = configuration.server_config_get()
    form = ModelConfigForm(request.POST or None, initial=model_config_initial(current))
    if request.method == "POST":
        try:
            _model_config_save(form)
        except configuration.ConfigChanged:  # another admin (another tab) saved since the page was opened
            current = configuration.server_config_get(fresh=True)
            form.changed_since(model_config_initial(current))
        if not form.errors:
            messages.success(request, "Configuration saved; every worker uses it from its next request.")
            return redirect(done)
    context = {**(context or {}), "form": form, "config": current}
    return render(request, template, context, status=form_status(form))


def _model_config_save(form: ModelConfigForm) -> None:
    """Save the form's configuration, a refusal becoming the form's error; ConfigChanged when it was made from a
    version no longer in force (checked first, and again as it is stored)."""
    version = form.made_from()
    if not form.is_valid():
        return
    try:
        serializer = ConfigSerializer(data=configuration.config_unmasked(form.changes()))
        if serializer.is_valid():
            configuration.server_config_set(changes=serializer.validated_data, version=version)
        for problem in error_sentences(serializer.errors):
            form.add_refusal(problem)
    except configuration.ConfigChanged:
        raise
    except DomainError as exc:
        form.add_refusal(exc.detail)


@admin_required
def config_page(request):
    """Show the configuration in force and change the LLM and embedder."""
    return model_config_page(request, template="dashboard/config.html", done="dashboard:config")


@post_only("dashboard:config")
@admin_required
def config_test(request):
    """htmx: whether the embedder and the LLM answer: those in force or, with the change form's fields, those the
    form would save, tried without saving them (a 400 naming what would keep them from being saved)."""
    if "llm_provider" not in request.POST:
        return render(request, "dashboard/_config_test.html", {"checks": models_check_connection()})

    def not_tried(problems: list[str]):
        return render(request, "dashboard/_config_test.html", {"problems": problems}, status=400)

    form = ModelConfigForm(request.POST, initial=model_config_initial(configuration.server_config_get()))
    if not form.is_valid():
        fields = form.fields
        return not_tried(
            [f"{fields[name].label}: {e}" if name in fields else e for name, es in form.errors.items() for e in es]
        )
    try:
        serializer = ConfigSerializer(data=configuration.config_unmasked(form.changes()))
    except DomainError as exc:
        return not_tried([exc.detail])
    if not serializer.is_valid():
        return not_tried(error_sentences(serializer.errors))
    try:
        tried = configuration.server_config_tried(changes=serializer.validated_data)
    except DomainError as exc:
        return not_tried([exc.detail])
    context = {"checks": models_check_connection(tried), "tried": True}
    return render(request, "dashboard/_config_test.html", context)


@admin_required
def user_list(request):
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = attempt(form, lambda: accounts.user_create(**form.cleaned_data))
        if user is not None:
            messages.success(request, f"Created {user.role} {user.email}.")
            return redirect("dashboard:users")
    return _users_page(request, form)


def _on_page(request) -> str:
    """The users page's `?page=N` a change was asked from (empty on the first), for its forms to come back to."""
    paging = PageForm(request.GET)
    number = paging.cleaned_data.get("page") if paging.is_valid() else None
    return f"?page={number}" if number and number > 1 else ""


def _back_to_users(request):
    return redirect(reverse("dashboard:users") + _on_page(request))


def _users_page(request, form: UserCreateForm, *, refused: str = ""):
    """The users page; `refused` says why a change asked of it was not made (a 400, as a refused form is)."""
    if refused:
        messages.error(request, refused)
    paging = PageForm(request.GET)
    number = paging.cleaned_data.get("page") or 1 if paging.is_valid() else 1
    page = users_page(page=number, page_size=PAGE_SIZE) if paging.is_valid() else None
    context = {
        "form": form,
        "paging": paging,
        "page": page,
        "page_number": number,
        "on_page": _on_page(request),
        "reset_form": ResetPasswordForm(),
    }
    status = 400 if refused or not paging.is_valid() else form_status(form)
    return render(request, "dashboard/users.html", context, status=status)


@post_only("dashboard:users")
@admin_required
def user_active(request, user_id: int):
    active = posted_yes_no(request, "active")  # anything else deactivated the account, as "no" does
    if active is None:
        return _users_page(request, UserCreateForm(), refused="active must be yes (reactivate) or no (deactivate).")
    try:
        user = accounts.user_set_active(actor=request.user, user_id=user_id, active=active)
    except NotFound:
        raise Http404("No such account.") from None
    except InvalidInput as exc:
        return _users_page(request, UserCreateForm(), refused=exc.detail)
    messages.success(request, f"{user.email} {'reactivated' if active else 'deactivated'}.")
    return _back_to_users(request)


@post_only("dashboard:users")
@admin_required
def user_password(request, user_id: int):
    form = ResetPasswordForm(request.POST)
    if not form.is_valid():
        refused = " ".join(e for errors in form.errors.values() for e in errors)
        return _users_page(request, UserCreateForm(), refused=refused)
    try:
        user = accounts.user_reset_password(actor=request.user, user_id=user_id, **form.cleaned_data)
    except NotFound:
        raise Http404("No such account.") from None
    except InvalidInput as exc:
        return _users_page(request, UserCreateForm(), refused=exc.detail)
    messages.success(request, f"New password set for {user.email}.")
    return _back_to_users(request)
