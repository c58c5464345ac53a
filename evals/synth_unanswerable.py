"""Synthetic unanswerable questions for the reader's no-answer training: answerable SQuAD
questions edited the way SQuAD 2.0's writers made their trick questions (Rajpurkar et al. 2018
list entity swaps, changed numbers and negation among the commonest), so that the edited
question still shares its words and names with the paragraph but the paragraph no longer
answers it (Zhu et al. 2019 train readers on generated unanswerables of this kind).

Three edits, each applied only where it leaves a question the paragraph cannot answer:

- a **name swapped** for another name of the same spaCy type taken from another paragraph of the
  same article (most often; some from other articles) and found nowhere in this paragraph:
  "Who ruled Sicily after Roger?" -> "Who ruled Sicily after Tancred?";
- a **number changed** to one the paragraph never writes: "in the 1050s" -> "in the 1070s",
  "the 10th century" -> "the 12th century";
- a **negation** after the question's first auxiliary: "When did the Normans conquer Sicily?" ->
  "When did the Normans not conquer Sicily?".

The output is a SQuAD 2.0 file of those questions alone (`is_impossible`, with the original
answer as SQuAD's `plausible_answers`, where `train_reader` centres the window, as it does for
SQuAD's own trick questions), to be trained on beside the SQuAD file:

    python -m evals.synth_unanswerable ../shared/evalsets/train/squad2_train.json build/unans.json
    python -m evals.train_reader --init build/rs1 --data ../shared/evalsets/train/squad2_train.json \
        build/unans.json --out build/ru2 --epochs 2

Deterministic for a given input, seed and spaCy model.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

from evals.synth_questions import write

SWAP_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC", "EVENT", "WORK_OF_ART", "LAW", "PRODUCT"})
NUMBER_LABELS = frozenset({"DATE", "TIME", "CARDINAL", "ORDINAL", "PERCENT", "MONEY", "QUANTITY"})
_AUX = frozenset({"do", "does", "did", "is", "are", "was", "were", "can", "could", "has", "have", "had", "will"})
_DIGITS = re.compile(r"\d+")
# spaCy's small model labels one place GPE, LOC or FAC by its sentence: for a swap they are one type.
_PLACES = frozenset({"GPE", "LOC", "FAC"})


def _kind(label: str) -> str:
    return "place" if label in _PLACES else label


def _ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def _absent(text: str, paragraph: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(text)}(?!\w)", paragraph, re.I) is None


def swap_name(doc: Any, paragraph: str, names: list[tuple[str, str]], rng: random.Random) -> str | None:
    """The question with one of its names (one the paragraph uses) replaced by another name of the
    same type from `names` ((text, label), nearest text first) that the paragraph never uses."""
    ents = [e for e in doc.ents if e.label_ in SWAP_LABELS and not _absent(e.text, paragraph)]
    rng.shuffle(ents)
    for ent in ents:
        pool = [n for n, label in names if _kind(label) == _kind(ent.label_) and n.lower() != ent.text.lower()]
        pool = [n for n in pool if _absent(n, paragraph) and n.lower() not in doc.text.lower()]
        if pool:
            other = pool[min(len(pool) - 1, int(rng.random() ** 2 * len(pool)))]  # nearer names likelier
            before = doc.text[: ent.start_char]
            if re.search(r"\bthe\s$", before, re.I):  # "in the" + "the Fogg Museum": one "the"
                other = re.sub(r"^the\s+", "", other, flags=re.I)
            return before + other + doc.text[ent.end_char :]
    return None


def change_number(doc: Any, paragraph: str, rng: random.Random) -> str | None:
    """The question with a number of one of its numeric names changed to a value the paragraph never
    writes (a year by a few years or a decade, a small count by one or two)."""
    ents = [e for e in doc.ents if e.label_ in NUMBER_LABELS and _DIGITS.search(e.text)]
    rng.shuffle(ents)
    for ent in ents:
        m = _DIGITS.search(ent.text)
        assert m is not None
        value = int(m.group())
        # A decade ("the 1950s") moves by decades, a year by a decade or a few years, a count by one or two.
        steps = (
            [10, 20, -10, -20]
            if value >= 100 and value % 10 == 0
            else [10, -10, 3, -3]
            if value >= 100
            else [1, 2, -1, 3]
        )
        rng.shuffle(steps)
        for step in steps:
            new = value + step
            if new <= 0:
                continue
            rest = ent.text[m.end() :]
            if re.match(r"(st|nd|rd|th)\b", rest):  # "the 10th century" -> "the 12th", "the 21st"
                rest = _ordinal(new) + rest[2:]
            text = ent.text[: m.start()] + str(new) + rest
            # Absent as a number, suffix or not: "1070" is in "the 1070s", "12" in "the 12th".
            if re.search(rf"(?<!\d){new}(?!\d)", paragraph) is None:
                return doc.text[: ent.start_char] + text + doc.text[ent.end_char :]
    return None


def negate(doc: Any) -> str | None:
    """The question with "not" after its first auxiliary ("When did X happen?" -> "When did X not
    happen?": after the subject when the auxiliary opens the clause, as English puts it)."""
    tokens = list(doc)
    if any(t.dep_ == "neg" for t in tokens):
        return None
    for i, t in enumerate(tokens[:4]):
        if t.lower_ not in _AUX or t.pos_ not in ("AUX", "VERB"):
            continue
        verb = t.head if t.dep_ in ("aux", "auxpass") else None
        if verb is not None and verb.i > i:
            # "When did the Normans conquer Sicily?": the "not" goes before the main verb.
            at = verb.idx
            return doc.text[:at] + "not " + doc.text[at:]
        return None
    return None


def edit(doc: Any, paragraph: str, names: list[tuple[str, str]], rng: random.Random) -> tuple[str, str] | None:
    """One edit of an answerable question, the kinds tried in a random order."""
    kinds = ["swap", "number", "negation"]
    rng.shuffle(kinds)
    for kind in kinds:
        if kind == "swap":
            out = swap_name(doc, paragraph, names, rng)
        elif kind == "number":
            out = change_number(doc, paragraph, rng)
        else:
            out = negate(doc)
        if out and out != doc.text:
            return out, kind
    return None


def build(source: Path, share: float = 0.5, seed: int = 13) -> dict[str, Any]:
    """A SQuAD 2.0 file of trick questions made from `share` of `source`'s answerable questions."""
    from index.nlp import load

    nlp = load()
    rng = random.Random(seed)
    data = json.loads(source.read_text(encoding="utf-8"))
    # Every name of every paragraph, by article and paragraph, for the swaps.
    names: dict[tuple[int, int], list[tuple[str, str]]] = {}
    for ai, article in enumerate(data["data"]):
        for pi, para in enumerate(article["paragraphs"]):
            doc = nlp(para["context"])
            names[(ai, pi)] = list(dict.fromkeys((e.text, e.label_) for e in doc.ents if e.label_ in SWAP_LABELS))
    articles, counts = [], {"swap": 0, "number": 0, "negation": 0}
    for ai, article in enumerate(data["data"]):
        paragraphs = []
        for pi, para in enumerate(article["paragraphs"]):
            near = [n for (a, p), ns in names.items() if a == ai and p != pi for n in ns]
            far = [n for (a, _), ns in names.items() if a != ai for n in ns]
            rng.shuffle(far)
            qas = []
            for qa in para["qas"]:
                if qa.get("is_impossible") or not qa.get("answers") or rng.random() >= share:
                    continue
                made = edit(nlp(qa["question"].strip()), para["context"], near + far[:200], rng)
                if made is None:
                    continue
                question, kind = made
                counts[kind] += 1
                ans = qa["answers"][0]
                qas.append(
                    {
                        "id": f"{qa['id']}-{kind}",
                        "question": question,
                        "answers": [],
                        "plausible_answers": [{"text": ans["text"], "answer_start": ans["answer_start"]}],
                        "is_impossible": True,
                    }
                )
            paragraphs.append({"context": para["context"], "qas": qas})
        articles.append({"title": article.get("title", ""), "paragraphs": paragraphs})
    total = sum(counts.values())
    note = (
        f"{total} synthetic unanswerable questions (evals/synth_unanswerable.py, seed {seed}, share {share}: "
        f"{counts['swap']} name swaps, {counts['number']} changed numbers, {counts['negation']} negations) "
        f"made from the answerable questions of {source.name}"
    )
    return {"version": "synthetic-unanswerable", "note": note, "data": articles}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="a SQuAD 2.0 file whose answerable questions are edited")
    parser.add_argument("out", type=Path)
    parser.add_argument("--share", type=float, default=0.5, help="share of the answerable questions edited")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    return write(build(args.source, args.share, args.seed), args.out)


if __name__ == "__main__":
    sys.exit(main())
