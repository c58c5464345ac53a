"""Names spelled differently across reports: al-Shahbndar / al-Shahbandar, Khameinei / Khamenei,
the IRGC / the Pasdaran. Used wherever two texts must be recognised as naming the same thing."""

from __future__ import annotations

import re
import unicodedata

# Different names for one thing that the text alone does not spell alike; each maps to one key.
ALIASES = {
    "pasdaran": "irgc",
    "islamic revolutionary guard corps": "irgc",
    "iranian revolutionary guard corps": "irgc",
    "revolutionary guard corps": "irgc",
    "revolutionary guards": "irgc",
    "iran's guards": "irgc",
    "sepah": "irgc",
    "quds force": "qods force",
    "united states": "us",
    "u.s.": "us",
    "america": "us",
    "islamic republic": "iran",
}
_ARTICLE_PREFIX = re.compile(r"\b(?:al|as|ash|ad|an|ar|at|az|el)-(?=\w)", re.I)
_ALIAS = re.compile("|".join(sorted((re.escape(a) for a in ALIASES), key=len, reverse=True)), re.I)


def fold(text: str) -> str:
    """Lower case, accents and curly quotes folded, aliases replaced, Arabic article prefixes dropped."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).replace("’", "'").replace("‘", "'")
    text = _ALIAS.sub(lambda m: ALIASES[m.group().lower()], text.lower())
    return _ARTICLE_PREFIX.sub("", text)


def near(a: str, b: str) -> bool:
    """Same word up to one inserted, deleted or changed letter (only for words of 6+ letters)."""
    if a == b:
        return True
    if min(len(a), len(b)) < 6 or abs(len(a) - len(b)) > 1 or a[0] != b[0]:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :]
    return a[i:] == b[i + 1 :]


def words(text: str) -> set[str]:
    """Folded words of a text."""
    return set(re.findall(r"[\w']+", fold(text)))


def mentions(text: str, name: str) -> bool:
    """Whether text names `name`, allowing alias and one-letter spelling differences per word."""
    vocab = words(text)
    for part in re.findall(r"[\w']+", fold(name)):
        if part not in vocab and not any(near(part, w) for w in vocab):
            return False
    return True
