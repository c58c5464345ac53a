"""Which articles back a fact, and questions that compare the articles."""

from __future__ import annotations

import re

from rag.types import Evidence

_COMPARATIVE = re.compile(
    r"\b(each|both|two|all) (of the )?(articles?|reports?|stories|pieces|outlets|sources)\b"
    r"|\bdiffer|\bdifference|\bcompar|\bcontrast|\bdisagree|\bagree\b|\bwhich (article|report|story|piece)\b"
    r"|\bone article\b|\bthe other\b|\bin common\b",
    re.I,
)


def is_comparative(question: str) -> bool:
    """A question about how the articles relate: each/both articles, differences, which article."""
    return bool(_COMPARATIVE.search(question))


def best_per_article(evidence: list[Evidence], max_articles: int = 2) -> list[Evidence]:
    """The best evidence of each of the best-scoring articles, best first."""
    picked: dict[str, Evidence] = {}
    for e in evidence:
        if e.passage.doc_id not in picked:
            picked[e.passage.doc_id] = e
            if len(picked) == max_articles:
                break
    return list(picked.values())
