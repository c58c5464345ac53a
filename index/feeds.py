"""RSS 2.0 and Atom feeds, by feedparser: one article per entry, with the full content when the
feed carries it (content:encoded, Atom content), else its summary."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path
from typing import Any

from index.html import fragment_text
from index.parse import make_article
from index.sources import Found, Limits, Skipped, entry_key, unique_ids
from rag.errors import BadFileError

# feedparser holds a feed's whole tree and every entry in memory (about three to four times the
# file: an 18.6 MB feed of 10,000 entries peaked 65 MB above the process); larger feeds are refused
# with a reason rather than risking the machine's memory. Exports stream (JSON Lines, CSV, JSON).
WHOLE_FEED_BYTES = 200_000_000


def read_feed(path: Path, doc_id: str, limits: Limits) -> Found:
    """Every entry of a feed file; an entry with no text is skipped with its reason (size limits
    are checked by read_source)."""
    import feedparser

    size = path.stat().st_size
    if size > WHOLE_FEED_BYTES:
        raise BadFileError(
            f"{path.name}: feed of {size:,} bytes is over the {WHOLE_FEED_BYTES:,} a feed is read whole up to;"
            " split it, or index it as a JSON Lines or CSV export"
        )
    data = path.read_bytes()
    if not data.strip():
        raise BadFileError(f"{path.name}: empty file")
    # Bytes in a BytesIO: feedparser treats a bare string or bytes that look like a path or URL as
    # one to open, so a file holding just "/etc/..." would pull that file in.
    feed = feedparser.parse(io.BytesIO(data))
    if not feed.entries:
        reason = getattr(feed, "bozo_exception", None)
        detail = f" ({str(reason).splitlines()[0][:100]})" if reason else ""
        raise BadFileError(f"{path.name}: not an RSS or Atom feed with entries{detail}")
    outlet = _text(feed.feed.get("title")) or None
    found = Found()
    articles = []
    entries = list(feed.entries)
    cut = _cut_off(feed, data)
    if cut:
        # Cut off (an interrupted download): the lenient parser still returns the entry the file
        # breaks off in, with whatever text it had; every entry before it is whole.
        closed = len(_CLOSED_ENTRY.findall(data))
        if closed < len(entries):
            found.skipped.append(
                Skipped(f"{path} entry {len(entries)}", f"{cut}, inside this entry: the entries before it were read")
            )
            entries = entries[:-1]
        else:
            found.skipped.append(Skipped(str(path), f"{cut}, after its last whole entry: all {len(entries)} were read"))
    for n, entry in enumerate(entries, 1):
        where = f"{path} entry {n}"
        body = _content(entry)
        title = _text(entry.get("title"))
        if not body.strip():
            found.skipped.append(Skipped(where, f"no text{f' ({title[:60]})' if title else ''}"))
            continue
        if len(body.encode()) > limits.article_bytes:
            found.skipped.append(Skipped(where, f"text over the {limits.article_bytes:,}-byte limit"))
            continue
        source = _text((entry.get("source") or {}).get("title")) or outlet
        key = entry_key(entry.get("id"), entry.get("link"), title, body)
        try:
            articles.append(
                make_article(
                    f"{doc_id}/{key}",
                    title,
                    _when(entry),
                    source,
                    body,
                    str(path),
                    author=_text(entry.get("author")) or None,
                    url=entry.get("link") or None,
                )
            )
        except BadFileError:
            found.skipped.append(Skipped(where, "no article text"))
    if not articles and cut and not entries:
        raise BadFileError(f"{path.name}: {cut}, inside its first entry")
    if not articles and feed.get("bozo"):
        reason = str(feed.get("bozo_exception", "")).splitlines()[0][:100]
        raise BadFileError(f"{path.name}: not an RSS or Atom feed with entries ({reason or 'malformed'})")
    found.articles = unique_ids(articles)
    return found


_CLOSED_ENTRY = re.compile(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>")
_CLOSED_FEED = re.compile(rb"</(?:[\w.-]+:)?(?:rss|feed|RDF)\s*>")


def _cut_off(feed: Any, data: bytes) -> str | None:
    """How the file breaks off, when it is cut short (an interrupted download: an XML error and no
    closing tag of the feed itself anywhere); None for a whole file, also one with an error inside
    (a stray "&" mid-feed, junk after its end), which the lenient parser reads past."""
    from xml.sax import SAXParseException

    error = feed.get("bozo_exception")
    if not isinstance(error, SAXParseException) or _CLOSED_FEED.search(data):
        return None
    return f"the feed breaks off before its end ({error.getMessage()})"


def _content(entry: Any) -> str:
    """The fullest text an entry has: its content blocks, else its summary (HTML made text)."""
    blocks = [c.get("value", "") for c in entry.get("content") or [] if c.get("value")]
    raw = max(blocks, key=len) if blocks else entry.get("summary", "") or ""
    return fragment_text(raw)


def _when(entry: Any) -> str | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    return time.strftime("%Y-%m-%d %H:%M", parsed)


def _text(value: object) -> str:
    return fragment_text(str(value)).strip() if value else ""
