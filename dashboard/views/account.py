"""Login, logout, the setup wizard and the account's own settings."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from rest_framework.throttling import SimpleRateThrottle

from accounts import services as accounts
from apikeys.models import APIKey
from apikeys.services import apikey_authenticate, apikey_create
from dashboard.access import account_required, post_only
from dashboard.forms import FirstAdminForm, KeyForm, LoginForm, PasswordForm, ProfileForm
from dashboard.once import once_token, resent, sent_before
from dashboard.views.admin import model_config_page
from dashboard.views.common import attempt, form_status
from mem0server.exceptions import DomainError
from memories import services as memories
from memories.configuration import server_config_get
from memories.selectors import memories_search

SETUP_SCOPE = {"user_id": "dashboard-setup-test"}


class LoginThrottle(SimpleRateThrottle):
    """POST /auth/login's limit per client IP ("login" rate), counted in the same bucket: trying passwords
    through the page gives no more attempts than through the API."""

    scope = "login"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PasswordChangeThrottle(SimpleRateThrottle):
    """POST /auth/change-password's limit per account ("change_password" rate), in the same bucket: each
    attempt checks the current password with a slow hash, and a stolen session should not guess it freely."""

    scope = "change_password"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class LoginView(auth_views.LoginView):
    template_name = "dashboard/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def dispatch(self, request, *args, **kwargs):
        if accounts.setup_needed():
            return redirect("dashboard:setup")
        if request.method == "POST":
            throttle = LoginThrottle()
            if not throttle.allow_request(request, self):
                wait = int(throttle.wait() or 60)
                # The form again with the email typed and the page to go to after (`next`), as a refused login's;
                # not bound, which would try the password.
                form = self.get_form_class()(request, initial={"username": request.POST.get("username", "")})
                response = self.render_to_response(self.get_context_data(form=form, throttled=wait), status=429)
                response["Retry-After"] = str(wait)
                return response
        return super().dispatch(request, *args, **kwargs)

    def get_redirect_url(self):
        # A `next` naming this page itself goes to the overview instead: Django's view raised a ValueError
        # ("Redirection loop") for a logged-in account, a 500 for a link anyone can write.
        url = super().get_redirect_url()
        return "" if url == self.request.path else url

    def form_invalid(self, form):
        # A refused login is a 400 (as every refused form), the form again saying why; Django's view answers 200.
        return self.render_to_response(self.get_context_data(form=form), status=400)


def setup(request):
    """Step 1: create the admin (only while no account exists), logged in at once."""
    if not accounts.setup_needed():
        if request.user.is_authenticated and request.user.is_admin:
            return redirect("dashboard:setup-models")
        return redirect("dashboard:login")
    form = FirstAdminForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = attempt(form, lambda: accounts.first_admin_create(**form.cleaned_data))
        if user is not None:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("dashboard:setup-models")
    return render(request, "dashboard/setup_admin.html", {"form": form, "step": 1}, status=form_status(form))


@account_required
def setup_models(request):
    """Step 2: the model configuration in force, which an admin may change here as on the Configuration page."""
    if request.user.is_admin:
        return model_config_page(
            request, template="dashboard/setup_models.html", done="dashboard:setup-models", context={"step": 2}
        )
    if request.method == "POST":
        return render(request, "dashboard/forbidden.html", status=403)
    return render(request, "dashboard/setup_models.html", {"config": server_config_get(), "step": 2})


@account_required
def setup_key(request):
    """Step 3: the first API key, shown once, then a test add and search with it."""
    form = KeyForm(request.POST or None, initial={"label": "first key"})
    key = None
    if request.method == "POST" and form.is_valid():
        if sent_before(request):
            messages.info(request, f"{resent('key')} Keys are listed on the API keys page.")
            return redirect("dashboard:setup-key")
        _, key = apikey_create(user=request.user, label=form.cleaned_data["label"])
    context = {"form": form, "key": key, "step": 3, "once": once_token()}
    return render(request, "dashboard/setup_key.html", context, status=form_status(form))


@post_only("dashboard:setup-key")
@account_required
def setup_test(request):
    """Add a memory and search for it as the holder of the key just created, then remove the test memory."""
    api_key: APIKey | None = apikey_authenticate(key=request.POST.get("key", ""))
    if api_key is None or api_key.user_id != request.user.pk:
        return render(request, "dashboard/_setup_test.html", {"error": "That key is not one of yours."}, status=400)
    principal = api_key.user
    try:
        added = memories.memories_add(
            principal=principal,
            messages=[memories.Message(role="user", content="Likes green tea in the morning")],
            scope=SETUP_SCOPE,
            infer=False,
        )
        found = memories_search(principal=principal, query="what does the user drink?", filters=SETUP_SCOPE, top_k=1)
        # Only what it added: other memories may be kept under that user_id (an admin's key sees every account's).
        memories.memories_delete_ids(principal=principal, memory_ids=[result["id"] for result in added])
    except DomainError as exc:
        return render(request, "dashboard/_setup_test.html", {"error": exc.detail}, status=400)
    return render(request, "dashboard/_setup_test.html", {"added": added, "found": found})


@account_required
def settings_page(request):
    """Profile (name, email) and password."""
    user = request.user
    profile = ProfileForm(initial={"name": user.name, "email": user.email})
    password = PasswordForm()
    if request.method == "POST" and request.POST.get("form") == "profile":
        profile = ProfileForm(request.POST)
        if profile.is_valid() and attempt(profile, lambda: accounts.user_update(user=user, **profile.cleaned_data)):
            messages.success(request, "Profile saved.")
            return redirect("dashboard:settings")
    elif request.method == "POST" and request.POST.get("form") == "password":
        password = PasswordForm(request.POST)
        throttle = PasswordChangeThrottle()
        if not throttle.allow_request(request, None):
            wait = int(throttle.wait() or 60)
            password.add_error(None, f"Too many password attempts; try again in {wait} s.")
            context = {"profile": profile, "password": password}
            response = render(request, "dashboard/settings.html", context, status=429)
            response["Retry-After"] = str(wait)
            return response
        if password.is_valid():
            changed = attempt(
                password,
                lambda: accounts.user_change_password(user=user, **password.cleaned_data) or True,
            )
            if changed:
                update_session_auth_hash(request, user)  # this session stays logged in
                messages.success(request, "Password changed.")
                return redirect("dashboard:settings")
    elif request.method == "POST":
        messages.error(request, "form must be profile or password: which of the page's forms was sent.")
        return render(request, "dashboard/settings.html", {"profile": profile, "password": password}, status=400)
    context = {"profile": profile, "password": password}
    return render(request, "dashboard/settings.html", context, status=form_status(profile, password))
