"""One text module: tokenizing, stemming, folding and fuzzy matching, used by the index (BM25,
names) and by the answering code alike, so both sides see words the same way."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

_WORD = re.compile(r"\w+", re.UNICODE)
# Function words only: they carry no subject. Content words are never listed here.
STOPWORDS = frozenset(
    """a an and are as at be been being but by did do does for from had has have he her his how i if in
    into is it its me my of on or our she so than that the their them then there these they this those
    to was we were what when where which who whom whose why will with would you your about after also
    any can could just more most not only other over some such up very""".split()
)
FUZZY_MIN_LENGTH = 6  # shorter words differ by one letter too often to be the same name (Mali / Bali)


def fold(text: str) -> str:
    """Lower case with accents and curly quotes folded (Müller / Muller, O’Neil / O'Neil)."""
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in text if not unicodedata.combining(ch)).replace("’", "'").replace("‘", "'")


def words(text: str) -> list[str]:
    """Every folded word of a text, in order (no stopwords dropped)."""
    return _WORD.findall(fold(text))


def tokenize(text: str) -> list[str]:
    """Folded word tokens without stopwords, with a light plural stemmer (BM25's tokens)."""
    tokens = []
    for word in words(text):
        if word in STOPWORDS or (len(word) == 1 and not word.isdigit()):
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        tokens.append(word)
    return tokens


@cache
def _stemmer():  # type: ignore[no-untyped-def]
    # snowballstemmer imports in 15 ms; NLTK's Snowball stemmer took 1.6 s of every cold start.
    import snowballstemmer  # type: ignore[import-untyped]

    return snowballstemmer.stemmer("english")


@cache
def stem(word: str) -> str:
    """Snowball (Porter 2) stem of a lower-case word."""
    return str(_stemmer().stemWord(word))


def stems(text: str) -> set[str]:
    """Stems of a text's tokens."""
    return {stem(t) for t in tokenize(text)}


def near(a: str, b: str) -> bool:
    """The same word up to one edit (insertion, deletion or change), for words of
    FUZZY_MIN_LENGTH letters or more (Zelensky / Zelenskiy); computed by rapidfuzz."""
    if a == b:
        return True
    if min(len(a), len(b)) < FUZZY_MIN_LENGTH or a[0] != b[0] or a.isdigit() or b.isdigit():
        return False
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.distance(a, b, score_cutoff=1) <= 1


def near_any(word: str, vocabulary: set[str]) -> bool:
    """Whether the word or a one-edit variant of it is in the vocabulary."""
    return word in vocabulary or any(near(word, w) for w in vocabulary)


def contains_phrase(text: str, phrase: str, fuzzy: bool = True) -> bool:
    """Whether the text says the phrase as whole words, in order (one-edit variants of long words
    allowed with `fuzzy`): "usual" never matches "us", "Dan" never matches "Danish"."""
    need = words(phrase)
    if not need:
        return False
    have = words(text)
    n = len(need)
    for i in range(len(have) - n + 1):
        if all(h == w or (fuzzy and near(h, w)) for h, w in zip(have[i : i + n], need)):
            return True
    return False
