"""Which passage's span is the short answer, and whether it is shown: a logistic model over each
reading (the reader's scores, how it ranks against the other passages read, the retrieval rank,
whether the span has the type asked for, whether it only repeats the question), fitted on the
tuning questions by `evals/fit_abstain.py` (label: the span alone satisfies the answer keys).

The same probability picks the span among the passages read (the reader's margin alone compares
badly across passages) and gates it: below the threshold, chosen so that a wrong short answer above
a right quote stays under 4% of the tuning questions, the answer leads with the quote instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from index.chunk import split_sentences
from index.text import stems, words
from rag.abstain import MARGIN_CLIP, Choice, type_match
from rag.logistic import Logistic
from rag.query import Query

SPAN_FEATURES = (
    "margin",  # the reader's span logit minus its no-answer logit in this passage (clipped)
    "margin_gap",  # that margin minus the best margin among the passages read (0 for the best)
    "prob",  # the span's probability
    "null_prob",  # the passage's no-answer probability
    "rank",  # the passage's retrieval rank among those read (0 = first), over their number
    "alternative",  # 0: the passage's best span; 1, 2: its next-best ones
    "type_match",  # the span has the type asked for (1), not (0), no type asked (0.5)
    "length",  # log(1 + words in the span)
    "question_overlap",  # share of the span's content words the question already uses
    "sentence_overlap",  # share of the question's content words in the span's sentence (the span aside)
    "agreement",  # summed probability of the same span (or one inside it / around it) in other articles
    "in_headline",  # the span was read in the headline
    "statement",  # the question asks for a statement (why, how), not a name or number
)


@dataclass(frozen=True)
class Pick:
    """One passage's reading with P(its span answers the question)."""

    choice: Choice
    p: float


def model_path() -> Path:
    """The committed parameters."""
    return Path(str(resources.files("rag").joinpath("models", "spans.json")))


@cache
def load_spans(path: Path | None = None) -> Logistic:
    """The fitted span model (until one is fitted: the reader's margin alone, shown above 0)."""
    return Logistic.load(path or model_path(), Logistic.neutral(SPAN_FEATURES, "margin"))


def span_features(query: Query, choices: list[Choice]) -> list[dict[str, float]]:
    """The features of every reading, in order."""
    if not choices:
        return []
    top = max(-MARGIN_CLIP, min(MARGIN_CLIP, max(c.reading.margin for c in choices)))
    passages = len({c.index for c in choices})
    terms = set(query.terms)
    spans = [set(words(c.reading.text)) for c in choices]
    rows = []
    for c, mine in zip(choices, spans):
        r = c.reading
        margin = max(-MARGIN_CLIP, min(MARGIN_CLIP, r.margin))
        own = stems(r.text)
        sentence = next((c.context[a:b] for a, b in split_sentences(c.context) if a <= r.start < b), "")
        around = stems(sentence) - own
        # The same answer read in another article (not the same article's overlapping passages,
        # nor a headline): redundancy across articles is evidence, as in open-domain QA's answer
        # aggregation.
        agreement = sum(
            o.reading.prob
            for o, theirs in zip(choices, spans)
            if o.doc != c.doc and o.reading.start >= o.offset and mine and theirs and (mine <= theirs or theirs <= mine)
        )
        rows.append(
            {
                "margin": margin,
                "margin_gap": max(-MARGIN_CLIP, margin - top),
                "prob": r.prob,
                "null_prob": r.null_prob,
                "rank": c.index / passages,
                "alternative": float(c.alt),
                "type_match": type_match(query, c),
                "length": math.log1p(len(r.text.split())),
                "question_overlap": len(own & terms) / len(own) if own else 0.0,
                "sentence_overlap": len(around & terms) / len(terms) if terms else 0.0,
                "agreement": agreement,
                "in_headline": float(bool(r.text) and r.start < c.offset),
                "statement": float(not query.short),
            }
        )
    return rows


def rank_spans(model: Logistic, query: Query, choices: list[Choice]) -> list[Pick]:
    """The readings, most likely answer first."""
    picks = [Pick(c, model.probability(f)) for c, f in zip(choices, span_features(query, choices))]
    return sorted(picks, key=lambda p: -p.p)
