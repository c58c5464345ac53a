"""`rag eval`: run configurations over a gold set and score answers, citations, abstention, retrieval, speed."""

from __future__ import annotations

import math
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals import metrics
from evals.dataset import GoldItem, fast_subset, load_dataset
from evals.kits import Kit, load_kit
from rag.cite import split_claims
from rag.errors import RagError
from rag.settings import Settings
from rag.types import Answer, Hit

if TYPE_CHECKING:
    from evals.baseline import StarterBaseline
    from rag.pipeline import Pipeline

CONFIGS = ("ours", "dense", "bm25", "extractive", "baseline")
RETRIEVAL_DEPTH = 10
# The CI gate on the gold fast subset (30 questions, 20 answerable) with the real models, measured
# after the seed-tuned rules were replaced by the reader and the fitted abstention model: accuracy
# 0.80, correct abstention 0.70, false abstention 0.00, citation hit 0.95. Each gate sits two
# questions below what was measured (the rules this replaced scored 0.95 / 0.80 here: the seeds fell).
# Measured at 808c3ce (passages read alone, out-of-fold thresholds): 0.85 / 0.70 / 0.00 / 0.95.
THRESHOLDS = {
    "accuracy": (">=", 0.70),
    "correct_abstention": (">=", 0.50),
    "false_abstention": ("<=", 0.10),
    "citation_hit": (">=", 0.85),
}
# The CI gate on a fixed 40-question subset of mixed_dev's reported part (22 answerable, 18 not).
# Measured with the real models: accuracy 0.636, correct abstention 0.611, false abstention 0.136;
# each gate sits two questions below. At 808c3ce (out-of-fold thresholds, which trade correct for
# false abstention): 0.636 / 0.500 / 0.136, so correct abstention now sits at its gate.
KIT_THRESHOLDS = {
    "accuracy": (">=", 0.54),
    "correct_abstention": (">=", 0.50),
    "false_abstention": ("<=", 0.23),
}
_MARKER = re.compile(r"\[(\d+)\]")
_ATTRIBUTION = re.compile(r"^The [^“\"]{0,80}reports: ")


@dataclass
class Runner:
    """One configuration: how it answers and how it retrieves (for retrieval metrics)."""

    name: str
    answer: Callable[[GoldItem], Answer]
    search: Callable[[str, int], list[Hit]]
    compare: Callable[[GoldItem], Answer] | None = None


def build_runners(settings: Settings, names: list[str]) -> list[Runner]:
    """The requested configurations, sharing one embedder and one generator."""
    from index.embed import make_embedder
    from rag.llm import FakeGenerator, make_generator
    from rag.pipeline import Pipeline

    embedder = make_embedder(settings)
    generator = make_generator(settings)
    runners = []
    for name in names:
        if name == "baseline":
            from evals.baseline import StarterBaseline

            pipe = Pipeline(settings, embedder, generator)
            base = StarterBaseline(pipe.retriever().snapshot, embedder, generator, settings.llm_max_tokens)
            runners.append(Runner(name, partial(_baseline_answer, base), base.search))
            continue
        if name not in CONFIGS:
            raise RagError(f"unknown configuration {name!r}; choose from {', '.join(CONFIGS)}")
        mode = {"dense": "dense", "bm25": "bm25"}.get(name, "hybrid")
        gen = FakeGenerator() if name == "extractive" else generator
        pipe = Pipeline(settings.replace(retrieval=mode), embedder, gen)
        runners.append(
            Runner(
                name,
                partial(_answer, pipe, False),
                partial(_search, pipe, mode),
                partial(_answer, pipe, True) if name in ("ours", "extractive") else None,
            )
        )
    return runners


def _answer(pipeline: Pipeline, compare: bool, item: GoldItem) -> Answer:
    return pipeline.ask(item.question, id=item.id, compare=compare)


def _search(pipeline: Pipeline, mode: str, question: str, k: int) -> list[Hit]:
    return pipeline.retriever().search(question, k, mode)


def _baseline_answer(baseline: StarterBaseline, item: GoldItem) -> Answer:
    return baseline.ask(item.question, item.id)


def predicted_relation(answer: Answer) -> str | None:
    """How compare mode says the articles relate: conflict, agree, or only:<doc_id>."""
    c = answer.comparison
    if c is None or answer.abstained:
        return None
    if c.conflicts:
        return "conflict"
    if c.agree:
        return "agree"
    reporting = [s.doc_id for s in c.sides if s.evidence]
    return f"only:{reporting[0]}" if len(reporting) == 1 else ("agree" if reporting else None)


def support_correct(item: GoldItem, answer: Answer) -> bool | None:
    """Does the answer attribute its first cited fact to the right articles (both, or only one)?"""
    if not item.relation or item.relation == "conflict" or answer.abstained or not answer.support:
        return None
    docs = set(answer.support[0].doc_ids)
    if item.relation == "agree":
        return len(docs) >= 2
    return docs == {item.relation.split(":", 1)[1]}


