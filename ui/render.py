"""Pure HTML rendering for the web app: answers with source cards, articles with a highlighted span.

Every piece of article text or user input goes through `html.escape` here, and nowhere else builds
HTML from them, so a document containing `<script>` is shown as text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import escape

from rag.types import Answer, Article, ArticleSupport, Citation, Hit

_MARKER = re.compile(r"\[(\d+)\]")
CONTEXTS_SHOWN = 3  # closest passages offered with an abstention


def question_html(question: str) -> str:
    """The user's question, escaped."""
    return f'<div class="rag-question">{escape(question)}</div>'


def draft_html(text: str) -> str:
    """The answer as it is being generated, marked as a draft that will be checked."""
    return (
        '<div class="rag-draft"><div class="rag-draft-label">Drafting an answer, then checking it against the '
        f'articles…</div><p class="rag-text">{escape(text)}<span class="rag-cursor">▍</span></p></div>'
    )


def error_html(message: str) -> str:
    """A one-line error shown in place of an answer."""
    return f'<div class="rag-error"><span class="rag-error-label">Could not answer:</span> {escape(message)}</div>'


def answer_html(answer: Answer, articles: Mapping[str, Article] | None = None) -> str:
    """The verified answer: text with [n] markers tied to numbered source cards, or a distinct abstention."""
    notice = f'<div class="rag-notice">⚠ {escape(answer.notice)}</div>' if answer.notice else ""
    if answer.abstained:
        contexts = answer.contexts[:CONTEXTS_SHOWN]
        listed = ""
        if contexts:
            cards = "".join(context_card(i, h, articles) for i, h in enumerate(contexts, start=1))
            listed = f'<div class="rag-sources-title">Closest passages</div><div class="rag-sources">{cards}</div>'
        return (
            f'<div class="rag-answer rag-abstain">{notice}<p class="rag-abstain-text">'
            f'<span class="rag-abstain-icon">∅</span> {escape(answer.text)}</p>{listed}</div>'
        )
    numbers = {c.n: c for c in answer.citations}

    def marked(part: str) -> str:
        return _MARKER.sub(lambda m: _ref(numbers.get(int(m.group(1))), m.group(0)), escape(part))

    lead, _, rest = answer.text.partition("\n")
    if answer.short_answer is not None and rest:
        # The short answer comes first, in bold with its marker; the quote that proves it follows.
        text = f'<strong class="rag-short">{marked(lead)}</strong><br>{marked(rest)}'
    else:
        text = marked(answer.text)
    support = {s.n: s for s in answer.support}
    cards = "".join(citation_card(c, support.get(c.n)) for c in answer.citations)
    sources = f'<div class="rag-sources-title">Sources</div><div class="rag-sources">{cards}</div>' if cards else ""
    return f'<div class="rag-answer">{notice}<p class="rag-text">{text}</p>{sources}</div>'


def _ref(citation: Citation | None, raw: str) -> str:
    if citation is None:
        return raw
    return f'<sup class="rag-ref" title="{escape(citation.sentence)}">[{citation.n}]</sup>'


def citation_card(c: Citation, support: ArticleSupport | None = None) -> str:
    """One numbered source: title, date, which articles report it, and its passage with the
    supporting sentence in <mark>."""
    start, end = c.start - c.passage_start, c.end - c.passage_start
    if not (c.passage_end > c.passage_start and 0 <= start < end and c.text[start:end] == c.sentence):
        found = c.text.find(c.sentence) if c.sentence else -1
        start, end = (found, found + len(c.sentence)) if found >= 0 else (0, 0)
    passage = highlight(c.text, start, end) if end > start else f"<mark>{escape(c.sentence)}</mark>"
    return (
        f'<div class="rag-card"><div class="rag-card-head"><span class="rag-card-n">[{c.n}]</span> '
        f'<span class="rag-card-title">{escape(c.title)}</span>'
        f'<span class="rag-card-date">{escape(((c.source + " · ") if c.source else "") + (c.date or "undated"))}</span></div>'
        f"{_support_badge(support)}"
        f"{_copies(c)}"
        f'<div class="rag-passage">{passage}</div>'
        f'<div class="rag-card-foot">{escape(c.doc_id)} · characters {c.start}–{c.end} · '
        f"open it under “Sources of this chat”</div></div>"
    )


def _copies(c: Citation) -> str:
    """ "Also published by ..." when the same article arrived from other outlets or files."""
    if not c.also:
        return ""
    names = [x.source or x.doc_id for x in c.also]
    return f'<div class="rag-card-also">Same article also from {escape(", ".join(dict.fromkeys(names)))}</div>'


def _support_badge(support: ArticleSupport | None) -> str:
    if support is None:
        return ""
    kind = "both" if len(support.doc_ids) > 1 else "one"
    if support.conflicts:
        kind = "conflict"
    return f'<div class="rag-support rag-support-{kind}">{escape(support.label)}</div>'


