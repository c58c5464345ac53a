"""Every file format an archive comes in, read into Articles with stable ids.

One article per file: plain text, Markdown, saved web pages. Many per file: RSS / Atom feeds (one
per entry) and exports from other tools (JSON Lines, CSV, a JSON array; one per row). A bad entry
or row is skipped with a one-line reason and the rest of its file is read.

Ids are the file's path inside its folder (so `bbc/article1` and `cnn/article1` never collide),
and for an entry or row, that plus the entry's own id, its URL, or a hash of its text.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from index.parse import HTML_SUFFIXES, TEXT_SUFFIXES, parse_text, read_text
from rag.errors import BadFileError
from rag.types import Article

if TYPE_CHECKING:
    from rag.settings import Settings

FEED_SUFFIXES = (".rss", ".atom", ".xml")
EXPORT_SUFFIXES = (".jsonl", ".ndjson", ".csv", ".tsv", ".json")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + FEED_SUFFIXES + EXPORT_SUFFIXES
SUPPORTED_HELP = ".txt, .md, .html, .rss/.atom/.xml feeds, .jsonl/.csv/.json exports"


@dataclass(frozen=True)
class Skipped:
    """A file, entry or row that was not indexed, and why."""

    path: str
    reason: str


@dataclass
class Found:
    """What one file gave: articles and the entries or rows skipped."""

    articles: list[Article] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


@dataclass(frozen=True)
class Limits:
    """How large a file may be: one article, or a feed / export of many."""

    article_bytes: int = 5_000_000
    collection_bytes: int = 2_000_000_000

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        """The limits the settings give (RAG_MAX_FILE_BYTES, RAG_MAX_EXPORT_BYTES)."""
        return cls(settings.max_file_bytes, settings.max_export_bytes)


def free_name(stem: str, suffix: str, taken: Callable[[str], bool]) -> str:
    """`stem + suffix`, or the first of `stem-2 + suffix`, `stem-3 + suffix`, ... not taken: how
    a repeated id, a file name or a folder name held by another source gets a name of its own."""
    candidate, n = stem + suffix, 1
    while taken(candidate):
        n += 1
        candidate = f"{stem}-{n}{suffix}"
    return candidate


def entry_key(own_id: object, url: object, *text: object) -> str:
    """An entry's or row's key inside its file: its own id when it has a short safe one, else a
    hash of its URL, else of its text (stable across runs, so re-indexing keeps ids)."""
    if isinstance(own_id, (str, int)) and not isinstance(own_id, bool) and str(own_id).strip():
        raw = str(own_id).strip()
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", raw).strip("._")
        if safe and len(safe) <= 48 and safe == raw:
            return safe
        return hashlib.sha256(raw.encode()).hexdigest()[:12]
    basis = str(url) if url else "\x1f".join(str(t or "") for t in text)
    return hashlib.sha256(basis.encode()).hexdigest()[:12]


def read_source(
    path: Path, doc_id: str, limits: Limits, fields: Mapping[str, str] | None = None, suffix: str | None = None
) -> Found:
    """The articles in one file (BadFileError when the file as a whole cannot be read); `suffix`
    says what the file is when its own name does not (an upload's temporary file)."""
    suffix = (suffix or path.suffix).lower()
    if suffix in FEED_SUFFIXES + EXPORT_SUFFIXES:
        size = path.stat().st_size
        if size == 0:
            raise BadFileError(f"{path.name}: empty file")
        if size > limits.collection_bytes:
            raise BadFileError(f"{path.name}: {size:,} bytes is over the {limits.collection_bytes:,}-byte limit")
    if suffix in FEED_SUFFIXES:
        from index.feeds import read_feed

        return read_feed(path, doc_id, limits)
    if suffix in EXPORT_SUFFIXES:
        from index.exports import read_export

        return read_export(path, doc_id, limits, fields or {}, suffix)
    if suffix in TEXT_SUFFIXES + HTML_SUFFIXES:
        text = read_text(path, limits.article_bytes)
        return Found([parse_text(text, doc_id, suffix=suffix, path=str(path))])
    raise BadFileError(f"{path.name}: unsupported type {suffix or '(none)'}; use {SUPPORTED_HELP}")


def unique_ids(found: list[Article]) -> list[Article]:
    """Ids made unique in order (a repeated id gets -2, -3...): two entries never overwrite each other."""
    import dataclasses

    taken: set[str] = set()
    out = []
    for a in found:
        doc_id = free_name(a.doc_id, "", taken.__contains__)
        taken.add(doc_id)
        out.append(a if doc_id == a.doc_id else dataclasses.replace(a, doc_id=doc_id))
    return out
