"""Which articles back a fact, and side-by-side comparison of what each article reports.

Support is decided per article with the same kind of check the citations use (names with
spelling variants, numbers, negation, word overlap and MiniLM similarity), never by string equality.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.embed import Embedder
from index.text import contains_phrase, fold, tokenize
from rag.catalog import article_name
from rag.cite import names, numbers
from rag.evidence import select_evidence
from rag.types import Article, Citation, Comparison, Evidence, Hit, Side

SAME_FACT_SIMILARITY = 0.6  # MiniLM cosine of two sentences reporting one fact, when they also ...
SAME_FACT_OVERLAP = 0.1  # ... share this many content words (of the shorter) and a name or number
SHARED_NUMBER_SIMILARITY = 0.45  # a shared number with ...
SHARED_NUMBER_OVERLAP = 0.3  # ... this word overlap is the same fact
SAME_FACT_ALONE = 0.72  # a cosine this high is the same fact on its own
CONFLICT_SIMILARITY = 0.7  # very similar sentences whose numbers disagree are a conflict
SIDE_MIN_SCORE = 0.4  # an article whose best sentence scores lower does not address the question
SEARCH_DEPTH = 8

_COMPARATIVE = re.compile(
    r"\b(each|both|two|all) (of the )?(articles?|reports?|stories|pieces|outlets|sources)\b"
    r"|\bdiffer|\bdifference|\bcompar|\bcontrast|\bdisagree|\bagree\b|\bwhich (article|report|story|piece)\b"
    r"|\bone article\b|\bthe other\b|\bin common\b",
    re.I,
)


def is_comparative(question: str) -> bool:
    """A question about how the articles relate: each/both articles, differences, which article."""
    return bool(_COMPARATIVE.search(question))


SIDE_MARGIN = 0.1  # an article's best evidence this close to the best article's is a side of the comparison
MAX_SIDES = 6


def best_per_article(evidence: list[Evidence], max_articles: int = MAX_SIDES) -> list[Evidence]:
    """The best evidence of each article whose best scores close to the best article's, best first."""
    picked: dict[str, Evidence] = {}
    top = evidence[0].score if evidence else 0.0
    for e in evidence:
        if e.passage.doc_id not in picked and e.score >= top - SIDE_MARGIN:
            picked[e.passage.doc_id] = e
            if len(picked) == max_articles:
                break
    return list(picked.values())


def article_label(article: Article | None) -> str:
    """How an article is named in support labels and comparisons (outlet and date, or headline)."""
    return article_name(article, headline=article is not None and not (article.source or article.date))


def relation(a: str, b: str, similarity: float) -> str:
    """'same' when two sentences report one fact, 'conflict' when they report it with different
    numbers, '' when they are about different things. `similarity` is the MiniLM cosine of the
    two sentences with accents and quotes folded (fold())."""
    na, nb = numbers(a), numbers(b)
    wa, wb = set(tokenize(fold(a))), set(tokenize(fold(b)))
    overlap = len(wa & wb) / max(1, min(len(wa), len(wb)))
    anchored = bool(_anchors(a) & _anchors(b)) or bool(na & nb)
    if na and nb and not (na & nb):
        return "conflict" if similarity >= CONFLICT_SIMILARITY and overlap >= SAME_FACT_OVERLAP else ""
    same = (
        similarity >= SAME_FACT_ALONE
        or (similarity >= SAME_FACT_SIMILARITY and overlap >= SAME_FACT_OVERLAP and anchored)
        # A shared number and many shared words: one sentence reports part of the other's facts.
        or (similarity >= SHARED_NUMBER_SIMILARITY and bool(na & nb) and overlap >= SHARED_NUMBER_OVERLAP)
    )
    if same:
        # Most names one sentence gives must be named (in any spelling) by the other.
        if _name_share(a, b) >= 0.5 or _name_share(b, a) >= 0.5:
            return "conflict" if na and nb and not (na <= nb or nb <= na) else "same"
    return ""


def _anchors(text: str) -> set[str]:
    """Names and distinctive words of a sentence, folded."""
    return {w for n in names(text) for w in tokenize(fold(n))}


def _name_share(a: str, b: str) -> float:
    found = names(a)
    return sum(contains_phrase(b, n) for n in found) / len(found) if found else 1.0


@dataclass(frozen=True)
class Match:
    """How another article's best sentence relates to a claim."""

    doc_id: str
    sentence: Evidence
    kind: str  # same | conflict
    similarity: float


def find_matches(claim: str, claim_doc: str, hits: list[Hit], embedder: Embedder) -> list[Match]:
    """For every other article among the hits, its sentence closest to the claim, if it reports the
    same fact (or the same fact with different numbers)."""
    others = [h for h in hits if h.passage.doc_id != claim_doc]
    if not others:
        return []
    matches = []
    by_doc: dict[str, list[Hit]] = {}
    for h in others:
        by_doc.setdefault(h.passage.doc_id, []).append(h)
    claim_vec = embedder.embed([claim])[0]
    folded_vec = embedder.embed([fold(claim)])[0]
    for doc_id, doc_hits in by_doc.items():
        candidates = select_evidence(claim, doc_hits, embedder, claim_vec, pairs=False)[:6]
        if not candidates:
            continue
        sims = embedder.embed([fold(c.text) for c in candidates]) @ folded_vec
        for cand, sim in sorted(zip(candidates, sims), key=lambda pair: -pair[1]):
            kind = relation(claim, cand.text, float(sim))
            if kind:
                matches.append(Match(doc_id, cand, kind, float(sim)))
                break
    return matches