def context_card(i: int, hit: Hit, articles: Mapping[str, Article] | None = None) -> str:
    """One retrieved passage offered after an abstention (no sentence is claimed to support anything)."""
    p = hit.passage
    article = (articles or {}).get(p.doc_id)
    title = article.title if article else p.doc_id
    date = (article.date if article else None) or "undated"
    return (
        f'<div class="rag-card rag-context"><div class="rag-card-head"><span class="rag-card-n">{i}.</span> '
        f'<span class="rag-card-title">{escape(title)}</span><span class="rag-card-date">{escape(date)}</span></div>'
        f'<div class="rag-passage">{escape(p.text)}</div>'
        f'<div class="rag-card-foot">{escape(p.doc_id)} · characters {p.start}–{p.end}</div></div>'
    )


def highlight(text: str, start: int, end: int) -> str:
    """The text escaped, with text[start:end] wrapped in <mark>."""
    start, end = max(0, start), min(len(text), end)
    return f"{escape(text[:start])}<mark>{escape(text[start:end])}</mark>{escape(text[end:])}"


def article_html(article: Article, span: tuple[int, int] | None = None, passage: tuple[int, int] | None = None) -> str:
    """The whole article, with the passage outlined and the span (a supporting sentence) in <mark>."""
    body = article.body
    if span is not None:
        start, end = span
        p_start, p_end = passage if passage and passage[0] <= start and end <= passage[1] else (start, end)
        text = (
            f'{escape(body[:p_start])}<span class="rag-span">{escape(body[p_start:start])}'
            f"<mark>{escape(body[start:end])}</mark>{escape(body[end:p_end])}</span>{escape(body[p_end:])}"
        )
    elif passage is not None:
        p_start, p_end = passage
        text = f"{escape(body[:p_start])}<mark>{escape(body[p_start:p_end])}</mark>{escape(body[p_end:])}"
    else:
        text = escape(body)
    meta = " · ".join(escape(x) for x in (article.date or "undated", article.source or "", article.doc_id) if x)
    return (
        f'<div class="rag-article"><h3 class="rag-article-title">{escape(article.title)}</h3>'
        f'<div class="rag-article-meta">{meta}</div><div class="rag-article-body">{text}</div></div>'
    )


def message_html(message: str, kind: str = "info") -> str:
    """A short status line (kind: info, error, building)."""
    return f'<div class="rag-status rag-status-{escape(kind)}">{escape(message)}</div>'


CSS = """
.rag-answer .rag-text, .rag-draft .rag-text { margin: 0 0 .5em 0; line-height: 1.5; white-space: pre-wrap; }
.rag-support { display: inline-block; font-size: .78em; border-radius: 999px; padding: 0 .6em; margin-bottom: .3em; }
.rag-support-both { background: #dcfce7; color: #166534; }
.rag-support-one { background: #e0e7ff; color: #3730a3; }
.rag-support-conflict { background: #fee2e2; color: #991b1b; }
.rag-ref { color: #1d4ed8; font-weight: 600; cursor: help; }
.rag-sources-title { font-size: .8em; text-transform: uppercase; letter-spacing: .05em; opacity: .7; margin: .6em 0 .3em; }
.rag-sources { display: flex; flex-direction: column; gap: .5em; }
.rag-card-also { font-size: .8em; opacity: .8; margin: .2em 0; }
.rag-card { border: 1px solid #cbd5e1; border-left: 4px solid #1d4ed8; border-radius: 6px; padding: .5em .7em;
  background: rgba(148, 163, 184, .08); font-size: .92em; }
.rag-card-head { display: flex; gap: .5em; align-items: baseline; margin-bottom: .3em; }
.rag-card-n { color: #1d4ed8; font-weight: 700; flex: none; }
.rag-card-title { font-weight: 600; flex: 1 1 auto; min-width: 0; }
.rag-card-date { opacity: .7; font-size: .9em; flex: none; white-space: nowrap; }
.rag-card-foot { opacity: .6; font-size: .8em; margin-top: .3em; }
.rag-passage, .rag-article-body { white-space: pre-wrap; line-height: 1.5; }
.rag-passage mark, .rag-article-body mark { background: #fde68a; color: #111827; padding: 0 .1em; border-radius: 2px; }
.rag-span { background: rgba(253, 230, 138, .3); }
.rag-abstain { border: 1px dashed #b45309; border-radius: 6px; padding: .5em .7em; background: rgba(245, 158, 11, .08); }
.rag-abstain-text { color: #92400e; font-style: italic; margin: 0 0 .4em 0; }
.rag-abstain-icon { font-style: normal; font-weight: 700; }
.rag-abstain .rag-card { border-left-color: #94a3b8; }
.rag-abstain .rag-card-n { color: #64748b; }
.rag-notice { color: #92400e; background: rgba(245, 158, 11, .12); border-radius: 4px; padding: .3em .5em;
  margin-bottom: .5em; font-size: .9em; }
.rag-draft { opacity: .75; }
.rag-draft-label { font-size: .8em; font-style: italic; margin-bottom: .3em; }
.rag-error { color: #b91c1c; }
.rag-error-label { font-weight: 600; }
.rag-article { padding: .5em; }
.rag-article-title { margin: 0 0 .2em 0; }
.rag-article-meta { opacity: .7; font-size: .85em; margin-bottom: .6em; }
.rag-article-body { max-height: 520px; overflow-y: auto; }
.rag-status-building { color: #92400e; }
.rag-status-error { color: #b91c1c; }
"""
