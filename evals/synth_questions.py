"""Synthetic reading questions from plain paragraphs, to pretrain the reader before its SQuAD
fine-tuning (cloze pretraining, Dhingra et al. 2018; "identity mapping" with noise, Lewis et al.
2019, "Unsupervised Question Answering by Cloze Translation").

Each question is made from one sentence and one answer in it: a name spaCy finds (its type gives
the question word: a person "Who", a place "Where", a date "When", a count "How many") or a noun
phrase ("What"). The question is the question word followed by the words around the answer in
its sentence, with the answer taken out, a tenth of the words dropped and the rest shuffled
within three places, so that a question never copies its sentence word for word:

    "The bridge was opened in 1932 by the city's mayor."  (answer: 1932)
    -> for instance "When bridge was opened in by city's the mayor?"

The output is a SQuAD 2.0 file (every question answerable; `train_reader` pairs a share of them
with another paragraph of the same article as no-answer examples), so the reader trains on it
like on SQuAD:

    python -m evals.synth_questions ../shared/evalsets/train/squad2_train.json build/synth.json
    python -m evals.train_reader --data build/synth.json --out build/reader-synth --epochs 1
    python -m evals.train_reader --init build/reader-synth --out build/reader --epochs 2   # then as the README says

Deterministic for a given input, seed and spaCy model.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# spaCy's entity labels (OntoNotes) -> the question word that asks for them.
QUESTION_WORD = {
    "PERSON": "Who",
    "NORP": "Who",
    "ORG": "Who",
    "GPE": "Where",
    "LOC": "Where",
    "FAC": "Where",
    "DATE": "When",
    "TIME": "When",
    "CARDINAL": "How many",
    "QUANTITY": "How much",
    "MONEY": "How much",
    "PERCENT": "What percentage",
    "EVENT": "What",
    "WORK_OF_ART": "What",
    "LAW": "What",
    "LANGUAGE": "What",
    "PRODUCT": "What",
}
CONTEXT_WORDS = 10  # words kept on each side of the answer
DROP = 0.1  # share of the question's words dropped
SHUFFLE = 3  # words move at most this far


@dataclass(frozen=True)
class Synthetic:
    """One question about one span of a paragraph."""

    question: str
    answer: str
    start: int  # character offset of the answer in the paragraph


def _candidates(sent: Any) -> list[tuple[Any, str]]:
    """(span, question word) pairs of one sentence: its names, then noun phrases that are no name."""
    out = [(ent, QUESTION_WORD[ent.label_]) for ent in sent.ents if ent.label_ in QUESTION_WORD]
    taken = {i for ent in sent.ents for i in range(ent.start, ent.end)}
    for chunk in sent.noun_chunks:
        if chunk.root.pos_ == "PRON" or any(i in taken for i in range(chunk.start, chunk.end)):
            continue
        if chunk.root.dep_ in ("nsubj", "nsubjpass", "dobj", "pobj", "attr"):
            out.append((chunk, "What"))
    return out


def _noisy(words: list[str], rng: random.Random) -> list[str]:
    kept = [w for w in words if rng.random() >= DROP] or words
    keys = [i + rng.uniform(0, SHUFFLE) for i in range(len(kept))]
    return [w for _, w in sorted(zip(keys, kept))]


def question_for(span: Any, word: str, rng: random.Random) -> str:
    """The question asking for `span` (a spaCy span) in its sentence."""
    sent = span.sent
    left = [t.text for t in sent[max(0, span.start - sent.start - CONTEXT_WORDS) : span.start - sent.start]]
    right = [t.text for t in sent[span.end - sent.start : span.end - sent.start + CONTEXT_WORDS]]
    words = [w for w in left + right if any(c.isalnum() for c in w)]
    return f"{word} {' '.join(_noisy(words, rng))}?"


def synthesize(paragraph: str, nlp: Any, rng: random.Random, per_paragraph: int) -> list[Synthetic]:
    """Up to `per_paragraph` questions on one paragraph, answers spread over its sentences."""
    doc = nlp(paragraph)
    pool = [(span, word) for sent in doc.sents for span, word in _candidates(sent)]
    pool = [(s, w) for s, w in pool if len(s.text) <= 60 and len(s.sent) >= 6]
    rng.shuffle(pool)
    out: list[Synthetic] = []
    used: set[tuple[int, str]] = set()
    for span, word in pool:
        if len(out) >= per_paragraph:
            break
        if (span.sent.start, word) in used:  # one question per sentence and question word
            continue
        used.add((span.sent.start, word))
        question = question_for(span, word, rng)
        if len(question.split()) >= 4:
            out.append(Synthetic(question, span.text, span.start_char))
    return out


def build(source: Path, per_paragraph: int = 12, seed: int = 13) -> dict[str, Any]:
    """A SQuAD 2.0 file of synthetic questions over every paragraph of a SQuAD-format `source`."""
    from index.nlp import load

    nlp = load()
    rng = random.Random(seed)
    data = json.loads(source.read_text(encoding="utf-8"))
    articles, count = [], 0
    for ai, article in enumerate(data["data"]):
        paragraphs = []
        for pi, para in enumerate(article["paragraphs"]):
            qas = [
                {
                    "id": f"synth-{ai}-{pi}-{k}",
                    "question": s.question,
                    "answers": [{"text": s.answer, "answer_start": s.start}],
                    "is_impossible": False,
                }
                for k, s in enumerate(synthesize(para["context"], nlp, rng, per_paragraph))
            ]
            count += len(qas)
            paragraphs.append({"context": para["context"], "qas": qas})
        articles.append({"title": article.get("title", ""), "paragraphs": paragraphs})
    note = (
        f"{count} synthetic questions (evals/synth_questions.py, seed {seed}, {per_paragraph} per paragraph) "
        f"over the paragraphs of {source.name}: its own questions are not used"
    )
    if data.get("note"):  # where those paragraphs came from (evals/kit_paragraphs.py says)
        note += f" ({data['note']})"
    return {"version": "synthetic", "note": note, "data": articles}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="a SQuAD-format file whose paragraphs are used")
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-paragraph", type=int, default=12)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    return write(build(args.source, args.per_paragraph, args.seed), args.out)


def write(result: dict[str, Any], out: Path) -> int:
    """Save a made SQuAD file and say what it holds."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=0, ensure_ascii=False), encoding="utf-8")
    print(result["note"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