def score(item: GoldItem, answer: Answer, retrieved: list[Hit]) -> dict[str, Any]:
    """Every per-question metric for one answer."""
    correct = (not answer.abstained) and metrics.key_groups_correct(answer.text, item.answer_keys)
    row: dict[str, Any] = {
        "id": item.id,
        "type": item.type,
        "question": item.question,
        "answerable": item.answerable,
        "answer": answer.text,
        "abstained": answer.abstained,
        "mode": answer.mode,
        "correct": correct if item.answerable else answer.abstained,
        "crag": metrics.crag_score_for(item.answerable, correct, answer.abstained),
        "em": metrics.exact_match(answer.text, item.reference),
        "f1": metrics.token_f1(answer.text, item.reference),
        "timings_ms": answer.timings_ms,
        "citations": [c.to_json() for c in answer.citations],
    }
    row["support_correct"] = support_correct(item, answer)
    short = answer.short_answer.text if answer.short_answer is not None and not answer.abstained else ""
    row["short_answer"] = short or None
    row["margin"] = answer.signals.get("reader_margin")
    row["p_answerable"] = answer.signals.get("p_answerable")
    if item.answerable:
        row["short_em"] = metrics.exact_match(short, item.reference) if short else 0.0
        row["short_f1"] = metrics.token_f1(short, item.reference) if short else 0.0
        row["short_keys"] = bool(short) and metrics.key_groups_correct(short, item.answer_keys)
        # A wrong short answer above a quote that is right: the case where only the quote should show.
        row["short_wrong_quote_right"] = bool(short) and correct and not row["short_keys"]
    markers = [int(m) for m in _MARKER.findall(answer.text)]
    row["citation_validity"] = metrics.citation_validity(markers, len(answer.citations))
    if item.answerable:
        row.update(metrics.retrieval_metrics([h.passage.text for h in retrieved], item.evidence))
        cited = [c.text for c in answer.citations]
        row["citation_hit"] = metrics.citation_hit(cited, item.evidence) if not answer.abstained else None
        statements = _statements(answer)
        if statements and not answer.abstained:
            recall, precision = metrics.citation_recall_precision(statements)
            row["citation_recall"], row["citation_precision"] = recall, precision
    return row


