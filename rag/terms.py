"""The words a question is about: stemmed content words, without the vocabulary of asking
("what exactly did the article say") or of the articles themselves."""

from __future__ import annotations

from functools import cache

from index.lexical import tokenize
from rag.spelling import near

# Words about the question or the articles themselves, light verbs and hedging adverbs ("what
# exactly", "roughly how many"): not the subject asked about.
GENERIC = frozenset(
    """article articles report reports reported reporting say says said tell told mention mentions mentioned
    describe describes described describing according many much happen happened kind type name named called
    think know give gives gave given list explain both two first second older newer source sources quote
    quoted quotes differ differs difference different spell spelled spelling spelt surname written write
    wording word attribute attributes characterise characterize cover covers covered discuss discusses
    headline publication published publish date time came come per story piece coverage each same agree
    agreed person count start started make made keep hold go get let take taken add reach whether should
    among thing instead along far toward towards relation doing does did done one other another
    actually really real exactly roughly ever now just still already currently""".split()
)


@cache
def _stemmer():  # type: ignore[no-untyped-def]
    # snowballstemmer imports in 15 ms; NLTK's Snowball stemmer took 1.6 s of every cold start.
    import snowballstemmer  # type: ignore[import-untyped]

    return snowballstemmer.stemmer("english")


@cache
def stem(word: str) -> str:
    """Snowball (Porter 2) stem of a lower-case word."""
    return str(_stemmer().stemWord(word))


def subject_terms(question: str) -> list[str]:
    """Stemmed content words of the question, without question/article vocabulary."""
    generic = generic_stems()
    return [s for s in dict.fromkeys(stem(t) for t in tokenize(question)) if s not in generic]


@cache
def generic_stems() -> frozenset[str]:
    return frozenset(stem(w) for w in GENERIC)


def near_any(term: str, words: set[str]) -> bool:
    """Whether a word, or a one-letter variant of it, is among the words (never for numbers)."""
    return not term.isdigit() and any(near(term, w) for w in words)
