"""Questions about the articles themselves (which is older, when was it published, its headline),
answered from article metadata rather than from passages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from index.text import contains_phrase, fold, stem, tokenize
from rag.query import Query
from rag.types import Article

MAX_RELATED = 5  # articles a metadata question with no article named is answered about

_ORDER = re.compile(r"\b(older|oldest|newer|newest|earlier|earliest|later|latest|most recent|first|came out)\b", re.I)
_WHEN = re.compile(r"\b(published|publication|dated|date|what time|when was|timestamp)\b", re.I)
_HEADLINE = re.compile(r"\b(headlines?|titles?)\b", re.I)
_SOME = re.compile(r"\b(two|three|four|five|both|these|those|them|each|either|neither)\b", re.I)
_ABOUT_ARTICLES = re.compile(r"\b(articles?|reports?|stories|story|pieces?|piece|headlines?)\b", re.I)
_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
# "March 8", "Mar. 8, 2024": month, day and an optional year (groups 1, 2, 3).
_MONTH_DAY = re.compile(r"\b" + _MONTH + r"\.?\s+(\d{1,2})\b(?:,?\s+((?:19|20)\d\d)\b)?", re.I)
# Dates used as articles' names: "the March 8 report", "March 7's article", "the March 7 and
# March 8 articles".
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
    "says what article articles report story piece year both each all every".split()
}
_AUTHOR_WORDS = {stem(w) for w in "who wrote write writes written authored author authors byline bylines".split()}


# Month names are how questions point at an article ("the March 8 article"), not content.
_META_WORDS |= {
    stem(m) for m in "january february march april may june july august september october november december".split()
}


@dataclass(frozen=True)
class MetadataAnswer:
    """An answer built from article metadata, and the articles it rests on."""

    text: str
    articles: tuple[Article, ...]


def when(article: Article, clock: bool = True) -> str:
    """'March 8, 2024, 11:24' (or 'undated')."""
    if not article.date:
        return "undated"
    try:
        d = date.fromisoformat(article.date)
    except ValueError:
        return article.date
    return f"{d:%B} {d.day}, {d.year}" + (f", {article.time}" if article.time and clock else "")


HEADLINE_WORDS = 8  # words of a headline in an article's name


def short_headline(article: Article) -> str:
    """The first HEADLINE_WORDS words of the headline (with … when cut)."""
    parts = article.title.split()
    return " ".join(parts[:HEADLINE_WORDS]) + ("…" if len(parts) > HEADLINE_WORDS else "")


def article_name(article: Article | None, headline: bool = True) -> str:
    """How an answer names an article: outlet, date and headline, as far as they are known
    ('the CNN article of July 31, 2022, “Nichelle Nichols, trailblazing …”')."""
    if article is None:
        return "an article"
    outlet = f"{article.source} " if article.source else ""
    dated = f" of {when(article, clock=False)}" if article.date else ""
    head = f", “{short_headline(article)}”" if headline and article.headline else ""
    if not outlet and not dated:
        return f"the article “{short_headline(article)}”"
    return f"the {outlet}article{dated}{head}"


def named_articles(question: str, articles: dict[str, Article], as_source: bool = False) -> list[Article]:
    """Articles the question names by their date ("the March 8 article"); a year, when given, must
    match too. With as_source, only dates used as an article's name ("according to the March 8
    report") count, not dates of events ("what happened on March 7?")."""
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


def referenced(question: str, articles: dict[str, Article], related: list[Article]) -> list[Article]:
    """Articles the question names (by date or outlet), or else the ones it is about (the articles
    of its best passages), oldest first: never the whole archive."""
    named = named_articles(question, articles) or named_outlets(question, articles)
    chosen = named or related[:MAX_RELATED]
    return sorted(chosen, key=lambda a: (a.date or "", a.time or ""))


def outlets(articles: dict[str, Article]) -> dict[str, list[Article]]:
    """The articles of each outlet or source the archive records."""
    by: dict[str, list[Article]] = {}
    for a in articles.values():
        if a.source:
            by.setdefault(a.source, []).append(a)
    return by


def named_outlets(question: str, articles: dict[str, Article]) -> list[Article]:
    """Articles of the outlets a question names as whole words ("according to CNN"), when that
    is some of the archive but not all of it."""
    picked = [a for src, arts in outlets(articles).items() if names_outlet(question, src) for a in arts]
    return picked if 0 < len(picked) < len(articles) else []


def names_outlet(question: str, source: str) -> bool:
    """Whether the question names the outlet as it is written ("the Times", not "how many times"),
    or, for a name in capitals ("CNN"), in any case."""
    if source.isupper():
        return contains_phrase(question, source, fuzzy=False)
    name = r"\s+".join(re.escape(w) for w in source.split())
    return re.search(rf"(?<!\w){name}(?!\w)", question) is not None


def subject_terms(question: str) -> list[str]:
    """Stems of the question's tokens that are not about the articles themselves."""
    return [s for s in dict.fromkeys(stem(t) for t in tokenize(question)) if s not in _META_WORDS]


