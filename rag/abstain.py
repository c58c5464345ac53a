"""Deciding to say "the articles don't say": retrieval and support signals, not the model's word."""

from __future__ import annotations

from dataclasses import dataclass

from index.lexical import LexicalIndex, tokenize
from rag.types import Evidence

# Calibrated on the gold set with the real MiniLM model (`rag eval` prints the sweep).
MIN_EVIDENCE_SCORE = 0.42  # below this best-sentence score the archive does not answer
MAX_UNKNOWN_SHARE = 0.34  # share of question words that never occur in the archive
UNKNOWN_EVIDENCE_SCORE = 0.55  # ... tolerated only when the evidence is this strong
# Words of the question about the question itself, not its subject.
_GENERIC = set(
    "article report say said tell told mention describe according many much happen happened kind type name "
    "called think know give list explain both two first second older newer source quote quoted".split()
)


@dataclass(frozen=True)
class Decision:
    """Whether to abstain, and the signals behind it."""

    abstain: bool
    reason: str
    best_score: float
    unknown_terms: tuple[str, ...]


def unknown_terms(question: str, lexical: LexicalIndex) -> list[str]:
    """Content words of the question that never occur anywhere in the archive."""
    return [t for t in dict.fromkeys(tokenize(question)) if t not in _GENERIC and not lexical.known(t)]


def decide(question: str, evidence: list[Evidence], lexical: LexicalIndex) -> Decision:
    """Abstain when the best evidence is weak, or the question is about things the archive never names."""
    best = evidence[0].score if evidence else 0.0
    terms = [t for t in dict.fromkeys(tokenize(question)) if t not in _GENERIC]
    unknown = unknown_terms(question, lexical)
    share = len(unknown) / len(terms) if terms else 1.0
    if not evidence:
        return Decision(True, "nothing retrieved", best, tuple(unknown))
    if best < MIN_EVIDENCE_SCORE:
        return Decision(True, f"best evidence score {best:.2f} < {MIN_EVIDENCE_SCORE}", best, tuple(unknown))
    if share > MAX_UNKNOWN_SHARE and best < UNKNOWN_EVIDENCE_SCORE:
        return Decision(True, f"the archive never mentions: {', '.join(unknown)}", best, tuple(unknown))
    return Decision(False, "", best, tuple(unknown))
