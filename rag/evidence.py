"""Sentence-level evidence: the sentences of the retrieved passages that best answer the question."""

from __future__ import annotations

import numpy as np

from index.embed import Embedder
from index.lexical import tokenize
from rag.guard import is_redirect_attempt
from rag.types import Evidence, Hit

# Weights of the sentence score; tuned on the gold set (see evals/).
DENSE_WEIGHT = 0.6
LEXICAL_WEIGHT = 0.4
RANK_BONUS = 0.02
PAIR_PENALTY = 0.03  # two sentences must match clearly better than one to be preferred


def content_tokens(text: str) -> set[str]:
    """Distinct content words of a text (stopwords dropped, plurals folded)."""
    return set(tokenize(text))


def lexical_overlap(question: str, sentence: str) -> float:
    """Fraction of the question's content words that occur in the sentence."""
    q = content_tokens(question)
    if not q:
        return 0.0
    return len(q & content_tokens(sentence)) / len(q)


def select_evidence(
    question: str,
    hits: list[Hit],
    embedder: Embedder,
    question_vector: np.ndarray | None = None,
    pairs: bool = True,
) -> list[Evidence]:
    """Every distinct sentence of the hits, and every pair of neighbouring sentences (an answer
    often spans "X said ..." and the quote that follows), scored by meaning and word overlap."""
    seen: set[tuple[str, int, int]] = set()
    candidates: list[tuple[Hit, int, int, str, int]] = []
    for rank, hit in enumerate(hits):
        spans = hit.passage.sentences
        units = list(spans) + ([(a[0], b[1]) for a, b in zip(spans, spans[1:])] if pairs else [])
        for start, end in units:
            key = (hit.passage.doc_id, start, end)
            if key in seen:
                continue
            seen.add(key)
            text = hit.passage.text[start - hit.passage.start : end - hit.passage.start]
            if is_redirect_attempt(text):
                # An article's "ignore previous instructions ..." is data: never evidence or support.
                continue
            candidates.append((hit, start, end, text, rank))
    if not candidates:
        return []
    qvec = embedder.embed([question])[0] if question_vector is None else question_vector
    svecs = embedder.embed([c[3] for c in candidates])
    dense = svecs @ qvec
    scored = []
    for (hit, start, end, text, rank), sim in zip(candidates, dense):
        score = DENSE_WEIGHT * float(sim) + LEXICAL_WEIGHT * lexical_overlap(question, text)
        score += RANK_BONUS * (len(hits) - rank) / max(len(hits), 1)
        if _is_pair(hit, start, end):
            score -= PAIR_PENALTY
        scored.append(Evidence(hit.passage, start, end, text, score))
    scored.sort(key=lambda e: -e.score)
    return scored


def _is_pair(hit: Hit, start: int, end: int) -> bool:
    return (start, end) not in hit.passage.sentences
