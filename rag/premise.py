"""What a question takes as given, checked against the passages retrieved for it.

"Why did the militias kill three US soldiers in Syria?" matches the passage about the attack word
for word, but that passage says Jordan; "What did Khamenei tell Sudani ...?" names two people no
passage mentions together; "Which sanctions did the US lift ...?" asks about something the article
states only as a condition ("... if the US lifted all sanctions"). The articles answer none of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from index.lexical import tokenize
from rag.conversation import question_parts
from rag.spelling import fold
from rag.terms import generic_stems, near_any, stem, subject_terms
from rag.types import Hit

# A capitalised word that does not start a sentence: a name (Basra, Hegseth, Champions League).
_NAME = re.compile(r"(?<![.?!:;\"“(]\s)(?<!^)(?<![\w'’(-])[A-Z][\w'’]*(?:-[A-Z][\w'’]*)*")
_POSSESSIVE = re.compile(r"['’]s?$")
MIN_NAME_LENGTH = 4  # shorter capitals are mostly abbreviations (PM, KH, US) the text spells out
TITLE_CASE_SHARE = 0.6  # a question with this share of capitalised words is Title Case: no names to tell
_SETTING = re.compile(r"\b(?:in|on|at|from|into|during|near|inside|across|throughout)\s+(?:the\s+)?$", re.I)
_COMMON_NOUN_NEXT = re.compile(r"[-\s]+(?!(?:and|or|of|in|on|at|to|for|with|from|by|as|is|are|was|were)\b)[a-z]")
_DEMONYM_SUFFIXES = ("ian", "an", "n", "i", "ese", "ish")  # Iranian, Iraqi, American, Lebanese, Kurdish
# A capital that news writing uses for its country's government ("Washington warned Baghdad").
METONYMS = {
    "washington": ("us", "united", "states", "american"),
    "tehran": ("iran", "iranian"),
    "baghdad": ("iraq", "iraqi"),
    "damascus": ("syria", "syrian"),
    "jerusalem": ("israel", "israeli"),
    "beirut": ("lebanon", "lebanese"),
    "riyadh": ("saudi",),
    "moscow": ("russia", "russian", "kremlin"),
    "beijing": ("china", "chinese"),
    "london": ("britain", "british", "uk"),
    "paris": ("france", "french"),
    "kyiv": ("ukraine", "ukrainian"),
    "ankara": ("turkey", "turkish"),
    "sanaa": ("yemen", "yemeni", "houthi"),
}
COVERAGE_DEPTH = 3  # passages whose words count as covering the question
_FACT_ASKED = re.compile(r"\b(?:did|was|were|had)\b", re.I)
_HYPOTHETICAL_ASKED = re.compile(
    r"\b(?:if|unless|would|could|might|may|will|should|can|threat\w*|warn\w*|consider\w*|options?|expect\w*"
    r"|plan\w*|propos\w*|condition\w*)\b",
    re.I,
)
_COORDINATED = re.compile(r"\s*(?:,\s*)?(?:and|or|nor|&|as well as|,)\s+(?:the\s+)?", re.I)
_CONDITION = re.compile(r"\b(?:if|unless)\b([^,;.–—]*)", re.I)  # the clause, up to its first break
CONDITIONAL_TERMS = 2  # question words found only in a condition that make the question's fact a supposition


class Archive(Protocol):
    """What the whole archive mentions, not only the passages retrieved for one question."""

    def has_year(self, year: str) -> bool:
        """Whether any article mentions this four-digit year."""
        ...

    def has_word(self, token: str, variants: bool = True) -> bool:
        """Whether any article uses this token (as `tokenize` writes it), or (with `variants`) a
        one-letter variant of it."""
        ...


def names_in(question: str) -> list[str]:
    """The names a question uses: capitalised words that do not start a sentence, possessive
    dropped (Iran's -> Iran, Hamas's -> Hamas). None in a Title Case question, where capitals tell
    nothing."""
    return list(dict.fromkeys(n for named in name_runs(question) for n in named.words))


@dataclass(frozen=True)
class Named:
    """One thing a question names, as written together ("Prime Minister Sudani", "Islamic
    Resistance"): a text may call it by any of its words ("Sudani", "the Resistance group").
    `setting` when a preposition puts it as where or when something happened ("in Mosul", "in
    January")."""

    words: tuple[str, ...]
    setting: bool
    text: str = ""  # as written, possessive and all ("Iran's Guards", an alias of the IRGC)
    adjective: bool = False  # a demonym before a common noun ("the Iraqi prime minister")
    start: int = 0  # where the question writes it
    end: int = 0


def name_runs(question: str, archive: Archive | None = None) -> list[Named]:
    """The things a question names, in order (demonyms are told only given the archive)."""
    words = re.findall(r"[A-Za-z][\w'’-]*", question)
    if words and sum(w[0].isupper() for w in words) >= TITLE_CASE_SHARE * len(words) and len(words) > 3:
        return []
    spans: list[tuple[int, int, list[str]]] = []
    end = -1
    for m in _NAME.finditer(question):
        name = _POSSESSIVE.sub("", m.group())
        if not _name_tokens(name):
            end = -1
            continue
        if spans and end >= 0 and not question[end : m.start()].strip():
            spans[-1] = (spans[-1][0], m.end(), spans[-1][2] + [name])
        else:
            spans.append((m.start(), m.end(), [name]))
        end = m.end()
    return [
        Named(
            tuple(names),
            bool(_SETTING.search(question[:start])),
            question[start:stop],
            archive is not None
            and len(names) == 1
            and bool(_COMMON_NOUN_NEXT.match(question[stop:]))
            and _is_demonym(names[0], archive),
            start,
            stop,
        )
        for start, stop, names in spans
    ]


def _name_tokens(name: str) -> list[str]:
    """The tokens of a name worth looking up: apostrophes dropped (Kata'ib -> kataib), no
    abbreviations, numbers or question vocabulary."""
    tokens = tokenize(name.replace("'", "").replace("’", ""))
    generic = generic_stems()
    return [t for t in tokens if len(t) >= MIN_NAME_LENGTH and not t.isdigit() and stem(t) not in generic]


def absent_names(question: str, hits: list[Hit], archive: Archive) -> list[str]:
    """Names the archive mentions but the best passages do not: the question puts them where the
    articles do not ("... kill three US soldiers in Syria", when the passage about the attack says
    Jordan). Demonyms used as adjectives describe ("the Iraqi prime minister"), not name."""
    text = " ".join(h.passage.text for h in hits[:COVERAGE_DEPTH])
    named = name_runs(question, archive)
    return [" ".join(n.words) for n in named if not n.adjective and not mentioned(n, text, archive)]


def mentioned(named: Named, text: str, archive: Archive) -> bool:
    """Whether a text mentions a named thing by any of its words, a one-letter variant, an alias,
    the country of a demonym (Iraqi: Iraq) or of a capital (Washington: the US). Names no article
    mentions count as mentioned: they are decided before this, by `known_name`."""
    return not _known(named, archive) or _said(named, _words(text))


def _known(named: Named, archive: Archive) -> bool:
    return all(known_name(n, archive) for n in named.words)


def _words(text: str) -> set[str]:
    return set(tokenize(text)) | set(tokenize(fold(text)))


def _said(named: Named, words: set[str]) -> bool:
    forms = {f for n in named.words for t in _name_tokens(n) for f in _forms(t)} | set(tokenize(fold(named.text)))
    return not forms or any(f in words or near_any(f, words) for f in forms)


def _is_demonym(name: str, archive: Archive) -> bool:
    """Iraqi, Iranian, American: the word is a place the archive names plus a demonym ending."""
    return any(archive.has_word(b, variants=False) for b in _demonym_bases(name.lower()))


def _demonym_bases(token: str) -> list[str]:
    """The token without each demonym ending it has, where enough is left to be a place."""
    bases = (token.removesuffix(s) for s in _DEMONYM_SUFFIXES if token.endswith(s))
    return [b for b in bases if len(b) >= MIN_NAME_LENGTH]


@cache
def _forms(token: str) -> frozenset[str]:
    forms = {token, *tokenize(" ".join(METONYMS.get(token, ())))}
    for base in _demonym_bases(token):
        forms.update(tokenize(base) + tokenize(fold(base)))
    return frozenset(forms)


def named_apart(question: str, hits: list[Hit], archive: Archive) -> list[str]:
    """The things one part of a question names together ("What did Khamenei tell Sudani ...?")
    when no retrieved passage mentions all of them; demonyms used as adjectives describe, not name."""
    for part in question_parts(question):
        named = [n for n in name_runs(part, archive) if not n.adjective]
        if any(_COORDINATED.fullmatch(part[a.end : b.start]) for a, b in zip(named, named[1:])):
            continue  # "Hegseth and Sumaidaie": a list of things, each of which may be said apart
        # Whether each name is known is looked up once, not once per passage (a one-letter variant
        # scans the vocabulary).
        checked = [n for n in named if _known(n, archive)]
        texts = (_words(h.passage.text) for h in hits)
        if len(named) > 1 and not any(all(_said(n, words) for n in checked) for words in texts):
            return [" ".join(n.words) for n in named]
    return []


def known_name(name: str, archive: Archive) -> bool:
    """Whether the archive mentions a name: as written (Kataib), split at its apostrophes as the
    index splits words (Kata'ib -> kata, ib), or by an alias (Pasdaran -> IRGC)."""
    forms = [_name_tokens(name), tokenize(name), tokenize(fold(name))]
    return any(tokens and all(archive.has_word(t) for t in tokens) for tokens in forms)


def conditional_only(question: str, text: str) -> list[str]:
    """The question's words that the text uses only inside an "if" or "unless" clause, when the
    question asks about a past fact ("Which sanctions did the US lift ...?" against "... would only
    be considered if the US lifted all sanctions"); empty unless there are CONDITIONAL_TERMS of them,
    and for questions that ask about a condition, threat or plan themselves."""
    if not _FACT_ASKED.search(question) or _HYPOTHETICAL_ASKED.search(question):
        return []
    conditions = " ".join(m.group(1) for m in _CONDITION.finditer(text))
    if not conditions:
        return []
    stated = {stem(t) for t in tokenize(_CONDITION.sub(" ", text))}
    supposed = {stem(t) for t in tokenize(conditions)}
    only = [t for t in subject_terms(question) if t in supposed and t not in stated]
    return only if len(only) >= CONDITIONAL_TERMS else []
