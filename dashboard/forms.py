"""Form fields of the dashboard pages: shape and type checks only; rules live in the services."""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.template.defaultfilters import filesizeformat
from rest_framework import serializers

from accounts.models import User
from events.models import Event
from mem0server.parsers import NestedTooDeep, json_loads
from mem0server.text import REDACTED, unstorable_json
from memories.configuration import ConfigChanged, vision_enabled
from memories.documents import OFFICE_TYPES, READABLE_NAMES
from memories.models import MAX_TEXT_CHARS, SCOPE_FIELDS
from memories.providers import EMBEDDER_PROVIDERS, LLM_PROVIDERS
from memories.serializers import ScopeIdField
from requestlog.selectors import AUTH_TYPES, STATUS_CLASSES
from webhooks.services import SENT_EVENT_TYPES

SCOPE_HELP = "At least one of user, agent, app or run id."
# Django's form EmailField takes 320 characters; the accounts' column stores 254 (a longer address was a 500).
EMAIL_MAX_LENGTH = User._meta.get_field("email").max_length


class LoginForm(AuthenticationForm):
    """Django's login form, its refusal saying which field is case-sensitive (Django's: "both fields may be", but an
    email is matched in any case)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Wrong email or password. The password is case-sensitive; the email is not.",
    }


class FirstAdminForm(forms.Form):
    name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(max_length=EMAIL_MAX_LENGTH)
    password = forms.CharField(widget=forms.PasswordInput, min_length=8, help_text="8 characters or more.")


class TextareaField(forms.CharField):
    """Multi-line text with the line breaks it was written with: a browser submits a textarea's line breaks as
    CRLF (HTML's form encoding), and a memory saved with its text untouched came back changed (CR added, a new
    hash, embedded again)."""

    widget = forms.Textarea

    def to_python(self, value):
        return super().to_python(value).replace("\r\n", "\n")


class ScopeIdFormField(forms.CharField):
    """A user, agent, app or run id by the REST API's rules (ScopeIdField), so every id the dashboard stores or asks
    for can be listed through REST too."""

    def __init__(self, name: str, **kwargs):
        self.name = name  # which id, for the reasons that name it ('To match any user_id …'): a form field has no name
        kwargs.setdefault("max_length", 255)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        field = ScopeIdField()
        field.bind(field_name=self.name, parent=None)
        try:
            return field.run_validation(value)
        except serializers.ValidationError as exc:
            raise forms.ValidationError([str(message) for message in exc.detail]) from None


class ScopeForm(forms.Form):
    user_id = ScopeIdFormField("user_id", required=False, label="User id")
    agent_id = ScopeIdFormField("agent_id", required=False, label="Agent id")
    app_id = ScopeIdFormField("app_id", required=False, label="App id")
    run_id = ScopeIdFormField("run_id", required=False, label="Run id")

    def scope(self) -> dict[str, str]:
        return {key: self.cleaned_data[key] for key in SCOPE_FIELDS if self.cleaned_data.get(key)}

    def scope_missing(self) -> bool:
        """No scope id given: not one that was given and refused (its own field error says why)."""
        return not self.scope() and not any(key in self.errors for key in SCOPE_FIELDS)


def _json_object(raw: str, what: str) -> dict | None:
    """The field's JSON object, read by the REST API's rules (finite numbers, storable text, nesting limit)."""
    if not raw.strip():
        return None
    try:
        value = json_loads(raw)
    except NestedTooDeep as exc:
        raise forms.ValidationError(f"{what} must not nest so deep: {exc}") from None
    except ValueError as exc:
        raise forms.ValidationError(f"{what} is not valid JSON: {exc}.") from None
    if not isinstance(value, dict):
        raise forms.ValidationError(f'{what} must be a JSON object, like {{"topic": "food"}}.')
    if problem := unstorable_json(value):
        raise forms.ValidationError(f"{what} must not contain {problem}.")
    return value


class MemoryFilterForm(ScopeForm):
    filters = forms.CharField(
        required=False,
        label="Metadata filters (JSON)",
        help_text='e.g. {"topic": "food"} or {"rating": {"gte": 4}}',
        widget=forms.TextInput(attrs={"placeholder": '{"topic": "food"}'}),
    )

    def clean_filters(self):
        return _json_object(self.cleaned_data["filters"], "Metadata filters")


class SearchForm(MemoryFilterForm):
    query = forms.CharField(label="Search by meaning")
    field_order = ["query", *SCOPE_FIELDS, "filters"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The API's limit (MAX_QUERY_CHARS), read when the form is made: a fixed 2,000 refused longer queries the API
        # takes, and took longer ones than an operator's lower limit allows.
        most = settings.MAX_QUERY_CHARS
        self.fields["query"] = forms.CharField(
            max_length=most,
            label="Search by meaning",
            error_messages={"max_length": f"Must be at most {most} characters (MAX_QUERY_CHARS)."},
        )

    def clean(self):
        data = super().clean()
        if self.scope_missing():
            raise forms.ValidationError("Search needs a scope: " + SCOPE_HELP)
        return data


class AddMemoryForm(ScopeForm):
    # As long as the API's memories (MAX_TEXT_CHARS): a memory it stored, longer than the 20,000 characters the forms
    # took, could not be saved from its page again, not even to merge metadata.
    text = TextareaField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=MAX_TEXT_CHARS, required=False, label="Memory"
    )
    document = forms.FileField(
        required=False,
        label="Or a document",
        widget=forms.FileInput(
            attrs={"accept": ",".join([*READABLE_NAMES, "application/pdf", "text/*", *OFFICE_TYPES])}
        ),
    )
    metadata = forms.CharField(required=False, label="Metadata (JSON)")
    field_order = ["text", "document", *SCOPE_FIELDS, "metadata"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A request holds MAX_REQUEST_BYTES at most (a larger one is a 413 page saying so).
        most = filesizeformat(settings.MAX_REQUEST_BYTES)
        document = self.fields["document"]
        document.help_text = (
            "A PDF, Word (.docx, .doc), PowerPoint (.pptx, .ppt), Excel (.xlsx, .xls), OpenDocument (.odt, .odp, "
            ".ods), EPUB, Rich Text (.rtf), CSV, email (.eml, Outlook's .msg), calendar (.ics), contacts (.vcf), text, "
            f"Markdown or web page (HTML) file of at most {most}: its text is stored in passages."
        )

    def clean_metadata(self):
        return _json_object(self.cleaned_data["metadata"], "Metadata")

    def clean(self):
        data = super().clean()
        if "text" in data and not data["text"].strip() and not data.get("document"):
            self.add_error("text", "Write a memory, or choose a document.")
        if self.scope_missing():
            raise forms.ValidationError(SCOPE_HELP)
        return data


class EditMemoryForm(forms.Form):
    text = TextareaField(widget=forms.Textarea(attrs={"rows": 4}), max_length=MAX_TEXT_CHARS, label="Memory")
    metadata = forms.CharField(
        required=False, label="Metadata to merge (JSON)", widget=forms.Textarea(attrs={"rows": 3})
    )
    # The hash of the text the page showed: the text sent back as it was is not written over a change made since.
    text_was = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_metadata(self):
        return _json_object(self.cleaned_data["metadata"], "Metadata")


class DeleteScopeForm(ScopeForm):
    def clean(self):
        data = super().clean()
        if self.scope_missing():
            raise forms.ValidationError(SCOPE_HELP)
        return data


class KeyForm(forms.Form):
    label = forms.CharField(max_length=100)


class WebhookForm(forms.Form):
    name = forms.CharField(max_length=255, help_text="A label for you.")
    url = forms.CharField(
        max_length=2048,
        label="URL",
        help_text="http(s); private, loopback and link-local addresses are refused unless WEBHOOK_ALLOW_PRIVATE=true.",
    )
    event_types = forms.MultipleChoiceField(
        choices=[(value, value) for value in SENT_EVENT_TYPES],
        initial=list(SENT_EVENT_TYPES),
        widget=forms.CheckboxSelectMultiple,
        label="Events",
        error_messages={"required": "Choose one or more events."},
    )


class RequestFilterForm(forms.Form):
    errors_only = forms.BooleanField(required=False, label="Errors only")
    path = forms.CharField(max_length=500, required=False, label="Path contains")
    status_class = forms.ChoiceField(
        required=False, choices=[("", "any")] + [(c, c) for c in STATUS_CLASSES], label="Status"
    )
    auth_type = forms.ChoiceField(required=False, choices=[("", "any")] + [(a, a) for a in AUTH_TYPES], label="Auth")
    request_id = forms.CharField(max_length=128, required=False, label="Request id")
    client = forms.CharField(max_length=128, required=False, label="Client contains")
    within = forms.ChoiceField(
        required=False,
        choices=[("", "any time"), ("1h", "the last hour"), ("24h", "the last 24 hours"), ("7d", "the last 7 days")],
        label="Within",
    )
    window = forms.ChoiceField(
        required=False,
        choices=[("1h", "last hour"), ("6h", "last 6 hours"), ("24h", "last 24 hours")],
        label="Charts over",
    )


class EventFilterForm(ScopeForm):
    status = forms.ChoiceField(required=False, choices=[("", "any"), *Event.Status.choices], label="Status")
    field_order = ["status", *SCOPE_FIELDS]

    def __init__(self, *args, admin: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if admin:  # an admin sees every account's queued adds on asking (an operator's view of what failed)
            self.fields["accounts"] = forms.ChoiceField(
                required=False, choices=[("", "mine"), ("all", "every account")], label="Accounts"
            )

    def every_account(self) -> bool:
        return self.cleaned_data.get("accounts") == "all"


class PageForm(forms.Form):
    """A page of a list paged by number (?page=2), the first by default."""

    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)


class ProfileForm(forms.Form):
    name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(max_length=EMAIL_MAX_LENGTH)


class PasswordForm(forms.Form):
    current_password = forms.CharField(widget=forms.PasswordInput, label="Current password")
    new_password = forms.CharField(widget=forms.PasswordInput, min_length=8, label="New password")


class UserCreateForm(forms.Form):
    email = forms.EmailField(max_length=EMAIL_MAX_LENGTH)
    name = forms.CharField(max_length=150, required=False)
    password = forms.CharField(widget=forms.PasswordInput, min_length=8, help_text="8 characters or more.")
    role = forms.ChoiceField(choices=User.Role.choices, initial=User.Role.MEMBER)


class ResetPasswordForm(forms.Form):
    new_password = forms.CharField(widget=forms.PasswordInput, min_length=8, label="New password")


class ShownUrlField(forms.URLField):
    """A URL field whose initial value is shown with its credentials masked ("user:[redacted]@", which no URL
    parser reads): that value posted back as shown is kept as is, for the view to put the URL in force back."""

    shown = ""

    def clean(self, value):
        if self.shown and (value or "").strip() == self.shown:
            return self.shown
        return super().clean(value)


# The field of each setting that POST /configure's refusals name by its place in the configuration.
CONFIG_FIELDS = {
    "llm.provider": "llm_provider",
    "llm.config.model": "llm_model",
    "llm.config.openai_base_url": "llm_base_url",
    "llm.config.api_key": "llm_api_key",
    "llm.config.enable_vision": "llm_vision",
    "embedder.provider": "embedder_provider",
    "embedder.config.model": "embedder_model",
    "embedder.config.openai_base_url": "embedder_base_url",
    "embedder.config.embedding_dims": "embedder_dims",
}


class ModelConfigForm(forms.Form):
    """The LLM and embedder sections of POST /configure; a blank API key keeps the stored one, and a base URL
    left as shown (secrets masked) keeps the one in force (configuration.config_unmasked)."""

    llm_provider = forms.ChoiceField(choices=[(p, p) for p in LLM_PROVIDERS], label="LLM provider")
    llm_model = forms.CharField(max_length=200, required=False, label="LLM model")
    llm_base_url = ShownUrlField(required=False, label="LLM base URL", assume_scheme="https")
    # A refused form shows the key typed (never a stored one: no initial value): blank keeps the key in force, and a
    # key typed beside a refused value was lost, the Save of the mended form keeping the old key without a word.
    llm_api_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=True),
        label="LLM API key",
        help_text="Blank keeps the current key.",
    )
    llm_vision = forms.BooleanField(
        required=False,
        label="Describe images",
        help_text="The LLM describes the images messages carry, which are remembered by what they show (a model "
        "that reads images). Off: images are left out.",
    )
    embedder_provider = forms.ChoiceField(choices=[(p, p) for p in EMBEDDER_PROVIDERS], label="Embedder provider")
    embedder_model = forms.CharField(max_length=200, required=False, label="Embedder model")
    embedder_base_url = ShownUrlField(required=False, label="Embedder base URL", assume_scheme="https")
    embedder_dims = forms.IntegerField(required=False, min_value=1, label="Embedding dimensions")
    # The version of the configuration the page showed. The form sends every field, so a Save made from an older one
    # would put back, without a word, what another admin (another tab) changed since.
    config_version = forms.CharField(required=False, widget=forms.HiddenInput)

    URL_FIELDS = ("llm_base_url", "embedder_base_url")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.URL_FIELDS:
            self.fields[name].shown = self.initial.get(name) or ""

    def made_from(self) -> int | None:
        """The configuration version this form was filled in from, which its Save must find in force; ConfigChanged
        when another is, before any field is read (a base URL shown masked may stand for none in force). None for a
        form that does not say (a page served before it did): saved unchecked, as then."""
        shown = (self.data.get("config_version") or "").strip()
        if not shown:
            return None
        if shown != str(self.initial["config_version"]):
            raise ConfigChanged(f"The configuration was changed since version {shown} was read; nothing was saved.")
        return self.initial["config_version"]

    def changed_since(self, initial: dict) -> None:
        """Refused as made from a configuration changed since: the form keeps what it holds, now made from the one in
        force (`initial`, which the page shows), so that its next Save replaces that knowingly. A base URL left as shown
        (masked) shows the one in force: the URL it stood for is gone, and a Save of it would be refused."""
        self.initial = initial
        self.data = self.data.copy()
        self.data["config_version"] = str(initial["config_version"])
        for name in self.URL_FIELDS:
            self.fields[name].shown = initial.get(name) or ""
            if REDACTED in self.data.get(name, ""):
                self.data[name] = self.fields[name].shown
        self.full_clean()  # what it now holds
        self.add_error(
            None,
            "The configuration was changed since this page was opened (another admin, another tab): nothing was "
            "saved. The configuration in force now is shown; this form keeps what you gave, and saving it again "
            "replaces the one in force with it.",
        )

    def add_refusal(self, sentence: str) -> None:
        """A refusal of the configuration this form would save ("llm.config.api_key: required for provider openai",
        as POST /configure's 400 says it), beside the field of the setting it names; above the form for another."""
        named = re.search(r"\b((?:llm|embedder)\.[a-z_.]+): ", sentence)
        self.add_error(CONFIG_FIELDS.get(named.group(1)) if named else None, sentence)

    def changes(self) -> dict:
        """The configuration sections this form sets, in Mem0's shape."""
        data = self.cleaned_data
        llm = {"model": data["llm_model"], "openai_base_url": data["llm_base_url"], "api_key": data["llm_api_key"]}
        embedder = {
            "model": data["embedder_model"],
            "openai_base_url": data["embedder_base_url"],
            "embedding_dims": data["embedder_dims"],
        }
        llm = {k: v for k, v in llm.items() if v}
        if data["llm_vision"] or self.initial.get("llm_vision"):  # else the default (LLM_VISION) stays in force
            llm["enable_vision"] = data["llm_vision"]
        return {
            "llm": {"provider": data["llm_provider"], "config": llm},
            "embedder": {"provider": data["embedder_provider"], "config": {k: v for k, v in embedder.items() if v}},
        }


def model_config_initial(config: dict) -> dict:
    """The form's initial values from a (redacted) configuration."""
    llm = config.get("llm") or {}
    embedder = config.get("embedder") or {}
    llm_config, embedder_config = llm.get("config") or {}, embedder.get("config") or {}
    return {
        "llm_provider": llm.get("provider"),
        "llm_model": llm_config.get("model", ""),
        "llm_base_url": llm_config.get("openai_base_url", ""),
        "llm_vision": vision_enabled(llm_config),
        "embedder_provider": embedder.get("provider"),
        "embedder_model": embedder_config.get("model", ""),
        "embedder_base_url": embedder_config.get("openai_base_url", ""),
        "embedder_dims": embedder_config.get("embedding_dims"),
        "config_version": config["config_version"],
    }


class ExportForm(ScopeForm):
    schema = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="JSON Schema (optional)",
        help_text="With a schema and an LLM configured, the LLM fills it in from the memories; "
        "without, the export is the memories as JSON.",
    )
    export_instructions = TextareaField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=20000, label="Instructions for the LLM"
    )
    field_order = [*SCOPE_FIELDS, "schema", "export_instructions"]

    def clean_schema(self):
        return _json_object(self.cleaned_data["schema"], "The schema")


class ImportForm(forms.Form):
    file = forms.FileField(
        label="File",
        help_text="export_memories' or export_from_mem0's JSON lines, or an export's JSON (the Exports page's "
        "download).",
    )

    def clean_file(self):
        """The file's text (UTF-8)."""
        upload = self.cleaned_data["file"]
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(f"The file is not UTF-8 text (byte {exc.start} is not).") from None


class ProfileSettingsForm(forms.Form):
    enabled = forms.BooleanField(required=False, label="Profiles on")
    schema = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        label="Profile schema (JSON Schema)",
        help_text='An object whose every property has a description, e.g. {"type": "object", "properties": '
        '{"city": {"type": ["string", "null"], "description": "Where the user lives now."}}}',
    )
    custom_instructions = TextareaField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=20000, label="Instructions for the LLM"
    )

    def clean_schema(self):
        return _json_object(self.cleaned_data["schema"], "The schema")


class ProfileGenerateForm(forms.Form):
    user_id = ScopeIdFormField("user_id", label="User id")
