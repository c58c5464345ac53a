"""Sentence splitting with exact offsets, and packing sentences into overlapping passages."""

from __future__ import annotations

import re

from rag.types import Article, Passage, Span

_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "gen",
    "lt",
    "col",
    "maj",
    "capt",
    "sgt",
    "st",
    "sen",
    "rep",
    "gov",
    "pres",
    "jr",
    "sr",
    "inc",
    "ltd",
    "co",
    "corp",
    "vs",
    "etc",
    "fig",
    "approx",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "u.s",
    "u.k",
    "u.n",
    "e.g",
    "i.e",
    "a.m",
    "p.m",
}
# A sentence ends at . ! ? or … (plus closing quotes/brackets) followed by whitespace and a
# capital, digit or opening quote; a newline always ends one (paragraph break).
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")


def split_sentences(text: str, offset: int = 0) -> list[Span]:
    """Spans of the sentences in text (absolute when offset is given), whitespace excluded."""
    spans: list[Span] = []
    for para in re.finditer(r"[^\n]+", text):
        start = para.start()
        ptext = para.group()
        cursor = 0
        for m in _BOUNDARY.finditer(ptext):
            stop = m.end()
            word = _WORD_BEFORE.search(ptext[cursor : m.start() + 1].rstrip(".!?…\"'”’)]"))
            if word and m.group().startswith(".") and _is_abbreviation(word.group(1)):
                continue
            _add_span(spans, ptext, cursor, stop, start + offset)
            cursor = stop
        _add_span(spans, ptext, cursor, len(ptext), start + offset)
    return spans


def _is_abbreviation(word: str) -> bool:
    w = word.lower().rstrip(".")
    # Single capital letters are initials ("John F. Kennedy").
    return w in _ABBREVIATIONS or (len(w) == 1 and word[0].isupper())


def _add_span(spans: list[Span], text: str, start: int, end: int, base: int) -> None:
    chunk = text[start:end]
    lead = len(chunk) - len(chunk.lstrip())
    trail = len(chunk) - len(chunk.rstrip())
    if end - trail > start + lead:
        spans.append((base + start + lead, base + end - trail))


def chunk_article(article: Article, size: int, overlap: int) -> list[Passage]:
    """Pack whole sentences into passages of about `size` characters, repeating about
    `overlap` characters of whole sentences between neighbours. A sentence is never cut."""
    sentences = split_sentences(article.body)
    passages: list[Passage] = []
    i = 0
    while i < len(sentences):
        j = i
        while j + 1 < len(sentences) and sentences[j + 1][1] - sentences[i][0] <= size:
            j += 1
        start, end = sentences[i][0], sentences[j][1]
        passages.append(
            Passage(
                id=f"{article.doc_id}:{len(passages)}",
                doc_id=article.doc_id,
                start=start,
                end=end,
                text=article.body[start:end],
                sentences=tuple(sentences[i : j + 1]),
            )
        )
        if j + 1 >= len(sentences):
            break
        # Step back over whole sentences that fit in the overlap, but always move forward.
        k = j + 1
        while k - 1 > i and end - sentences[k - 1][0] <= overlap:
            k -= 1
        i = k
    return passages