def without_article_names(question: str, articles: dict[str, Article]) -> str:
    """The question without the dates it uses to name archive articles: "March 8" in "according to
    the March 8 report" says which article to read, not what to look for in it. Dates of events, and
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


def named_outlet_forms(question: str, articles: dict[str, Article]) -> set[str]:
    """The folded names of the outlets the question names to pick articles ("according to the
    Valley Times"): what they say is not looked for in the passages, which never need to say it."""
    if not named_outlets(question, articles):
        return set()
    return {fold(src) for src in outlets(articles) if names_outlet(question, src)}


def _outlet_words(articles: dict[str, Article]) -> set[str]:
    return {stem(t) for src in outlets(articles) for t in tokenize(src)}


def _parse(iso: str | None) -> date | None:
    try:
        return date.fromisoformat(iso or "")
    except ValueError:
        return None


def _of_the_article(query: Query, verbs: set[str], nouns: set[str]) -> bool:
    """Whether the question asks this of the article itself, by its parse: the article is what was
    written or published ("who wrote the tram strike article?", "when was the piece published?",
    "the author of the article"), not a document it is about ("who wrote the report that the
    article describes?", "the author of the audit report in the article")."""
    return bool(query.article_verbs & verbs or query.article_nouns & nouns)


def _described(subject: list[str], related: list[Article]) -> list[Article]:
    """The articles of the best passages whose headline and text have every word of a question's
    subject ("the tram strike article"), best first: all of them when several do."""
    if not subject:
        return []
    found = []
    for a in dict.fromkeys(related[:MAX_RELATED]):
        if set(subject) <= {stem(t) for t in tokenize(f"{a.title} {a.body}")}:
            found.append(a)
    return found


def metadata_answer(query: Query, articles: dict[str, Article], related: list[Article]) -> MetadataAnswer | None:
    """An answer when the question (`query`: its record as asked, with the dates or outlet that
    name articles) is only about the articles' dates, order or headlines: about the articles it
    names, or else the articles of its best passages (`related`, best first)."""
    question = query.text
    if not _ABOUT_ARTICLES.search(question) or not articles:
        return None
    content = [t for t in subject_terms(question) if not t.isdigit() and t not in _outlet_words(articles)]
    # "headline" always means the article's; "title" may be a person's ("what title does it give
    # the minister?"), so it only asks for the headline when nothing else is asked about.
    if _HEADLINE.search(question) and (
        re.search(r"\bheadlines?\b", question, re.I) or _TITLE_OF_ARTICLE.search(question) or not content
    ):
        refs = referenced(question, articles, related)
        lines = [
            f"The {when(a)} article's headline: “{a.title}”."
            if a.headline
            else f"The {when(a)} article has no headline."
            for a in refs
        ]
        return MetadataAnswer(" ".join(lines), tuple(refs))
    if _of_the_article(query, verbs={"write", "author"}, nouns={"author", "byline", "writer"}):
        subject = [t for t in content if t not in _AUTHOR_WORDS]
        named = named_articles(question, articles) or named_outlets(question, articles)
        refs = named or _described(subject, related)
        if not refs and not subject:
            refs = referenced(question, articles, related)
        if not refs:
            return None
        return MetadataAnswer(
            " ".join(
                f"The {when(a)} article “{a.title}” is by {a.author}."
                if a.author
                else f"The {when(a)} article “{a.title}” names no author."
                for a in refs
            ),
            tuple(refs),
        )
    if content:
        # "When was the tram strike article published?": the article its words describe, when the
        # best passage's article has every one of them; else about what the articles say.
        found = _described(content, related)
        if not found or _ORDER.search(question) or not _of_the_article(query, {"publish", "date"}, {"date"}):
            return None
        return MetadataAnswer(
            " ".join(f"“{a.title}” is dated {when(a)}." if a.date else f"“{a.title}” has no date." for a in found),
            tuple(found),
        )
    named = named_articles(question, articles) or named_outlets(question, articles)
    if _ORDER.search(question) and not named and not _SOME.search(question):
        # Which article of the archive came out first: the whole archive's first and last (not
        # for "which of the two articles is older?", about the articles of its best passages).
        dated = sorted((a for a in articles.values() if a.date), key=lambda a: (a.date or "", a.time or ""))
    else:
        dated = [a for a in referenced(question, articles, related) if a.date]
    if _ORDER.search(question) and len(dated) >= 2:
        first, last = dated[0], dated[-1]
        text = (
            f"The {when(first)} article came out first; the most recent is the {when(last)} article."
            if len(dated) > 2
            else f"The {when(first)} article is older; the {when(last)} article is newer."
        )
        return MetadataAnswer(text, (first, last))
    if _WHEN.search(question):
        refs = referenced(question, articles, related)
        return MetadataAnswer(" ".join(f"“{a.title}” is dated {when(a)}." for a in refs), tuple(refs))
    return None
