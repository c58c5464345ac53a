"""Reading and writing the article and passage records of a generation.

Articles are JSON Lines (one object each). Passages are one JSON object of columns (ids, article,
start, end, sentence spans) read into a `PassageTable`, which makes a `Passage` only when one is
asked for: opening a 100,000-passage index then parses a few flat lists instead of building
100,000 objects, which is most of a cold start's index time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import overload

import numpy as np

from rag.errors import IndexCorruptError
from rag.types import Article, Copy, Passage

PASSAGES_FILE = "passages.json"
ARTICLES_FILE = "articles.jsonl"
OLD_PASSAGES_FILE = "passages.jsonl"  # index format 1: one JSON line per passage


class PassageTable(Sequence[Passage]):
    """Every passage of a generation in row order (the BM25 row order), stored as columns."""

    def __init__(
        self,
        articles: Mapping[str, Article],
        docs: list[str],
        ids: list[str],
        doc: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        first_sentence: np.ndarray,
        sentences: np.ndarray,
    ) -> None:
        self._articles = articles
        self._docs = docs
        self._ids = ids
        self._doc = doc
        self._start = start
        self._end = end
        self._first = first_sentence  # passage i owns sentences[first[i]:first[i+1]]
        self._sentences = sentences  # (n, 2) absolute spans
        self._row_of: dict[str, int] | None = None

    @classmethod
    def from_passages(cls, articles: Mapping[str, Article], passages: Iterable[Passage]) -> PassageTable:
        """Columns from passage objects (rows keep the given order)."""
        rows = list(passages)
        docs = sorted({p.doc_id for p in rows})
        index = {d: i for i, d in enumerate(docs)}
        counts = np.fromiter((len(p.sentences) for p in rows), dtype=np.int64, count=len(rows))
        spans = [span for p in rows for span in p.sentences]
        return cls(
            articles,
            docs,
            [p.id for p in rows],
            np.fromiter((index[p.doc_id] for p in rows), dtype=np.int64, count=len(rows)),
            np.fromiter((p.start for p in rows), dtype=np.int64, count=len(rows)),
            np.fromiter((p.end for p in rows), dtype=np.int64, count=len(rows)),
            np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            np.asarray(spans, dtype=np.int64).reshape(-1, 2),
        )

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, row: int) -> Passage: ...

    @overload
    def __getitem__(self, row: slice) -> list[Passage]: ...

    def __getitem__(self, row: int | slice) -> Passage | list[Passage]:
        if isinstance(row, slice):
            return [self._make(i) for i in range(*row.indices(len(self)))]
        if row < 0:
            row += len(self)
        if not 0 <= row < len(self):
            raise IndexError(row)
        return self._make(row)

    def __iter__(self) -> Iterator[Passage]:
        return (self._make(i) for i in range(len(self)))

    def _make(self, row: int) -> Passage:
        doc_id = self._docs[self._doc[row]]
        start, end = int(self._start[row]), int(self._end[row])
        spans = self._sentences[self._first[row] : self._first[row + 1]].tolist()
        body = self._articles[doc_id].body
        return Passage(self._ids[row], doc_id, start, end, body[start:end], tuple((s, e) for s, e in spans))

    def row_of(self, passage_id: str) -> int | None:
        """The row of a passage id (None when the generation has no such passage)."""
        if self._row_of is None:
            self._row_of = {pid: row for row, pid in enumerate(self._ids)}
        return self._row_of.get(passage_id)

    def get(self, passage_id: str) -> Passage | None:
        """The passage with this id, if any."""
        row = self.row_of(passage_id)
        return None if row is None else self._make(row)

    def rows_by_doc(self) -> dict[str, np.ndarray]:
        """The rows of each article's passages, in row order."""
        order = np.argsort(self._doc, kind="stable")
        bounds = np.searchsorted(self._doc[order], np.arange(len(self._docs) + 1))
        return {d: order[bounds[i] : bounds[i + 1]] for i, d in enumerate(self._docs) if bounds[i] < bounds[i + 1]}

    def to_json(self) -> dict[str, list]:
        """The on-disk columns."""
        return {
            "docs": self._docs,
            "ids": self._ids,
            "doc": self._doc.tolist(),
            "start": self._start.tolist(),
            "end": self._end.tolist(),
            "first_sentence": self._first.tolist(),
            "sentences": self._sentences.reshape(-1).tolist(),
        }

    @classmethod
    def from_json(cls, articles: Mapping[str, Article], data: object) -> PassageTable:
        """Columns read back, checked against each other and the articles (ValueError when they disagree)."""
        if not isinstance(data, dict):
            raise ValueError("passage records are not an object")
        docs, ids = data["docs"], data["ids"]
        if not all(isinstance(x, list) and all(isinstance(v, str) for v in x) for x in (docs, ids)):
            raise ValueError("passage and article ids are not strings")
        if len(set(ids)) != len(ids) or len(set(docs)) != len(docs):
            raise ValueError("passage or article ids repeat")
        doc, start, end, first, sentences = (
            _int_column(data[k]) for k in ("doc", "start", "end", "first_sentence", "sentences")
        )
        n = len(ids)
        if not (doc.shape == start.shape == end.shape == (n,) and first.shape == (n + 1,)) or sentences.size % 2:
            raise ValueError("passage columns differ in length")
        sentences = sentences.reshape(-1, 2)
        if any(d not in articles for d in docs) or (n and (doc.min() < 0 or doc.max() >= len(docs))):
            raise ValueError("passages refer to missing articles")
        lengths = np.asarray([len(articles[d].body) for d in docs], dtype=np.int64)
        if n and (
            (start < 0).any()
            or (end < start).any()
            or (end > lengths[doc]).any()
            or first[0] != 0
            or first[-1] != len(sentences)
            or (np.diff(first) < 0).any()
        ):
            raise ValueError("passage offsets fall outside their articles")
        owner = np.repeat(np.arange(n), np.diff(first))  # the passage of each sentence
        if len(sentences) and (
            (sentences[:, 0] < start[owner]).any()
            or (sentences[:, 1] > end[owner]).any()
            or (sentences[:, 1] < sentences[:, 0]).any()
        ):
            raise ValueError("sentence offsets fall outside their passages")
        return cls(articles, docs, ids, doc, start, end, first, sentences)


