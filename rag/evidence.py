"""Sentence-level evidence: the sentences of the retrieved passages that best answer the question."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from index.chunk import split_sentences
from index.embed import Embedder
from index.text import tokenize
from rag.types import Evidence, Hit

# Weights of the sentence score (MiniLM similarity and word overlap).
DENSE_WEIGHT = 0.6
LEXICAL_WEIGHT = 0.4
RANK_BONUS = 0.02
PAIR_PENALTY = 0.03  # two sentences must match clearly better than one to be preferred


# A sentence that opens with a pronoun ("They have since denied ...") names its subject in the
# sentence before; quoted alone it would not say who.
_ANAPHOR = re.compile(r"^[\"“‘']?(?:he|she|they|it|this|these|those|such)\b", re.I)


ANTECEDENT_CHARS = 600  # how far back the sentence before may start


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


def distinct(evidence: list[Evidence], n: int) -> list[Evidence]:
    """The first n evidence units, skipping any that overlap a better one in the same article
    (a sentence and the pair that contains it)."""
    kept: list[Evidence] = []
    for e in evidence:
        if len(kept) == n:
            break
        if not any(k.passage.doc_id == e.passage.doc_id and k.start < e.end and e.start < k.end for k in kept):
            kept.append(e)
    return kept


def _is_pair(hit: Hit, start: int, end: int) -> bool:
    return (start, end) not in hit.passage.sentences


def with_antecedent(e: Evidence, body: str | None = None) -> Evidence:
    """The evidence with the sentence before it when it opens with a pronoun or a bare "the group"
    (and is not already a pair): the quote then says who did what. The sentence before may lie
    in the article body before the passage."""
    if not _ANAPHOR.match(e.text) or (e.start, e.end) not in e.passage.sentences:
        return e
    if body is None or body[e.start : e.end] != e.text:
        body, offset = e.passage.text, e.passage.start
    else:
        offset = 0
    before = body[max(0, e.start - offset - ANTECEDENT_CHARS) : e.start - offset]
    spans = [(s, t) for s, t in split_sentences(before) if before[s:t].strip()]
    if not spans or (len(spans) == 1 and e.start - offset > ANTECEDENT_CHARS):
        return e  # no sentence before it, or only a fragment of one
    start, stop = (e.start - len(before) + i for i in spans[-1])
    text = body[start - offset : e.end - offset]
    passage = e.passage
    if start < passage.start:  # the sentence before opens the cited span: widen the passage to it
        passage = replace(
            passage,
            start=start,
            text=body[start - offset : passage.end - offset],
            sentences=((start, stop), *passage.sentences),
        )
    return Evidence(passage, start, e.end, text, e.score)
