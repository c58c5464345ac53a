"""How each article writes a name, over any number of articles.

A question about spelling ("How do the articles spell the minister's surname?") is answered from
the alias groups learned at index time (`index.names`): the group of spellings the question names,
or else the one written in the best evidence sentences, as each article writes it, each quoted in
the sentence that writes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.names import Names
from index.text import fold
from rag.catalog import article_name
from rag.corroborate import citation_for
from rag.query import Query
from rag.types import Article, Citation, Evidence

_SPELL = re.compile(r"\b(spell(?!\s+out\b)\w*|spelt)\b", re.I)
_WRITE = re.compile(r"\b(written|writes?|rendered|renders?)\b", re.I)
_NAME_WORD = re.compile(r"\b(name|names|surname|surnames|spelling)\b", re.I)
SENTENCES = 30  # evidence sentences searched for names


@dataclass(frozen=True)
class Writing:
    """A name as one article writes it, in one of its sentences."""

    form: str
    evidence: Evidence


def asks_spelling(question: str) -> bool:
    """A question about how a name is spelled ("spell", not "spell out"), or how it is written
    when the question says it is about a name."""
    return bool(_SPELL.search(question) or (_WRITE.search(question) and _NAME_WORD.search(question)))


def _key(form: str) -> str:
    return re.sub(r"['’]s$", "", fold(form)).strip()


def writings(query: Query, evidence: list[Evidence], names: Names) -> list[Writing]:
    """One writing per article of the name the question is about (best sentence first), or []
    when no name in the evidence is written by two articles."""
    groups: dict[frozenset[str], dict[str, Writing]] = {}
    order: dict[frozenset[str], float] = {}
    singles = [e for e in evidence if (e.start, e.end) in e.passage.sentences][:SENTENCES]
    for e in singles:
        body_offset = e.start
        for s, t, label in names.mentions.get(e.passage.doc_id, []):
            if s < body_offset or t > e.end or label in ("DATE", "CARDINAL", "MONEY"):
                continue
            form = e.text[s - body_offset : t - body_offset]
            group = frozenset(names.forms(form))
            per_doc = groups.setdefault(group, {})
            if e.passage.doc_id not in per_doc:
                per_doc[e.passage.doc_id] = Writing(re.sub(r"['’]s$", "", form), e)
                order[group] = order.get(group, 0.0) + e.score
    shared = {g: w for g, w in groups.items() if len(w) >= 2}
    if not shared:
        return []
    asked = {f for ent in query.entities for f in names.forms(ent.text)}

    def rank(group: frozenset[str]) -> tuple[bool, bool, float]:
        # A name the question uses first; else one the articles write differently (what a
        # spelling question is about); then the one in the best sentences.
        differ = len({_key(w.form) for w in shared[group].values()}) > 1
        return (bool(group & asked), differ, order[group])

    pick = max(shared, key=rank)
    return sorted(shared[pick].values(), key=lambda w: -w.evidence.score)


def render(found: list[Writing], articles: dict[str, Article]) -> tuple[str, tuple[Citation, ...]]:
    """How each article writes the name, each quoted sentence cited."""
    citations = tuple(citation_for(w.evidence, n, articles) for n, w in enumerate(found, start=1))
    forms = {_key(w.form) for w in found}
    if len(forms) == 1:
        markers = " ".join(f"[{c.n}]" for c in citations)
        return f"All {len(found)} articles write “{found[0].form}” {markers}.", citations
    parts = [
        f"{article_name(articles.get(w.evidence.passage.doc_id))} writes “{w.form}” [{n}]"
        for n, w in enumerate(found, start=1)
    ]
    text = "The articles spell it differently: " + "; ".join(parts) + "."
    return text, citations
