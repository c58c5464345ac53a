"""Dense, BM25 and hybrid (reciprocal rank fusion) retrieval over one index snapshot."""

from __future__ import annotations

import calendar
from collections.abc import Collection

import numpy as np

from index.embed import Embedder
from index.names import Names
from index.snapshot import Snapshot
from index.text import tokenize
from rag.abstain import years_in
from rag.errors import IndexMismatchError
from rag.types import Hit, Passage

RRF_K = 60
COMPARED_ARTICLES = 4  # articles a comparison question gets evidence from, at most
PER_ARTICLE_K = 3  # passages searched in each of them
MODES = ("hybrid", "dense", "bm25")


class Retriever:
    """Finds the passages most likely to answer a question; never rebuilds an index per query."""

    def __init__(self, snapshot: Snapshot, embedder: Embedder) -> None:
        built = snapshot.manifest.get("signature", {})
        if (built.get("embedder"), built.get("dim")) != (embedder.name, embedder.dim):
            # Vectors of one model searched with another's are noise (or, of another size, a crash).
            raise IndexMismatchError(
                f"the index was built with the embedder {built.get('embedder')} ({built.get('dim')} dimensions) "
                f"but questions are embedded with {embedder.name} ({embedder.dim}); run `rag index --rebuild` "
                "or go back to that embedder (RAG_EMBEDDER)"
            )
        self.snapshot = snapshot
        self.embedder = embedder
        self._rows = snapshot.passages.rows_by_doc()
        self.archive = ArchiveWords(snapshot)

    def dense(
        self, query: str, k: int, vector: np.ndarray | None = None, doc_ids: Collection[str] | None = None
    ) -> list[Hit]:
        """Nearest passages by cosine similarity of MiniLM vectors (of the given articles only)."""
        vec = self.embedder.embed([query])[0] if vector is None else vector
        matrix = self.snapshot.vectors
        if matrix is not None:
            rows = self._doc_rows(doc_ids) if doc_ids else None
            return [Hit(self.snapshot.passages[row], score, ("dense",)) for row, score in matrix.query(vec, k, rows)]
        found = ((self.snapshot.passages.get(pid), score) for pid, score in self.snapshot.store.query(vec, k, doc_ids))
        return [Hit(p, score, ("dense",)) for p, score in found if p is not None]

    def passage_at(self, doc_id: str, start: int, end: int) -> Passage | None:
        """The article's passage that holds body[start:end] (None when no one passage does)."""
        table = self.snapshot.passages
        for row in self._rows.get(doc_id, ()):
            passage = table[int(row)]
            if passage.start <= start and end <= passage.end:
                return passage
        return None

    def _doc_rows(self, doc_ids: Collection[str]) -> np.ndarray:
        """The passage rows of these articles."""
        parts = [self._rows[d] for d in sorted(doc_ids) if d in self._rows]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def bm25(self, query: str, k: int, doc_ids: Collection[str] | None = None) -> list[Hit]:
        """Best passages by BM25 (of the given articles only)."""
        rows = self._doc_rows(doc_ids) if doc_ids else None
        return [
            Hit(self.snapshot.passages[row], score, ("bm25",))
            for row, score in self.snapshot.lexical.search(query, k, rows)
        ]

    def hybrid(
        self, query: str, k: int, vector: np.ndarray | None = None, doc_ids: Collection[str] | None = None
    ) -> list[Hit]:
        """Dense and BM25 rankings fused by reciprocal rank fusion."""
        depth = max(3 * k, 20)
        return fuse([self.dense(query, depth, vector, doc_ids), self.bm25(query, depth, doc_ids)], k)

    def search(
        self,
        query: str,
        k: int,
        mode: str = "hybrid",
        vector: np.ndarray | None = None,
        doc_ids: Collection[str] | None = None,
    ) -> list[Hit]:
        """Top-k passages in the given mode, overlapping passages of one article de-duplicated;
        only passages of the articles in doc_ids when it is given (a question about one article)."""
        if mode == "dense":
            hits = self.dense(query, 2 * k, vector, doc_ids)
        elif mode == "bm25":
            hits = self.bm25(query, 2 * k, doc_ids)
        else:
            hits = self.hybrid(query, 2 * k, vector, doc_ids)
        return dedupe_overlaps(hits)[:k]

    def per_article(
        self, query: str, hits: list[Hit], k: int, mode: str = "hybrid", vector: np.ndarray | None = None
    ) -> list[Hit]:
        """The hits plus the best passages of each of the first COMPARED_ARTICLES articles in the
        ranking, searched one article at a time: a question that compares articles needs each
        article's best passage, which a search of the whole archive may rank below another
        article's fifth."""
        docs = list(dict.fromkeys(h.passage.doc_id for h in hits))
        if len(docs) < 2:  # all k from one article: find the next article further down
            deeper = self.search(query, 4 * k, mode, vector)
            docs = list(dict.fromkeys(docs + [h.passage.doc_id for h in deeper]))
        docs = docs[:COMPARED_ARTICLES]
        merged = {h.passage.id: h for h in hits}
        for doc in docs:
            for h in self.search(query, PER_ARTICLE_K, mode, vector, {doc}):
                merged.setdefault(h.passage.id, h)
        return dedupe_overlaps(list(merged.values()))


