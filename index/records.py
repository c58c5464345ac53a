"""Reading and writing the article and passage records of a generation (JSON Lines)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from rag.errors import IndexCorruptError
from rag.types import Article, Passage


def write_jsonl(path: Path, rows: Iterable[object]) -> None:
    """Write rows as JSON Lines and fsync."""
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False))
            fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())


def save_records(gen: Path, articles: Iterable[Article], passages: Iterable[Passage]) -> None:
    """Store articles and passages of a generation."""
    write_jsonl(gen / "articles.jsonl", (asdict(a) for a in articles))
    write_jsonl(
        gen / "passages.jsonl",
        ([p.id, p.doc_id, p.start, p.end, [list(s) for s in p.sentences]] for p in passages),
    )


def load_records(gen: Path) -> tuple[dict[str, Article], list[Passage]]:
    """Articles by id and passages in row order (passage text is sliced from the article body)."""
    try:
        articles = {}
        with open(gen / "articles.jsonl", encoding="utf-8") as fh:
            for line in fh:
                a = Article(**json.loads(line))
                articles[a.doc_id] = a
        passages = []
        with open(gen / "passages.jsonl", encoding="utf-8") as fh:
            for line in fh:
                pid, doc_id, start, end, sents = json.loads(line)
                body = articles[doc_id].body
                passages.append(Passage(pid, doc_id, start, end, body[start:end], tuple((s, e) for s, e in sents)))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(
            f"index records in {gen} are damaged ({type(exc).__name__}); rebuild with `rag index --rebuild`"
        ) from None
    return articles, passages
