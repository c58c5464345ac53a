"""Questions about the articles themselves (which is older, when was it published, its headline),
answered from article metadata rather than from passages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from rag.terms import stem, subject_terms
from rag.types import Article

_ORDER = re.compile(r"\b(older|oldest|newer|newest|earlier|earliest|later|latest|most recent|first|came out)\b", re.I)
_WHEN = re.compile(r"\b(published|publication|dated|date|what time|when was|timestamp)\b", re.I)
_HEADLINE = re.compile(r"\b(headlines?|titles?)\b", re.I)
_ABOUT_ARTICLES = re.compile(r"\b(articles?|reports?|stories|story|pieces?|piece|headlines?)\b", re.I)
_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
# "April 8", "Apr. 8, 2025": month, day and an optional year (groups 1, 2, 3).
_MONTH_DAY = re.compile(r"\b" + _MONTH + r"\.?\s+(\d{1,2})\b(?:,?\s+((?:19|20)\d\d)\b)?", re.I)
# Dates used as articles' names: "the April 8 report", "April 7's article", "the April 7 and
# April 8 articles".
_DATE = r"\b(?:" + _MONTH[1:] + r"\.?\s+\d{1,2}\b(?:,?\s+(?:19|20)\d\d\b)?"
_DATES_NAMING_ARTICLES = re.compile(
    _DATE + r"(?:\s*(?:,|and|or|&)\s*" + _DATE + r")*(?:['’]s)?\s+(?:articles?|reports?|pieces?|story|stories|ones?)\b",
    re.I,
)
_TITLE_OF_ARTICLE = re.compile(
    r"\btitles?\s+of\s+(?:the\s+|this\s+|that\s+|each\s+|both\s+)?(?:\w+\s+){0,3}?"
    r"(?:articles?|reports?|pieces?|story|stories)\b|\b(?:articles?|reports?|pieces?|story)(?:['’]s)?\s+titles?\b",
    re.I,
)
_META_WORDS = {
    stem(w)
    for w in "older oldest newer newest earlier earliest later latest recent first came out "
    "published publication dated date time timestamp headline title which two one other has have say "
    "says what article articles report story piece year".split()
}


# Month names are how questions point at an article ("the April 8 article"), not content.
_META_WORDS |= {
    stem(m) for m in "january february march april may june july august september october november december".split()
}


@dataclass(frozen=True)
class MetadataAnswer:
    """An answer built from article metadata, and the articles it rests on."""

    text: str
    articles: tuple[Article, ...]


def when(article: Article) -> str:
    """'April 8, 2025, 11:24' (or 'undated')."""
    if not article.date:
        return "undated"
    try:
        d = date.fromisoformat(article.date)
    except ValueError:
        return article.date
    return f"{d:%B} {d.day}, {d.year}" + (f", {article.time}" if article.time else "")


def named_articles(question: str, articles: dict[str, Article], as_source: bool = False) -> list[Article]:
    """Articles the question names by their date ("the April 8 article"); a year, when given, must
    match too. With as_source, only dates used as an article's name ("according to the April 8
    report") count, not dates of events ("what happened on April 7?")."""
    if as_source:
        found = [d for m in _DATES_NAMING_ARTICLES.finditer(question) for d in _MONTH_DAY.findall(m.group(0))]
    else:
        found = _MONTH_DAY.findall(question)
    if not found:
        return []
    by_day: dict[tuple[str, int], list[tuple[date, Article]]] = {}
    for a in articles.values():
        d = _parse(a.date)
        if d is not None:
            by_day.setdefault((d.strftime("%b").lower(), d.day), []).append((d, a))
    picked: dict[str, Article] = {}
    for month, day, year in found:
        for d, a in by_day.get((month[:3].lower(), int(day)), []):
            if not year or int(year) == d.year:
                picked.setdefault(a.doc_id, a)
    return list(picked.values())


def referenced(question: str, articles: dict[str, Article]) -> list[Article]:
    """Articles the question names by date, or all of them (oldest first)."""
    return named_articles(question, articles) or sorted(articles.values(), key=lambda a: a.date or "")


def without_article_names(question: str, articles: dict[str, Article]) -> str:
    """The question without the dates it uses to name archive articles: "April 8" in "according to
    the April 8 report" says which article to read, not what to look for in it. Dates of events, and
    dates whose year no article has, stay."""
    if not _DATES_NAMING_ARTICLES.search(question):
        return question
    days = {(d.strftime("%b").lower(), d.day, d.year) for a in articles.values() if (d := _parse(a.date))}

    def drop_date(m: re.Match[str]) -> str:
        month, day, year = m.group(1)[:3].lower(), int(m.group(2)), m.group(3)
        named = any(k[:2] == (month, day) and (not year or int(year) == k[2]) for k in days)
        return "" if named else m.group(0)

    def drop_dates(m: re.Match[str]) -> str:
        return _MONTH_DAY.sub(drop_date, m.group(0))

    return re.sub(r"\s{2,}", " ", _DATES_NAMING_ARTICLES.sub(drop_dates, question)).strip()


def _parse(iso: str | None) -> date | None:
    try:
        return date.fromisoformat(iso or "")
    except ValueError:
        return None


def metadata_answer(question: str, articles: dict[str, Article]) -> MetadataAnswer | None:
    """An answer when the question is only about the articles' dates, order or headlines."""
    if not _ABOUT_ARTICLES.search(question) or not articles:
        return None
    content = [t for t in subject_terms(question) if t not in _META_WORDS and not t.isdigit()]
    # "headline" always means the article's; "title" may be a person's ("what title does it give
    # Khamenei?"), so it only asks for the headline when nothing else is asked about.
    if _HEADLINE.search(question) and (
        re.search(r"\bheadlines?\b", question, re.I) or _TITLE_OF_ARTICLE.search(question) or not content
    ):
        refs = referenced(question, articles)
        lines = [
            f"The {when(a)} article's headline: “{a.title}”."
            if a.headline
            else f"The {when(a)} article has no headline."
            for a in refs
        ]
        return MetadataAnswer(" ".join(lines), tuple(refs))
    if content:
        return None  # about what the articles say: answered from passages
    dated = sorted((a for a in articles.values() if a.date), key=lambda a: (a.date, a.time or ""))
    if _ORDER.search(question) and len(dated) >= 2:
        first, last = dated[0], dated[-1]
        text = (
            f"The {when(first)} article came out first; the most recent is the {when(last)} article."
            if len(dated) > 2
            else f"The {when(first)} article is older; the {when(last)} article is newer."
        )
        return MetadataAnswer(text, (first, last))
    if _WHEN.search(question):
        refs = [a for a in referenced(question, articles)]
        return MetadataAnswer(" ".join(f"“{a.title}” is dated {when(a)}." for a in refs), tuple(refs))
    return None
