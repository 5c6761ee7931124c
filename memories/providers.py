"""What this server bundles: LLM and embedder providers (all spoken to over the OpenAI wire format).

Plain constants with no Django imports, so settings.py can check the environment against them.
"""

from __future__ import annotations

from dataclasses import dataclass

OPENAI_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Provider:
    # Where the OpenAI-compatible API lives when no openai_base_url is given (None: it must be given).
    base_url: str | None
    # Local servers need no key; hosted ones do.
    needs_api_key: bool
    # Model used when none is configured (None: it must be configured).
    default_model: str | None = None
    # Whether to ask for response_format={"type": "json_object"} first (a 400 about it turns it off anyway).
    json_mode: bool = True
    # Whether it serves /embeddings.
    embeddings: bool = True


LLM_PROVIDERS: dict[str, Provider] = {
    "openai": Provider(OPENAI_BASE_URL, needs_api_key=True, default_model="gpt-4.1-mini"),
    # Azure's v1 endpoint: https://<resource>.openai.azure.com/openai/v1/ ; the model is the deployment name.
    "azure_openai": Provider(None, needs_api_key=True),
    "anthropic": Provider("https://api.anthropic.com/v1/", needs_api_key=True, embeddings=False),
    "gemini": Provider("https://generativelanguage.googleapis.com/v1beta/openai/", needs_api_key=True),
    "ollama": Provider("http://localhost:11434/v1", needs_api_key=False),
    "vllm": Provider("http://localhost:8000/v1", needs_api_key=False),
    # LM Studio accepts only json_schema response formats, so it gets the tolerant parser instead.
    "lmstudio": Provider("http://localhost:1234/v1", needs_api_key=False, json_mode=False),
    "deepseek": Provider(
        "https://api.deepseek.com/v1", needs_api_key=True, default_model="deepseek-chat", embeddings=False
    ),
    "groq": Provider("https://api.groq.com/openai/v1", needs_api_key=True, embeddings=False),
    "together": Provider("https://api.together.xyz/v1", needs_api_key=True),
    "litellm": Provider("http://localhost:4000/v1", needs_api_key=False),
}

LOCAL_EMBEDDER_MODEL = "all-MiniLM-L6-v2"
LOCAL_EMBEDDER_DIMS = 384
EMBEDDER_PROVIDERS: tuple[str, ...] = ("local", *(name for name, p in LLM_PROVIDERS.items() if p.embeddings))
VECTOR_STORES: tuple[str, ...] = ("pgvector",)
RERANKERS: tuple[str, ...] = ()

# Dimensions of well-known embedding models, so embedding_dims can be left out for them.
KNOWN_EMBEDDING_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
    "nomic-embed-text": 768,
    "mxbai-embed-large": 1024,
    "all-minilm": 384,
}
# pgvector's HNSW index covers vectors of at most 2000 dimensions.
MAX_EMBEDDING_DIMS = 2000
DEFAULT_EMBEDDER_MODEL = "text-embedding-3-small"
