"""Saved web pages: the article's main text and metadata, by trafilatura.

News pages carry navigation, promos ("Sign up for our newsletter"), video and ad labels, photo
credits and related-story lists around a few paragraphs of article. trafilatura (maintained, built
for exactly this) finds the main text and reads title, date, site name, author and canonical URL
from the page's metadata; nothing here is a hand-written list of boilerplate phrases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from index.parse import parse_date_prefix
from rag.errors import BadFileError

# The time of day, when the page's published-time metadata gives one (trafilatura keeps the date).
_PUBLISHED_TIME = re.compile(
    r"""(?:article:published_time|datePublished|pubdate)["']?\s*(?:content=|:)\s*["']\d{4}-\d{2}-\d{2}[T ](\d{2}:\d{2})""",
    re.I,
)


@dataclass(frozen=True)
class Page:
    """What a saved news page says about its article."""

    title: str
    date: str | None  # "2024-03-05" or "2024-03-05 08:30"
    source: str | None
    author: str | None
    url: str | None
    body: str


SHORT_TEXT = 300  # characters: below this, an extraction is checked against the page's visible text
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def parse_html(html: str, name: str = "page") -> Page:
    """The article in a saved page (BadFileError when the page has no article text)."""
    import trafilatura
    from trafilatura.settings import set_date_params

    doc = trafilatura.bare_extraction(
        html,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        favor_precision=True,
        # The publication date from the page's markup and metadata only: htmldate's extensive
        # search takes a footer's "(c) 2024" for 1 January 2024 (the other parameters are
        # trafilatura's own: the original date, not the last-modified one; none after today).
        date_extraction_params=set_date_params(extensive=False),
    )
    meta: Any = doc
    text = (getattr(meta, "text", None) or "").strip()
    if len(text) < SHORT_TEXT:
        # Little or no text for trafilatura to call an article (a short page, a bare fragment):
        # check it against the visible text without scripts, navigation and page furniture. None
        # visible means trafilatura took the furniture itself (a page of menus only).
        visible = _visible_text(html)
        if visible == "":
            text = ""
        elif not text:
            text = visible or ""
    if not text:
        raise BadFileError(f"{name}: no article text found in the page")
    if meta is None:
        return Page("", None, None, None, None, text)
    title = (meta.title or "").strip()
    author = (meta.author or "").strip() or None
    lines = text.split("\n")
    # The page's own headline and byline often open the extracted text: they are metadata.
    while lines and (lines[0].strip() == title or _is_byline(lines[0], author)):
        lines.pop(0)
    # A dateline alone on the first line is the date, not article text.
    opening = parse_date_prefix(lines[0].strip()) if lines else None
    dateline = opening[0] if opening is not None and not opening[1].strip() else None
    if dateline:
        lines.pop(0)
    date = None
    if meta.date:
        dated = parse_date_prefix(meta.date)
        date = dated[0] if dated else None
        clock = _PUBLISHED_TIME.search(html)
        if date and clock:
            date = f"{date} {clock.group(1)}"
    return Page(
        title, date or dateline, (meta.sitename or "").strip() or None, author, meta.url or None, "\n".join(lines)
    )


def _visible_text(html: str) -> str | None:
    """The page's text outside scripts, navigation and page furniture; None when lxml cannot
    read the page (then nothing is concluded from it)."""
    import lxml.html

    # lxml refuses a str that declares its encoding (an XHTML page's first line).
    html = _XML_DECLARATION.sub("", html, count=1)
    try:
        root = lxml.html.document_fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return None
    for bad in root.xpath("//script|//style|//noscript|//template|//nav|//header|//footer|//aside|//head"):
        bad.drop_tree()
    return "\n".join(
        ln.strip() for ln in fragment_text(lxml.html.tostring(root, encoding="unicode")).split("\n") if ln.strip()
    )


def _is_byline(line: str, author: str | None) -> bool:
    line = line.strip()
    return bool(author) and len(line) < 120 and line.lower().startswith("by ") and str(author).split(";")[0] in line


_BLOCKS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "section", "article", "pre"}


def fragment_text(fragment: str) -> str:
    """Plain text of an HTML fragment (a feed entry's or an export row's content): blocks become
    lines, scripts and styles are dropped, entities decoded. Text without tags comes back as is."""
    if "<" not in fragment or not re.search(r"<[A-Za-z/!]", fragment):
        return fragment
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (ValueError, lxml.etree.ParserError):
        return re.sub(r"<[^>]+>", " ", fragment)
    for bad in root.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCKS:
            el.tail = "\n" + (el.tail or "")
            if el.tag.lower() == "br":
                continue
            el.text = "\n" + (el.text or "")
    return root.text_content()