def _statements(answer: Answer) -> list[tuple[str, list[str]]]:
    by_n = {c.n: c.text for c in answer.citations}
    # "The April 7, 2025 article reports: “…”": the claim is the quote; the attribution is
    # checked by the citation's article, not by the passage text.
    return [
        (_ATTRIBUTION.sub("", claim.text), [by_n[n] for n in claim.cited])
        for claim in split_claims(answer.text, len(answer.citations))
    ]


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Headline numbers of one configuration, with bootstrap 95% intervals on the main ones."""
    answerable = [r for r in rows if r["answerable"]]
    answered = [r for r in answerable if not r["abstained"]]

    def mean(values: list[float | None]) -> float:
        kept = [float(v) for v in values if v is not None and not math.isnan(v)]
        return sum(kept) / len(kept) if kept else float("nan")

    s: dict[str, Any] = {
        "n": len(rows),
        "accuracy": mean([float(r["correct"]) for r in answerable]),
        "em": mean([r["em"] for r in answerable]),
        "f1": mean([r["f1"] for r in answerable]),
        "crag": mean([float(r["crag"]) for r in rows]),
        **metrics.abstention_rates([r["answerable"] for r in rows], [r["abstained"] for r in rows]),
        "citation_validity": mean([r["citation_validity"] for r in rows]),
        "citation_hit": mean([float(r["citation_hit"]) for r in answered if r.get("citation_hit") is not None]),
        "citation_recall": mean([r.get("citation_recall") for r in answered]),
        "citation_precision": mean([r.get("citation_precision") for r in answered]),
        "support_attribution": mean(
            [float(r["support_correct"]) for r in rows if r.get("support_correct") is not None]
        ),
        "compare_relation": mean([float(r["relation_correct"]) for r in rows if r.get("relation_correct") is not None]),
        "short_em": mean([r.get("short_em") for r in answerable]),
        "short_f1": mean([r.get("short_f1") for r in answerable]),
        "short_share": mean([float(r.get("short_answer") is not None) for r in answerable]),
        "short_keys": mean([float(r.get("short_keys", False)) for r in answerable]),
        "short_wrong": mean([float(r.get("short_wrong_quote_right", False)) for r in rows]),
        "reader_auc": metrics.auc([r["margin"] for r in rows], [r["answerable"] for r in rows]),
        "abstain_auc": metrics.auc([r["p_answerable"] for r in rows], [r["answerable"] for r in rows]),
    }
    for key in ("hit@1", "hit@3", "hit@5", "hit@10", "recall@5", "recall@10", "mrr", "ndcg@5", "ndcg@10"):
        s[key] = mean([r.get(key) for r in answerable])
    for stage in ("retrieve", "evidence", "read", "generate", "total", "first_token"):
        values = [r["timings_ms"][stage] for r in rows if stage in r["timings_ms"] and not r["abstained"]]
        lat = metrics.latency_summary(values)
        s[f"{stage}_p50_ms"], s[f"{stage}_p95_ms"] = lat["p50"], lat["p95"]
    for key, values in (
        ("accuracy", [float(r["correct"]) for r in answerable]),
        ("crag", [float(r["crag"]) for r in rows]),
    ):
        _, low, high = metrics.bootstrap_ci(values)
        s[f"{key}_ci"] = [low, high]
    by_type: dict[str, list[float]] = {}
    for r in rows:
        by_type.setdefault(r["type"], []).append(float(r["correct"]))
    s["by_type"] = {t: sum(v) / len(v) for t, v in sorted(by_type.items())}
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(str(r["id"]).rsplit("-", 1)[0] if "-" in str(r["id"]) else "", []).append(r)
    if len(groups) > 1:  # a mixed archive: each kit's figures beside its own-archive run
        s["by_kit"] = {
            kit: {
                "accuracy": mean([float(r["correct"]) for r in group if r["answerable"]]),
                **metrics.abstention_rates([r["answerable"] for r in group], [r["abstained"] for r in group]),
                "short_f1": mean([r.get("short_f1") for r in group if r["answerable"]]),
            }
            for kit, group in sorted(groups.items())
        }
    return s


def run(settings: Settings, items: list[GoldItem], names: list[str], progress: bool = True) -> dict[str, Any]:
    """Answer every item with every configuration; return rows and summaries."""
    from tqdm import tqdm

    results: dict[str, Any] = {"configs": {}, "n_questions": len(items)}
    for runner in build_runners(settings, names):
        rows = []
        for item in tqdm(items, desc=runner.name, disable=not progress, file=sys.stderr):
            answer = runner.answer(item)
            retrieved = runner.search(item.question, RETRIEVAL_DEPTH) if item.answerable else []
            row = score(item, answer, retrieved)
            if runner.compare is not None and item.type == "comparison" and item.relation:
                row["relation_predicted"] = predicted_relation(runner.compare(item))
                row["relation_correct"] = row["relation_predicted"] == item.relation
            rows.append(row)
        results["configs"][runner.name] = {"summary": summarize(rows), "rows": rows}
    return results


def check_thresholds(summary: dict[str, Any], thresholds: dict[str, tuple[str, float]] | None = None) -> list[str]:
    """Headline metrics that miss their CI threshold, as one line each."""
    failures = []
    for key, (op, limit) in (thresholds or THRESHOLDS).items():
        value = summary[key]
        ok = value >= limit if op == ">=" else value <= limit
        if math.isnan(value) or not ok:
            failures.append(f"{key} = {value:.3f}, needs {op} {limit}")
    return failures


def kit_settings(settings: Settings, kit: Kit, out: Path) -> Settings:
    """Settings for a scratch index of the kit's articles alone (not the seeds), kept under the
    results folder so a second run embeds nothing."""
    return settings.replace(data_dir=out / "kit-index" / kit.name, seeds_dir=kit.articles, seeds="on")


def prepare_kit(settings: Settings, kit: Kit, out: Path) -> Settings:
    """Build (or bring up to date) the kit's scratch index; the settings that serve it."""
    from index.build import build_index
    from index.embed import make_embedder

    kit_set = kit_settings(settings, kit, out)
    build_index(kit_set, make_embedder(kit_set))
    return kit_set


def main(
    settings: Settings,
    dataset: Path | None,
    names: list[str],
    limit: int | None,
    subset: str,
    out: Path,
    check: bool,
    kit_dir: Path | None = None,
    part: str = "report",
) -> int:
    """The `rag eval` command: run, print the table, write JSON, Markdown and plots."""
    from evals.report import print_table, write_outputs

    if kit_dir is not None:
        kit = load_kit(kit_dir)
        settings = prepare_kit(settings, kit, out)
        items = kit.part(part)
        dataset = kit_dir / "questions.jsonl"
    else:
        items = load_dataset(dataset)
    if subset == "fast":
        items = fast_subset(items)
    if limit:
        items = items[:limit]
    names = names or list(CONFIGS)
    started = time.perf_counter()
    results = run(settings, items, names)
    results["seconds"] = time.perf_counter() - started
    results["dataset"] = str(dataset or "evals/gold.jsonl") + (f" ({part} part)" if kit_dir is not None else "")
    results["llm"] = settings.llm
    print_table(results)
    paths = write_outputs(results, out)
    print("wrote " + ", ".join(str(p) for p in paths))
    if check:
        failures = check_thresholds(results["configs"][names[0]]["summary"])
        for line in failures:
            print(f"below threshold ({names[0]}): {line}", file=sys.stderr)
        return 1 if failures else 0
    return 0