class ArchiveWords:
    """What the whole archive mentions (the abstention's `Archive`): its names, years, found on the first
    question that names one (scanning 100,000 passages' articles takes a second, which a cold start
    should not pay), and words, from the BM25 vocabulary plus the headlines, dates and sources."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        self.names: Names = snapshot.names
        self._years: set[str] | None = None
        self._metadata: set[str] | None = None

    def has_year(self, year: str) -> bool:
        """Whether any article's text or date mentions the year."""
        if self._years is None:
            self._years = years_in([f"{a.body} {a.date or ''}" for a in self._snapshot.articles.values()])
        return year in self._years

    def has_word(self, token: str, variants: bool = True) -> bool:
        """Whether any article uses the token or (with `variants`) a one-letter variant of it
        (Zelensky / Zelenskiy)."""
        lexical = self._snapshot.lexical
        found = lexical.known(token) or token in self._metadata_words()
        return found or (variants and lexical.known_variant(token))

    def _metadata_words(self) -> set[str]:
        # Built on the first name the passages lack (0.3 s at 100,000 passages, not paid otherwise).
        if self._metadata is None:
            self._metadata = {
                t
                for a in self._snapshot.articles.values()
                for t in tokenize(f"{a.title} {a.source or ''} {_month(a.date)}")
            }
        return self._metadata


def _month(date: str | None) -> str:
    """The month name of an ISO date ("2024-03-08" -> "March"), so "the March 8 report" is known."""
    try:
        return calendar.month_name[int(date[5:7])] if date else ""
    except (ValueError, IndexError):
        return ""


def fuse(rankings: list[list[Hit]], k: int) -> list[Hit]:
    """Reciprocal rank fusion: score = sum of 1 / (RRF_K + rank) over the rankings."""
    scores: dict[str, float] = {}
    passages: dict[str, Passage] = {}
    sources: dict[str, set[str]] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            pid = hit.passage.id
            scores[pid] = scores.get(pid, 0.0) + 1.0 / (RRF_K + rank)
            passages[pid] = hit.passage
            sources.setdefault(pid, set()).update(hit.sources)
    best = sorted(scores, key=lambda pid: -scores[pid])[:k]
    return [Hit(passages[pid], scores[pid], tuple(sorted(sources[pid]))) for pid in best]


def dedupe_overlaps(hits: list[Hit], max_shared: float = 0.5) -> list[Hit]:
    """Drop a passage when most of it is already covered by a better-ranked passage of the same article."""
    kept: list[Hit] = []
    for hit in hits:
        p = hit.passage
        redundant = False
        for other in kept:
            q = other.passage
            if q.doc_id != p.doc_id:
                continue
            shared = set(p.sentences) & set(q.sentences)
            if len(shared) > max_shared * len(p.sentences):
                redundant = True
                break
        if not redundant:
            kept.append(hit)
    return kept
