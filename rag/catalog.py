"""Questions about the articles themselves (which is older, when was it published, its headline),
answered from article metadata rather than from passages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from rag.abstain import stem, subject_terms
from rag.types import Article

_ORDER = re.compile(r"\b(older|oldest|newer|newest|earlier|earliest|later|latest|most recent|first|came out)\b", re.I)
_WHEN = re.compile(r"\b(published|publication|dated|date|what time|when was|timestamp)\b", re.I)
_HEADLINE = re.compile(r"\b(headlines?|titles?)\b", re.I)
_ABOUT_ARTICLES = re.compile(r"\b(articles?|reports?|stories|story|pieces?|piece|headlines?)\b", re.I)
_MONTH_DAY = re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})\b", re.I)
_MONTH_DAY_YEAR = re.compile(_MONTH_DAY.pattern + r"(?:,?\s+\d{4})?", re.I)
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


def named_articles(question: str, articles: dict[str, Article]) -> list[Article]:
    """Articles the question names by their date ("the April 8 article", "per the April 7 piece")."""
    picked = []
    for month, day in _MONTH_DAY.findall(question):
        for a in articles.values():
            if a.date and a not in picked:
                try:
                    d = date.fromisoformat(a.date)
                except ValueError:
                    continue
                if d.strftime("%b").lower() == month[:3].lower() and d.day == int(day):
                    picked.append(a)
    return picked


def referenced(question: str, articles: dict[str, Article]) -> list[Article]:
    """Articles the question names by date, or all of them (oldest first)."""
    return named_articles(question, articles) or sorted(articles.values(), key=lambda a: a.date or "")


def without_article_names(question: str, articles: dict[str, Article]) -> str:
    """The question without the dates that name archive articles: "April 8" in "according to the
    April 8 report" says which article to read, not what to look for in it."""
    dates = {(d.strftime("%b").lower(), d.day) for d in _dates(articles)}

    def drop(m: re.Match[str]) -> str:
        return "" if (m.group(1)[:3].lower(), int(m.group(2))) in dates else m.group(0)

    return re.sub(r"\s{2,}", " ", _MONTH_DAY_YEAR.sub(drop, question)).strip()


def _dates(articles: dict[str, Article]) -> list[date]:
    out = []
    for a in articles.values():
        try:
            out.append(date.fromisoformat(a.date or ""))
        except ValueError:
            continue
    return out


def metadata_answer(question: str, articles: dict[str, Article]) -> MetadataAnswer | None:
    """An answer when the question is only about the articles' dates, order or headlines."""
    if not _ABOUT_ARTICLES.search(question) or not articles:
        return None
    content = [t for t in subject_terms(question) if t not in _META_WORDS and not t.isdigit()]
    # "headline" always means the article's; "title" may be a person's ("what title does it give
    # Khamenei?"), so it only asks for the headline when nothing else is asked about.
    if _HEADLINE.search(question) and (re.search(r"\bheadlines?\b", question, re.I) or not content):
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
