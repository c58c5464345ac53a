"""Fit the abstention model: a logistic regression over the pipeline's signals (`rag.abstain`),
on the tuning parts of the kits plus the seed gold set, with one threshold chosen for false
abstention <= TARGET_FALSE_ABSTENTION on that data.

    python -m evals.fit_abstain --collect     # answer the tuning questions, write the feature table
    python -m evals.fit_abstain               # fit rag/models/abstain.json from the table

The feature table (`evals/abstain_features.jsonl`: question id, kit, label, features; no article
text) is committed beside the parameters, so the fit is repeatable without the models: a test
refits it and checks the committed parameters come out.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from evals.kits import DEFAULT_ROOT, load_kit
from rag.abstain import FEATURES, AbstentionModel, model_path
from rag.settings import PROJECT_ROOT, Settings

TABLE = Path(__file__).with_name("abstain_features.jsonl")
KITS = ("news_dev", "squad2_dev", "mixed_dev")
TARGET_FALSE_ABSTENTION = 0.05
TARGET_WRONG_SHORT = 0.05  # share of questions whose short answer is shown but wrong
C = 1.0  # inverse L2 strength of the logistic regression


def collect(root: Path, out: Path, table: Path) -> int:
    """Answer every tuning question (kits' tune parts and the seed gold set, the fake generator:
    the signals come before generation) and write one row of features per question."""
    from evals.dataset import load_dataset
    from evals.metrics import key_groups_correct
    from evals.run import prepare_kit
    from index.build import build_index
    from index.embed import make_embedder
    from rag.llm import FakeGenerator
    from rag.pipeline import Pipeline

    base = Settings.from_env(llm="fake")
    embedder = make_embedder(base)
    jobs: list[tuple[str, Settings, list[Any]]] = []
    for name in KITS:
        kit = load_kit(root / name)
        jobs.append((name, prepare_kit(base, kit, out), kit.part("tune")))
    seeds = base.replace(data_dir=out / "kit-index" / "seeds", seeds_dir=PROJECT_ROOT / "seeds")
    build_index(seeds, embedder)
    jobs.append(("seeds_gold", seeds, load_dataset()))
    rows = []
    for name, settings, items in jobs:
        pipe = Pipeline(settings, embedder, FakeGenerator())
        for item in items:
            answer = pipe.ask(item.question, id=item.id)
            if not answer.signals:
                continue  # metadata, spelling, refused: not decided by the model
            choices = pipe.read(answer.standalone_question, list(answer.contexts), pipe.retriever().snapshot)
            span = max(choices, key=lambda c: c.reading.margin).reading.text if choices else ""
            rows.append(
                {
                    "id": item.id,
                    "kit": name,
                    "answerable": item.answerable,
                    "features": {f: round(answer.signals[f], 6) for f in FEATURES},
                    # Whether the reader's best span alone satisfies the answer keys (answerable only).
                    "span_right": bool(item.answerable and span and key_groups_correct(span, item.answer_keys)),
                }
            )
        print(f"{name}: {len(items)} questions", file=sys.stderr)
    table.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return len(rows)


def fit(table: Path) -> AbstentionModel:
    """The logistic model and its threshold, from the feature table (deterministic)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rows = [json.loads(line) for line in table.read_text(encoding="utf-8").splitlines() if line.strip()]
    x = np.array([[r["features"][f] for f in FEATURES] for r in rows], dtype=float)
    y = np.array([int(r["answerable"]) for r in rows])
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=C, max_iter=1000).fit(scaler.transform(x), y)
    p = model.predict_proba(scaler.transform(x))[:, 1]
    answerable = np.sort(p[y == 1])
    # The highest threshold that abstains on at most the target share of answerable questions.
    k = int(np.floor(TARGET_FALSE_ABSTENTION * len(answerable)))
    threshold = float(answerable[k]) - 1e-6 if len(answerable) else 0.5
    false_abst = float(np.mean(p[y == 1] < threshold))
    correct_abst = float(np.mean(p[y == 0] < threshold)) if (y == 0).any() else float("nan")
    # The lowest reader margin from which shown short answers are wrong on at most the target share
    # of all questions (among the questions the model answers).
    margins = x[:, FEATURES.index("reader_margin")]
    answered = p >= threshold
    short_margin = float(margins.max()) + 1.0
    for m in sorted(set(margins.tolist())):
        shown = answered & (margins >= m)
        wrong = sum(1 for i in np.flatnonzero(shown) if not rows[i].get("span_right", False))
        if wrong / len(rows) <= TARGET_WRONG_SHORT:
            short_margin = m
            break
    shown = answered & (margins >= short_margin) & (y == 1)
    right = sum(1 for i in np.flatnonzero(shown) if rows[i].get("span_right", False))
    kits = sorted({r["kit"] for r in rows})
    note = (
        f"Fitted by `python -m evals.fit_abstain` on {len(rows)} questions ({', '.join(kits)}: the tuning parts of "
        f"the kits and the seed gold set), {int(y.sum())} answerable. Logistic regression (C={C}) on standardized "
        f"features; threshold for false abstention <= {TARGET_FALSE_ABSTENTION} on that data: false abstention "
        f"{false_abst:.3f}, correct abstention {correct_abst:.3f}. Short answers shown from reader margin "
        f"{short_margin:.3f} (wrong short answers <= {TARGET_WRONG_SHORT} of questions): shown on "
        f"{int(shown.sum())} of {int(y.sum())} answerable, {right} of them satisfy the answer keys."
    )
    scale = [float(s) if s > 0 else 1.0 for s in scaler.scale_]
    return AbstentionModel(
        FEATURES,
        tuple(round(float(m), 8) for m in scaler.mean_),
        tuple(round(s, 8) for s in scale),
        tuple(round(float(c), 8) for c in model.coef_[0]),
        round(float(model.intercept_[0]), 8),
        round(threshold, 8),
        note,
        round(short_margin, 8),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collect", action="store_true", help="answer the tuning questions first")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="folder of the kits")
    parser.add_argument("--out", type=Path, default=Path("evals/results"), help="where kit indexes are kept")
    parser.add_argument("--table", type=Path, default=TABLE)
    parser.add_argument("--model", type=Path, default=model_path())
    args = parser.parse_args(argv)
    if args.collect:
        print(f"{collect(args.root, args.out, args.table)} rows -> {args.table}", file=sys.stderr)
    model = fit(args.table)
    args.model.write_text(json.dumps(model.to_json(), indent=1) + "\n", encoding="utf-8")
    print(model.note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
