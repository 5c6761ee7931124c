"""Shapes of /configure: Mem0's memory config, checked strictly (unknown keys and unbundled providers are
named in a 400), and what GET answers."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from rest_framework import serializers

from mem0server.sealing import PREFIX as SEALED_PREFIX
from mem0server.serializers import KnownFieldsOnly, ObjectField, StrictCharField
from memories.providers import EMBEDDER_PROVIDERS, LLM_PROVIDERS, MAX_EMBEDDING_DIMS, VECTOR_STORES


class StrictSerializer(serializers.Serializer):
    """Names keys it does not know instead of silently dropping them, as DRF would."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = [key for key in data if key not in self.fields]
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


class BaseURLField(StrictCharField):
    """An http(s) base URL; host names without dots (docker service names, localhost) are fine."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("max_length", 2000)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data).strip()
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018  (parsed on access: a port out of range or not a number raises ValueError)
        except ValueError:  # also an unbalanced IPv6 bracket, e.g. http://[::1/v1
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise serializers.ValidationError("Must be an http:// or https:// URL, e.g. http://localhost:11434/v1.")
        return value


def _provider_field(kind: str, choices, *, why: str = "") -> serializers.ChoiceField:
    bundled = ", ".join(choices)
    return serializers.ChoiceField(
        choices=list(choices),
        required=False,
        error_messages={"invalid_choice": f'"{{input}}" is not a bundled {kind} provider{why}; bundled: {bundled}.'},
    )


class NotBundledField(StrictCharField):
    """A provider name for a section this server bundles nothing for: every name is refused."""

    def __init__(self, *, what: str, **kwargs):
        self.what = what
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        raise serializers.ValidationError(f'"{value}" is not bundled: this server has no {self.what}.')


# Mem0's provider-specific names for the base URL; all become openai_base_url.
_BASE_URL_ALIASES = ("ollama_base_url", "lmstudio_base_url", "vllm_base_url", "deepseek_base_url")


def _fold_base_url_aliases(attrs: dict) -> dict:
    for alias in _BASE_URL_ALIASES:
        value = attrs.pop(alias, None)
        if not value:
            continue
        if alias == "ollama_base_url" and not value.rstrip("/").endswith("/v1"):
            value = value.rstrip("/") + "/v1"  # Mem0's Ollama URL has no /v1; the OpenAI-compatible API does
        attrs.setdefault("openai_base_url", value)
    return attrs


def _alias() -> BaseURLField:
    return BaseURLField(
        write_only=True, help_text="Mem0's name for openai_base_url with that provider (Ollama's gets /v1 appended)."
    )


class APIKeyField(StrictCharField):
    """A provider key: printable ASCII only, as it travels in an HTTP header (a pasted "sk-…" placeholder with a
    real ellipsis was accepted, and every call then failed with a 502 that did not say why)."""

    def __init__(self, **kwargs):
        kwargs.update(required=False, allow_null=True, allow_blank=True, max_length=2000)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        bad = next((i for i, ch in enumerate(value) if not " " < ch < "\x7f"), None)
        if bad is not None:
            what = "a space" if value[bad].isspace() else f"{value[bad]!r} (U+{ord(value[bad]):04X})"
            raise serializers.ValidationError(
                f"Must be printable ASCII without spaces (it is sent in an HTTP header); character {bad + 1} is "
                f"{what}. Paste the key itself, not a placeholder."
            )
        if value.startswith(SEALED_PREFIX):
            raise serializers.ValidationError(
                "This is a key as the server stores it (sealed with its SECRET_KEY), not a key a provider takes. "
                "Paste the key itself."
            )
        return value


class _EndpointConfigSerializer(StrictSerializer):
    """What every OpenAI-compatible endpoint takes: a model, a key, and where it is (or Mem0's per-provider
    names for that address)."""

    model = StrictCharField(required=False, allow_null=True, max_length=200)
    api_key = APIKeyField()
    openai_base_url = BaseURLField(help_text="The OpenAI-compatible API, e.g. http://localhost:11434/v1 for Ollama.")
    timeout = serializers.FloatField(
        required=False, allow_null=True, min_value=0.01, max_value=600, help_text="Seconds per call; then 504."
    )
    ollama_base_url = _alias()
    lmstudio_base_url = _alias()
    vllm_base_url = _alias()
    deepseek_base_url = _alias()

    def validate(self, attrs):
        return _fold_base_url_aliases(attrs)


class LlmConfigSerializer(_EndpointConfigSerializer):
    temperature = serializers.FloatField(required=False, allow_null=True, min_value=0.0, max_value=2.0)
    max_tokens = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=1_000_000)
    top_p = serializers.FloatField(required=False, allow_null=True, min_value=0.0, max_value=1.0)
    json_mode = serializers.BooleanField(
        required=False, allow_null=True, help_text="Ask for JSON mode (default: yes, except LM Studio)."
    )
    enable_vision = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="Describe the images an add's messages carry with this model (one that reads images); off: "
        "images are left out. Default: LLM_VISION.",
    )
    vision_details = serializers.ChoiceField(
        choices=["auto", "low", "high"],
        required=False,
        allow_null=True,
        help_text="The image detail asked of the model (OpenAI's `detail`).",
    )


class LlmSerializer(StrictSerializer):
    provider = _provider_field("LLM", LLM_PROVIDERS)
    config = LlmConfigSerializer(required=False)


class EmbedderConfigSerializer(_EndpointConfigSerializer):
    embedding_dims = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_EMBEDDING_DIMS,
        help_text=f"Vector size; at most {MAX_EMBEDDING_DIMS} (pgvector's HNSW index limit).",
    )


class EmbedderSerializer(StrictSerializer):
    provider = _provider_field("embedder", EMBEDDER_PROVIDERS)
    config = EmbedderConfigSerializer(required=False)


class VectorStoreSerializer(StrictSerializer):
    provider = _provider_field(
        "vector store", VECTOR_STORES, why=" (memories live in this server's PostgreSQL with pgvector)"
    )
    config = ObjectField(
        required=False,
        allow_null=True,
        help_text="Accepted for Mem0 compatibility; only embedding_model_dims is checked (it must match the embedder).",
    )


class RerankerSerializer(StrictSerializer):
    provider = NotBundledField(what="reranker yet")
    config = ObjectField(required=False, allow_null=True)


class GraphStoreSerializer(StrictSerializer):
    provider = NotBundledField(what="graph store")
    config = ObjectField(required=False, allow_null=True)


class ConfigStatusSerializer(serializers.Serializer):
    inference_enabled = serializers.BooleanField()
    inference = serializers.CharField(help_text="Whether inference is on, with which model, or how to turn it on.")
    embedder = serializers.CharField()


_PROMPT_HELP = "Replaces our default instructions; the reply format is still appended."


class ConfigSerializer(StrictSerializer):
    """Mem0's memory config. POST deep-merges it into the current one; GET shows it with secrets redacted."""

    version = StrictCharField(required=False, max_length=20)
    llm = LlmSerializer(required=False, allow_null=True, help_text="null turns inference off.")
    embedder = EmbedderSerializer(required=False)
    vector_store = VectorStoreSerializer(required=False)
    reranker = RerankerSerializer(required=False, allow_null=True)
    graph_store = GraphStoreSerializer(required=False, allow_null=True)
    custom_fact_extraction_prompt = StrictCharField(
        required=False, allow_null=True, allow_blank=True, max_length=20_000, help_text=_PROMPT_HELP
    )
    custom_update_memory_prompt = StrictCharField(
        required=False, allow_null=True, allow_blank=True, max_length=20_000, help_text=_PROMPT_HELP
    )
    history_db_path = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=1000,
        help_text="Accepted for Mem0 compatibility and ignored: history lives in PostgreSQL.",
    )
    config_version = serializers.IntegerField(read_only=True, help_text="Grows with every POST /configure.")
    status = ConfigStatusSerializer(read_only=True)


class ProvidersSerializer(serializers.Serializer):
    llm = serializers.ListField(child=serializers.CharField())
    embedder = serializers.ListField(child=serializers.CharField())
    vector_store = serializers.ListField(child=serializers.CharField())
    reranker = serializers.ListField(child=serializers.CharField())


class GenerateInstructionsRequestSerializer(KnownFieldsOnly):
    route = "POST /generate-instructions"
    use_case = StrictCharField(max_length=2000, help_text="What the memory is for, in the operator's words.")


class GenerateInstructionsResponseSerializer(serializers.Serializer):
    custom_instructions = serializers.CharField(
        help_text="Instructions for the fact extractor (e.g. for custom_fact_extraction_prompt)."
    )
    test_message = serializers.CharField(help_text="A sentence to try an add with.")