def _int_column(values: object) -> np.ndarray:
    """A list of integers as an int64 array (ValueError for anything else: floats, strings, nesting)."""
    if not isinstance(values, list) or not all(type(v) is int for v in values):
        raise ValueError("a passage column holds something other than integers")
    return np.asarray(values, dtype=np.int64)


def write_jsonl(path: Path, rows: Iterable[object]) -> None:
    """Write rows as JSON Lines and fsync."""
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False))
            fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())


# Every way a damaged records file can fail to parse; each becomes one IndexCorruptError.
_DAMAGE = (OSError, ValueError, KeyError, TypeError, OverflowError, RecursionError)


def _damaged(gen: Path, exc: BaseException) -> IndexCorruptError:
    return IndexCorruptError(
        f"index records in {gen} are damaged ({type(exc).__name__}); rebuild with `rag index --rebuild`"
    )


def read_articles(gen: Path) -> dict[str, Article]:
    articles = {}
    with open(gen / ARTICLES_FILE, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("an article record is not an object")
            row["also"] = tuple(Copy(**c) for c in row.get("also", ()))
            a = Article(**row)
            articles[a.doc_id] = a
    return articles


def _write_columns(path: Path, table: PassageTable) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(table.to_json(), fh, ensure_ascii=False, separators=(",", ":"))
        fh.flush()
        os.fsync(fh.fileno())


def save_records(gen: Path, articles: Iterable[Article], passages: Iterable[Passage]) -> None:
    """Store articles and passages of a generation."""
    by_id = {a.doc_id: a for a in articles}
    write_jsonl(gen / ARTICLES_FILE, (asdict(a) for a in by_id.values()))
    _write_columns(gen / PASSAGES_FILE, PassageTable.from_passages(by_id, passages))


def load_records(gen: Path) -> tuple[dict[str, Article], PassageTable]:
    """Articles by id and passages in row order (passage text is sliced from the article body)."""
    try:
        articles = read_articles(gen)
        with open(gen / PASSAGES_FILE, encoding="utf-8") as fh:
            passages = PassageTable.from_json(articles, json.load(fh))
    except _DAMAGE as exc:
        raise _damaged(gen, exc) from None
    return articles, passages


def upgrade_records(gen: Path) -> None:
    """Rewrite a format-1 generation's passage lines as columns (no re-embedding: the vectors and
    BM25 rows are unchanged), written beside it and then renamed into place."""
    try:
        articles = read_articles(gen)
        passages = []
        with open(gen / OLD_PASSAGES_FILE, encoding="utf-8") as fh:
            for line in fh:
                pid, doc_id, start, end, sents = json.loads(line)
                body = articles[doc_id].body
                passages.append(Passage(pid, doc_id, start, end, body[start:end], tuple((s, e) for s, e in sents)))
    except _DAMAGE as exc:
        raise _damaged(gen, exc) from None
    tmp = gen / f".{PASSAGES_FILE}.{os.getpid()}.tmp"
    _write_columns(tmp, PassageTable.from_passages(articles, passages))
    os.replace(tmp, gen / PASSAGES_FILE)
