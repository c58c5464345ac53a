"""Deciding "the articles don't say": a logistic model over signals of the retrieval, the reader
and the question, fitted on data (`evals/fit_abstain.py`), with one threshold.

The signals are features, never vetoes: the reader's confidence that the best passage holds the
answer (its strongest input), how well the best sentence matches, how much of the question the
reading passage covers, whether the question's names are in that passage or anywhere in the
archive, and whether the answer has the type the question asks for. The fitted parameters are
plain JSON (`rag/models/abstain.json`) with a note of the data and the command that made them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Protocol

from index.names import Names
from index.text import contains_phrase, fold, near_any, stems, words
from rag.logistic import Logistic
from rag.query import Query
from rag.reader import Reading
from rag.types import Evidence

FEATURES = (
    "reader_margin",  # best span logit minus the no-answer logit, best passage (clipped)
    "reader_prob",  # that span's probability
    "reader_null",  # the no-answer probability of the passage the best span is in
    "evidence_score",  # best evidence sentence: MiniLM similarity and word overlap
    "term_coverage",  # share of the question's content words in the reading passage and headline
    "entity_coverage",  # share of the question's names in that passage and headline
    "entity_unknown",  # share of the question's names that no article mentions
    "type_match",  # the span has the type asked for (1), not (0), no type asked (0.5)
    "year_unknown",  # the question names a year that no article mentions
    "comparative",  # the question is about how the articles relate (its evidence is per article)
    # Products and squares, so one linear model can weigh the reader more where the match is close
    # (questions written to look answerable) and the match more where it is not (off-topic ones).
    "margin_x_evidence",
    "evidence_squared",
    "margin_squared",
)
MARGIN_CLIP = 12.0
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve dozen dozens hundred hundreds thousand "
    "thousands million millions billion billions trillion half quarter".split()
)


class Archive(Protocol):
    """What the whole archive mentions."""

    names: Names

    def has_year(self, year: str) -> bool:
        """Whether any article mentions this four-digit year."""
        ...

    def has_word(self, token: str, variants: bool = True) -> bool:
        """Whether any article uses this token (or a one-edit variant of it)."""
        ...


@dataclass(frozen=True)
class Choice:
    """The reading chosen as the answer, and where it is."""

    index: int  # which context (hit) it is in
    reading: Reading
    context: str  # headline + passage the reader saw
    mentions: tuple[tuple[int, int, str], ...] = ()  # spaCy entities in `context` coordinates
    offset: int = 0  # where the passage starts in `context` (after the headline line)
    alt: int = 0  # 0: the passage's best span; 1, 2: its next-best ones
    doc: str = ""  # the article the passage is from


def mentioned(name: str, label: str, text: str, names: Names) -> bool:
    """Whether a text names the thing: as written, by a learned alias, or (people) by surname."""
    forms = names.forms(name) | {fold(name)}
    if any(contains_phrase(text, f) for f in forms if f):
        return True
    parts = words(name)
    return label == "PERSON" and len(parts) > 1 and contains_phrase(text, parts[-1])


def known(name: str, archive: Archive) -> bool:
    """Whether any article mentions the name (as an entity, an alias, or every one of its words)."""
    forms = archive.names.forms(name)
    if forms & archive.names.known_names():
        return True
    toks = [w for w in words(name) if len(w) > 2 and not w.isdigit()]
    return bool(toks) and all(archive.has_word(w[:-1] if len(w) > 3 and w.endswith("s") else w) for w in toks)


def type_match(query: Query, choice: Choice) -> float:
    """1 when the span is (or holds) an entity of the type asked for, 0 when not, 0.5 when the
    question asks for no particular type."""
    labels = query.labels
    if not labels:
        return 0.5
    r = choice.reading
    for s, e, label in choice.mentions:
        if s < r.end and r.start < e and label in labels:
            return 1.0
    if query.answer_type == "number":
        span = r.text.lower()
        return float(any(ch.isdigit() for ch in span) or bool(set(words(span)) & _NUMBER_WORDS))
    if query.answer_type == "date":
        return float(bool(_YEAR.search(r.text)))
    return 0.0


def features(query: Query, choice: Choice | None, evidence: list[Evidence], archive: Archive) -> dict[str, float]:
    """Every feature of the abstention model for one question."""
    if choice is None:
        base = dict.fromkeys(FEATURES, 0.0) | {
            "reader_margin": -MARGIN_CLIP,
            "reader_null": 1.0,
            "type_match": 0.5,
            "comparative": float(query.comparative),
        }
        return _derived(base)
    r = choice.reading
    context = choice.context
    have = stems(context)
    terms = query.terms
    coverage = sum(t in have or near_any(t, have) for t in terms) / len(terms) if terms else 1.0
    names = [e for e in query.entities if e.label not in ("DATE", "TIME", "CARDINAL", "ORDINAL", "QUANTITY")]
    ent_cov = sum(mentioned(e.text, e.label, context, archive.names) for e in names) / len(names) if names else 1.0
    unknown = sum(not known(e.text, archive) for e in names) / len(names) if names else 0.0
    years = _YEAR.findall(query.text)
    base = {
        "reader_margin": max(-MARGIN_CLIP, min(MARGIN_CLIP, r.margin)),
        "reader_prob": r.prob,
        "reader_null": r.null_prob,
        "evidence_score": evidence[0].score if evidence else 0.0,
        "term_coverage": coverage,
        "entity_coverage": ent_cov,
        "entity_unknown": unknown,
        "type_match": type_match(query, choice),
        "year_unknown": float(any(not archive.has_year(y) for y in years)),
        "comparative": float(query.comparative),
    }
    return _derived(base)


def _derived(base: dict[str, float]) -> dict[str, float]:
    margin, evidence = base["reader_margin"], base["evidence_score"]
    return base | {
        "margin_x_evidence": margin * evidence,
        "evidence_squared": evidence * evidence,
        "margin_squared": margin * margin,
    }


def model_path() -> Path:
    """The committed parameters."""
    return Path(str(resources.files("rag").joinpath("models", "abstain.json")))


@cache
def load_model(path: Path | None = None) -> Logistic:
    """The fitted abstention model: P(the articles answer the question), abstain below its
    threshold (a neutral one, abstaining only on a negative reader margin, until one is fitted)."""
    return Logistic.load(path or model_path(), Logistic.neutral(FEATURES, "reader_margin"))


def years_in(texts: list[str]) -> set[str]:
    """Four-digit years that occur in the texts (article bodies and dates)."""
    return {y for t in texts for y in _YEAR.findall(t)}
