"""BM25 over passages with bm25s: built once per index generation, saved beside it, never per query."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.imports import without
from index.text import FUZZY_MIN_LENGTH, near, tokenize

__all__ = ["LexicalIndex", "tokenize"]


class LexicalIndex:
    """A BM25 index whose rows are the positions of passages in the generation's passage list."""

    def __init__(self, retriever: object | None, size: int) -> None:
        self._retriever = retriever
        self.size = size
        self._by_initial: dict[str, list[str]] | None = None

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        """Index texts (one row each)."""
        bm25s = _bm25s()
        tokens = [tokenize(t) or ["\u2205"] for t in texts]
        if not tokens:
            return cls(None, 0)
        retriever = bm25s.BM25(csc_backend="numpy")
        retriever.index(tokens, show_progress=False)
        return cls(retriever, len(texts))

    def save(self, folder: Path) -> None:
        """Write the index files into folder."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "size").write_text(str(self.size))
        if self._retriever is not None:
            self._retriever.save(str(folder), show_progress=False)  # type: ignore[attr-defined]

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        """Read an index written by save()."""
        bm25s = _bm25s()
        size = int((folder / "size").read_text())
        if size == 0:
            return cls(None, 0)
        retriever = bm25s.BM25.load(str(folder), show_progress=False, verbosity=0)
        return cls(retriever, size)

    def known(self, token: str) -> bool:
        """Whether a token (as produced by tokenize) occurs anywhere in the archive."""
        return self._retriever is not None and token in self._retriever.vocab_dict  # type: ignore[attr-defined]

    def known_variant(self, token: str) -> bool:
        """Whether the archive uses a one-letter variant of the token (Zelensky / Zelenskiy)."""
        if self._retriever is None or len(token) < FUZZY_MIN_LENGTH:
            return False
        if self._by_initial is None:  # built whole, then published: other threads see all or none
            by_initial: dict[str, list[str]] = {}
            for word in self._retriever.vocab_dict:  # type: ignore[attr-defined]
                if len(word) >= FUZZY_MIN_LENGTH:
                    by_initial.setdefault(word[:1], []).append(word)
            self._by_initial = by_initial
        return any(near(token, w) for w in self._by_initial.get(token[:1], ()))

    def search(self, query: str, k: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(row, BM25 score) of the best k rows with a positive score (among `rows` when given)."""
        if self._retriever is None:
            return []
        vocab = self._retriever.vocab_dict  # type: ignore[attr-defined]
        tokens = [t for t in tokenize(query) if t in vocab]
        if not tokens:
            return []
        scores = self._retriever.get_scores(tokens)  # type: ignore[attr-defined]
        candidates = np.arange(len(scores)) if rows is None else rows
        if len(candidates) == 0:
            return []
        k = min(k, len(candidates))
        sub = scores[candidates]
        top = np.argpartition(-sub, k - 1)[:k]
        top = top[np.argsort(-sub[top])]
        return [(int(candidates[i]), float(sub[i])) for i in top if sub[i] > 0]


def _bm25s():  # type: ignore[no-untyped-def]
    """bm25s, imported without scipy (see index.imports.without): the numpy backend is used; and
    without tqdm, whose `tqdm.auto` imports asyncio (bm25s falls back to no progress bars, and
    every call here asks for none)."""
    with without("scipy", "scipy.sparse", "tqdm", "tqdm.auto", unless_imported="bm25s"):
        import bm25s
    return bm25s
