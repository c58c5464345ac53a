"""How each article writes a name: "al-Shahbandar" in one report, "al-Shahbndar" in the other.

A question about spelling ("How do the two articles spell the surname of the Shiite politician?")
is answered by finding, in the sentences retrieved from two articles, one name that the articles
write differently (or alike), and quoting the sentence of each article that writes it. Which name
the question means is decided by the words around it: "the Shiite politician who spoke to Reuters"
is the name next to "a senior Shiite politician ... told Reuters".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.lexical import tokenize
from rag.corroborate import article_label, citation_for
from rag.premise import names_in
from rag.spelling import fold, near
from rag.terms import stem, subject_terms
from rag.types import Article, Citation, Evidence

_SPELL = re.compile(r"\b(spell(?!\s+out\b)\w*|spelt)\b", re.I)
_WRITE = re.compile(r"\b(written|writes?|rendered|renders?)\b", re.I)
_NAME_WORD = re.compile(r"\b(name|names|surname|surnames|spelling)\b", re.I)
_SAME = re.compile(r"\b(same|alike|identical(ly)?)\b", re.I)
_INFLECTIONS = ("s", "i", "n", "an", "ans", "is", "es", "ns")  # Israel/Israeli, Iranian/Iranians: other words
# A capitalised name, with an Arabic article prefix when it has one (al-Sudani, as-Sudani).
_PREFIX = r"(?:al|as|ash|ad|an|ar|at|az|el)-"
_NAME = re.compile(rf"\b(?:{_PREFIX})?[A-Z][\w'’]+(?:-[A-Z][\w'’]+)*")
CONTEXT_WORDS = 8  # words either side of a name that tell which name it is
TOP_SENTENCES = 3  # a described name must be in one of its article's best sentences for the question
MIN_CONTEXT_MATCH = 2  # question words one side's context must share, else the question means another name


@dataclass(frozen=True)
class Writing:
    """A name as one article writes it, in one of its sentences."""

    form: str
    evidence: Evidence
    context: int  # question words around the name
    rank: int  # the sentence's rank among its article's evidence (0 = best)


@dataclass(frozen=True)
class NameForms:
    """One name as two articles write it."""

    first: Writing
    second: Writing

    @property
    def differ(self) -> bool:
        """Whether the articles spell it differently (letters, or both prefix it and differently:
        al-Sudani / as-Sudani; a form without its prefix is the same name shortened)."""
        a, b = self.first.form, self.second.form
        if _key(a) != _key(b):
            return True
        pa, pb = _prefix(a), _prefix(b)
        return bool(pa and pb and pa != pb)


def asks_spelling(question: str) -> bool:
    """A question about how a name is spelled ("spell", not "spell out"), or how it is written
    when the question says it is about a name ("How is his name written?", not "What did Reuters write?")."""
    return bool(_SPELL.search(question) or (_WRITE.search(question) and _NAME_WORD.search(question)))


def _inflected(a: str, b: str) -> bool:
    """Whether two keys are one word and a derived form of it rather than two spellings."""
    short, long = sorted((a, b), key=len)
    return long.startswith(short) and long[len(short) :] in _INFLECTIONS


def _key(form: str) -> str:
    return fold(form).replace("'", "").replace("-", "")


def _prefix(form: str) -> str:
    m = re.match(_PREFIX, form, re.I)
    return m.group().lower() if m else ""


def writings(question: str, evidence: list[Evidence]) -> list[Writing]:
    """Every name in the single-sentence evidence, with how well its neighbourhood matches the question."""
    asked = set(subject_terms(question))
    out = []
    ranks: dict[str, int] = {}
    for e in evidence:
        if (e.start, e.end) not in e.passage.sentences:
            continue  # sentence pairs repeat the single sentences
        rank = ranks[e.passage.doc_id] = ranks.get(e.passage.doc_id, -1) + 1
        for m in _NAME.finditer(e.text):
            before = e.text[: m.start()].split()[-CONTEXT_WORDS:]
            after = e.text[m.end() :].split()[:CONTEXT_WORDS]
            near_words = {stem(t) for t in tokenize(" ".join(before + after))}
            form = re.sub(r"['’]s$", "", m.group())
            out.append(Writing(form, e, len(asked & near_words), rank))
    return out


def name_forms(question: str, evidence: list[Evidence]) -> NameForms | None:
    """The name the question is about, as written by the two best articles of the evidence.

    A name the articles write differently is the answer when the question uses it or describes it
    (its neighbouring words share MIN_CONTEXT_MATCH of the question's, in one of the best sentences
    for the question); a name both write alike only when the question uses it and asks whether
    they write it the same way ("Do they spell Reuters the same way?"). None otherwise: the
    question is about something else, or about a name not in the evidence."""
    docs = list(dict.fromkeys(e.passage.doc_id for e in evidence))[:2]
    if len(docs) < 2:
        return None
    asked = {_key(n) for n in names_in(question)}
    same_asked = bool(_SAME.search(question))
    found = writings(question, [e for e in evidence if e.passage.doc_id in docs])
    firsts = [w for w in found if w.evidence.passage.doc_id == docs[0]]
    seconds = [w for w in found if w.evidence.passage.doc_id == docs[1]]
    ranked: list[tuple[tuple[bool, bool, int, float], NameForms]] = []
    for a in firsts:
        for b in seconds:
            ka, kb = _key(a.form), _key(b.form)
            if len(ka) < 4 or not (ka == kb or near(ka, kb)) or _inflected(ka, kb):
                continue
            pair = NameForms(a, b)
            named = any(k == ka or k == kb or near(k, ka) or near(k, kb) for k in asked)
            context = a.context + b.context
            described = max(a.context, b.context) >= MIN_CONTEXT_MATCH and min(a.rank, b.rank) < TOP_SENTENCES
            if (pair.differ and (described or named)) or (named and same_asked):
                ranked.append(((pair.differ, named, context, a.evidence.score + b.evidence.score), pair))
    return max(ranked, key=lambda r: r[0])[1] if ranked else None


def render_forms(forms: NameForms, articles: dict[str, Article]) -> tuple[str, tuple[Citation, ...]]:
    """How each article writes the name, older article first, each quoted sentence cited."""

    def when(w: Writing) -> str:
        article = articles.get(w.evidence.passage.doc_id)
        return (article.date or "") if article else ""

    first, second = sorted((forms.first, forms.second), key=when)
    citations = tuple(citation_for(w.evidence, n, articles) for n, w in enumerate((first, second), start=1))
    if not forms.differ:
        return f"Both articles write “{first.form}” [1] [2].", citations
    one = article_label(articles.get(first.evidence.passage.doc_id))
    other = article_label(articles.get(second.evidence.passage.doc_id))
    if one == other:  # same day: tell them apart by headline
        one, other = (_titled(articles, w) for w in (first, second))
    text = f"The articles spell it differently: {one} writes “{first.form}” [1]; {other} writes “{second.form}” [2]."
    return text[0].upper() + text[1:], citations


def _titled(articles: dict[str, Article], w: Writing) -> str:
    article = articles.get(w.evidence.passage.doc_id)
    return f"“{article.title}”" if article else "an article"
