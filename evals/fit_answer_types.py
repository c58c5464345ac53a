"""Fit the answer-type model (`rag/models/answer_types.json`, read by `rag.answer_types`): which
kind of name a "which/what X" question asks for, from the MiniLM embedding of X.

    python -m evals.fit_answer_types            # ~1 min: spaCy over the paragraphs, then the fit

Data: every answerable "which/what X" question of the SQuAD 2.0 training data
(`../shared/evalsets/train/squad2_train.json`, disjoint from every kit) and of the kits' tuning
parts (news_dev, squad2_dev). Its label is the class of spaCy's entity label where the answer is
in its context (SQuAD: the paragraph at the answer's offset; kits: the evidence sentence at the
reference's first occurrence), "none" when the answer is no entity. Multinomial logistic
regression (scikit-learn, C below) on unit vectors of the head noun alone; the model keeps the
argmax class, so no threshold is chosen.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from evals.kits import DEFAULT_ROOT, load_kit
from rag.answer_types import EMBEDDER_FAMILY, AnswerTypes, class_of, model_path

C = 1.0
KITS = ("news_dev", "squad2_dev")


def examples(root: Path, limit: int = 0) -> list[tuple[str, str]]:
    """(head noun, class) for every usable question: training data first, then the kits' tuning parts."""
    from index.nlp import load, parse
    from rag.query import head_noun

    nlp = load()
    out: list[tuple[str, str]] = []

    def label(doc: Any, start: int, end: int) -> str:
        return class_of({e.label_ for e in doc.ents if e.start_char < end and start < e.end_char})

    data = json.loads((root / "train" / "squad2_train.json").read_text(encoding="utf-8"))["data"]
    for article in data:
        for para in article["paragraphs"]:
            doc = None  # the paragraph, parsed once for all its questions
            for qa in para["qas"]:
                if qa.get("is_impossible") or not qa.get("answers"):
                    continue
                head = head_noun(parse(qa["question"]))
                if head:
                    doc = doc if doc is not None else nlp(para["context"])
                    a = qa["answers"][0]
                    out.append((head, label(doc, a["answer_start"], a["answer_start"] + len(a["text"]))))
                if limit and len(out) >= limit:
                    return out
    for name in KITS:
        if not (root / name).is_dir():
            continue
        for item in load_kit(root / name).part("tune"):
            if not item.answerable or not item.evidence:
                continue
            head = head_noun(parse(item.question))
            sentence = " ".join(item.evidence)
            at = sentence.lower().find(item.reference.lower()) if item.reference else -1
            if head and at >= 0:
                out.append((head, label(nlp(sentence), at, at + len(item.reference))))
    return out


def fit(pairs: list[tuple[str, str]], embedder: object) -> AnswerTypes:
    """The model from (head noun, class) pairs, embedded with `embedder`."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    nouns = [n for n, _ in pairs]
    labels = [c for _, c in pairs]
    x = embedder.embed(nouns)  # type: ignore[attr-defined]
    model = LogisticRegression(C=C, max_iter=2000).fit(np.asarray(x), labels)
    counts = collections.Counter(labels)
    return AnswerTypes(
        tuple(str(c) for c in model.classes_),
        model.coef_.astype(np.float32),
        model.intercept_.astype(np.float32),
        f"Fitted by `python -m evals.fit_answer_types` on {len(pairs)} answerable which/what-X questions "
        f"({len(set(nouns))} head nouns) of squad2_train.json and the tuning parts of {', '.join(KITS)}; "
        f"classes from spaCy en_core_web_sm 3.8 entity labels of the answers: "
        + ", ".join(f"{c} {n}" for c, n in counts.most_common())
        + f". Multinomial logistic regression (C={C}) on {EMBEDDER_FAMILY} vectors of the head noun.",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="folder of the kits and train/")
    parser.add_argument("--out", type=Path, default=model_path())
    parser.add_argument("--limit", type=int, default=0, help="use only the first N training questions (tests)")
    args = parser.parse_args(argv)
    from index.embed import make_embedder
    from rag.settings import Settings

    embedder = make_embedder(Settings.from_env())
    pairs = examples(args.root, args.limit)
    model = fit(pairs, embedder)
    if args.limit:
        model = replace(model, note=model.note + f" (first {args.limit} training questions only)")
    args.out.write_text(json.dumps(model.to_json()) + "\n", encoding="utf-8")
    print(model.note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
