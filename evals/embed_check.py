"""The int8 embedder against the torch one: vectors on the seed passages, and retrieval on the kits.

    python -m evals.embed_check ../shared/evalsets/news_dev ../shared/evalsets/squad2_dev

For each kit, both backends index the kit's articles (scratch indexes under --out) and retrieve for
every answerable question of the reported part; prints hit@k, recall@k, ndcg@k and MRR of dense and
hybrid retrieval side by side, and the seed passages' cosine between the two backends' vectors.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from evals import metrics
from evals.kits import load_kit
from index.build import build_index
from index.chunk import chunk_article
from index.embed import MiniLMEmbedder, OnnxMiniLMEmbedder
from index.parse import parse_file
from rag.settings import PROJECT_ROOT, Settings

KEYS = ("hit@5", "recall@5", "ndcg@5", "mrr")


def seed_cosines(settings: Settings, torch: MiniLMEmbedder, int8: OnnxMiniLMEmbedder) -> np.ndarray:
    """Cosine between the two backends' vectors of every seed passage."""
    texts = [
        p.text
        for f in sorted((PROJECT_ROOT / "seeds").glob("*.txt"))
        for p in chunk_article(parse_file(f), settings.chunk_size, settings.chunk_overlap)
    ]
    return (torch.embed(texts) * int8.embed(texts)).sum(1)


def kit_retrieval(settings: Settings, kit_dir: Path, out: Path, backends: dict) -> dict[str, dict[str, float]]:
    """Mean retrieval metrics per backend and mode over the kit's reported answerable questions."""
    from rag.pipeline import Pipeline

    kit = load_kit(kit_dir)
    items = [i for i in kit.part("report") if i.answerable and i.evidence]
    table: dict[str, dict[str, float]] = {}
    for name, (embedder_name, embedder) in backends.items():
        kit_set = settings.replace(
            data_dir=out / name / kit.name, seeds_dir=kit.articles, seeds="on", embedder=embedder_name
        )
        build_index(kit_set, embedder)
        retriever = Pipeline(kit_set, embedder).retriever()
        for mode in ("dense", "hybrid"):
            rows = [
                metrics.retrieval_metrics([h.passage.text for h in retriever.search(i.question, 5, mode)], i.evidence)
                for i in items
            ]
            table[f"{name} {mode}"] = {
                k: float(np.mean([r[k] for r in rows if not math.isnan(r[k])])) for k in KEYS
            } | {"n": float(len(rows))}
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kits", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=Path("evals/results/embed-check"))
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    torch, int8 = MiniLMEmbedder(), OnnxMiniLMEmbedder(settings.model_cache)
    cos = seed_cosines(settings, torch, int8)
    print(f"seed passages: {len(cos)}, cosine int8 vs torch min {cos.min():.4f} mean {cos.mean():.4f}")
    backends = {"torch": ("minilm-torch", torch), "int8": ("minilm", int8)}
    worst = 0.0
    for kit_dir in args.kits:
        table = kit_retrieval(settings, kit_dir, args.out, backends)
        print(f"\n{kit_dir.name} (reported part, answerable, n={int(table['torch dense']['n'])})")
        print(f"{'':14}" + "".join(f"{k:>10}" for k in KEYS))
        for name, row in table.items():
            print(f"{name:14}" + "".join(f"{row[k]:>10.3f}" for k in KEYS))
        for mode in ("dense", "hybrid"):
            worst = max(worst, *(table[f"torch {mode}"][k] - table[f"int8 {mode}"][k] for k in KEYS))
    print(f"\nlargest drop int8 vs torch: {worst:.3f} (target <= 0.01)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
