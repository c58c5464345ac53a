"""Eval output: a terminal table, a JSON file, a Markdown report and PNG plots."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

COLUMNS = [
    ("accuracy", "acc"),
    ("f1", "F1"),
    ("crag", "CRAG"),
    ("correct_abstention", "abst✓"),
    ("false_abstention", "abst✗"),
    ("citation_hit", "cite hit"),
    ("citation_precision", "cite P"),
    ("citation_recall", "cite R"),
    ("short_f1", "short F1"),
    ("short_em", "short EM"),
    ("short_share", "short %"),
    ("short_keys", "short keys"),
    ("short_wrong", "short✗"),
    ("abstain_auc", "abst AUC"),
    ("support_attribution", "attrib"),
    ("compare_relation", "cmp rel"),
    ("hit@5", "hit@5"),
    ("mrr", "MRR"),
    ("ndcg@10", "nDCG@10"),
    ("retrieve_p50_ms", "retr p50"),
    ("total_p50_ms", "total p50"),
    ("total_p95_ms", "total p95"),
]


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.0f}" if abs(value) >= 10 else f"{value:.3f}"
    return str(value)


def table_rows(results: dict[str, Any]) -> list[list[str]]:
    """One row per configuration: name, then the COLUMNS."""
    return [[name] + [_fmt(cfg["summary"].get(key)) for key, _ in COLUMNS] for name, cfg in results["configs"].items()]


def print_table(results: dict[str, Any]) -> None:
    """The summary table on the terminal."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"rag eval: {results['n_questions']} questions")
    table.add_column("config")
    for _, label in COLUMNS:
        table.add_column(label, justify="right")
    for row in table_rows(results):
        table.add_row(*row)
    console = Console(width=max(Console().width, 160))
    console.print(table)
    types = sorted({t for cfg in results["configs"].values() for t in cfg["summary"]["by_type"]})
    by_type = Table(title="correct by question type")
    by_type.add_column("type")
    for name in results["configs"]:
        by_type.add_column(name, justify="right")
    for t in types:
        by_type.add_row(t, *[_fmt(cfg["summary"]["by_type"].get(t)) for cfg in results["configs"].values()])
    console.print(by_type)
    for name, cfg in results["configs"].items():
        for kit, figures in cfg["summary"].get("by_kit", {}).items():
            console.print(f"{name} / {kit}: " + ", ".join(f"{k} {_fmt(v)}" for k, v in figures.items()))


def markdown(results: dict[str, Any]) -> str:
    """The report as Markdown: headline table, intervals, accuracy by question type."""
    lines = [f"# Eval: {results['n_questions']} questions, generator `{results.get('llm')}`", ""]
    lines.append("| config | " + " | ".join(label for _, label in COLUMNS) + " |")
    lines.append("|---" * (len(COLUMNS) + 1) + "|")
    for row in table_rows(results):
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "95% bootstrap intervals:", ""]
    for name, cfg in results["configs"].items():
        s = cfg["summary"]
        lines.append(
            f"- {name}: accuracy {s['accuracy']:.3f} [{s['accuracy_ci'][0]:.3f}, {s['accuracy_ci'][1]:.3f}], "
            f"CRAG {s['crag']:.3f} [{s['crag_ci'][0]:.3f}, {s['crag_ci'][1]:.3f}]"
        )
    types = sorted({t for cfg in results["configs"].values() for t in cfg["summary"]["by_type"]})
    lines += ["", "Correct by question type:", "", "| type | " + " | ".join(results["configs"]) + " |"]
    lines.append("|---" * (len(results["configs"]) + 1) + "|")
    for t in types:
        cells = [_fmt(cfg["summary"]["by_type"].get(t)) for cfg in results["configs"].values()]
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_outputs(results: dict[str, Any], out: Path) -> list[Path]:
    """eval.json, eval.md, eval_accuracy.png and eval_latency.png in the results folder."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "eval.json", out / "eval.md"]
    paths[0].write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str))
    paths[1].write_text(markdown(results))
    paths += _plots(results, out)
    return paths


def _plots(results: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["configs"])
    summaries = [results["configs"][n]["summary"] for n in names]
    fig, ax = plt.subplots(figsize=(8, 4))
    keys = ["accuracy", "correct_abstention", "citation_hit", "hit@5"]
    width = 0.8 / len(keys)
    for i, key in enumerate(keys):
        values = [0 if math.isnan(s[key]) else s[key] for s in summaries]
        ax.bar([x + i * width for x in range(len(names))], values, width, label=key)
    ax.set_xticks([x + width * (len(keys) - 1) / 2 for x in range(len(names))], names)
    ax.set_ylim(0, 1.05)
    ax.set_title("Accuracy by configuration")
    ax.legend(fontsize=8)
    fig.tight_layout()
    acc = out / "eval_accuracy.png"
    fig.savefig(acc, dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 4))
    for i, stage in enumerate(("retrieve", "generate", "total")):
        p50 = [0 if math.isnan(s[f"{stage}_p50_ms"]) else s[f"{stage}_p50_ms"] for s in summaries]
        p95 = [0 if math.isnan(s[f"{stage}_p95_ms"]) else s[f"{stage}_p95_ms"] for s in summaries]
        xs = [x + i * 0.27 for x in range(len(names))]
        ax.bar(xs, p50, 0.27, label=f"{stage} p50")
        ax.scatter(xs, p95, marker="_", s=200, color="black")
    ax.set_xticks([x + 0.27 for x in range(len(names))], names)
    ax.set_ylabel("ms (bar p50, tick p95)")
    ax.set_title("Latency by configuration")
    ax.legend(fontsize=8)
    fig.tight_layout()
    lat = out / "eval_latency.png"
    fig.savefig(lat, dpi=100)
    plt.close(fig)
    return [acc, lat]