def support_label(doc_ids: list[str], conflicts: list[str], articles: dict[str, Article], covering: int) -> str:
    """'reported by 5 of the 7 articles that cover it', 'only in the CNN article of ...', for people.
    `covering` counts the articles whose passages came up for the fact (the claim's own included)."""
    labels = [article_label(articles.get(d)) for d in doc_ids]
    covering = max(covering, len(doc_ids) + len(conflicts))
    if len(doc_ids) == 1:
        text = f"only in {labels[0]}" if covering > 1 else f"from {labels[0]}"
    elif len(doc_ids) == covering:
        text = f"reported by all {len(doc_ids)} articles that cover it: " + "; ".join(labels)
    else:
        text = f"reported by {len(doc_ids)} of the {covering} articles that cover it: " + "; ".join(labels)
    if conflicts:
        text += "; " + ", ".join(article_label(articles.get(d)) for d in conflicts) + " reports it differently"
    return text


def compare(
    question: str, hits: list[Hit], embedder: Embedder, articles: dict[str, Article], max_articles: int = MAX_SIDES
) -> Comparison:
    """Answer from each article separately, then sort each article's claims into agree, only-one
    and conflict by checking them against the other articles."""
    order: list[str] = []
    for h in hits:
        if h.passage.doc_id not in order:
            order.append(h.passage.doc_id)
    sides = []
    for doc_id in order[:max_articles]:
        doc_hits = [h for h in hits if h.passage.doc_id == doc_id]
        evidence = select_evidence(question, doc_hits, embedder)
        chosen: list[Evidence] = []
        for e in evidence:
            if e.score < max(SIDE_MIN_SCORE, evidence[0].score - 0.1) or len(chosen) == 2:
                break
            if not any(c.start < e.end and e.start < c.end for c in chosen):
                chosen.append(e)
        article = articles.get(doc_id)
        sides.append(
            Side(doc_id, article.title if article else doc_id, article.date if article else None, tuple(chosen))
        )
    agree, only, conflicts = [], [], []
    seen_agree: set[str] = set()
    for side in sides:
        for e in side.evidence:
            matches = find_matches(e.text, side.doc_id, hits, embedder)
            same = [m for m in matches if m.kind == "same"]
            diff = [m for m in matches if m.kind == "conflict"]
            for m in diff:
                conflicts.append((e.text, side.doc_id, m.sentence.text, m.doc_id))
            if same:
                key = min([e.text] + [m.sentence.text for m in same])
                if key not in seen_agree:
                    seen_agree.add(key)
                    agree.append((e.text, tuple([side.doc_id] + [m.doc_id for m in same])))
            elif not diff:
                only.append((e.text, side.doc_id))
    return Comparison(tuple(sides), tuple(agree), tuple(only), tuple(conflicts))


def citation_for(e: Evidence, n: int, articles: dict[str, Article]) -> Citation:
    """A numbered citation of one evidence sentence."""
    article = articles.get(e.passage.doc_id)
    return Citation(
        n=n,
        doc_id=e.passage.doc_id,
        title=article.title if article else e.passage.doc_id,
        date=article.date if article else None,
        text=e.passage.text,
        sentence=e.text,
        start=e.start,
        end=e.end,
        score=e.score,
        passage_start=e.passage.start,
        passage_end=e.passage.end,
        source=article.source if article else None,
        also=article.also if article else (),
    )


def quote(text: str) -> str:
    """A sentence in quotation marks (kept as it is when it already opens with a quotation)."""
    text = " ".join(text.split())
    return text if text[:1] in '“"‘' else f"“{text}”"


def render_comparison(comparison: Comparison, articles: dict[str, Article]) -> tuple[str, tuple[Citation, ...]]:
    """Side-by-side text with numbered citations, then what agrees, what only one reports, what conflicts."""
    citations: list[Citation] = []
    number: dict[str, int] = {}
    lines = []
    for side in comparison.sides:
        label = article_label(articles.get(side.doc_id))
        label = label[0].upper() + label[1:]
        if not side.evidence:
            lines.append(f"{label}: doesn't address this.")
            continue
        quotes = []
        for e in side.evidence:
            number[e.text] = len(citations) + 1
            citations.append(citation_for(e, number[e.text], articles))
            quotes.append(f"{quote(e.text)} [{number[e.text]}]")
        lines.append(f"{label}: " + " ".join(quotes))
    for claim, docs in comparison.agree:
        names = "; ".join(article_label(articles.get(d)) for d in docs)
        lines.append(f"Agree ({len(docs)} articles): {names} report [{number[claim]}].")
    for claim, doc in comparison.only:
        lines.append(f"Only in {article_label(articles.get(doc))}: [{number[claim]}].")
    for claim, _doc, other, other_doc in comparison.conflicts:
        lines.append(f"Differ: [{number[claim]}] vs {article_label(articles.get(other_doc))}: “{other}”.")
    if comparison.sides and not comparison.conflicts:
        lines.append("No conflicting numbers found between the articles.")
    return "\n".join(lines), tuple(citations)
