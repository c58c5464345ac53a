"""A read-only view of the served index generation: articles, passages, vectors and BM25."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from index.build import open_store
from index.layout import Layout, read_manifest
from index.lexical import LexicalIndex
from index.names import Names, load_names
from index.records import PassageTable, load_records
from index.store import VectorStore
from index.vectors import VectorMatrix
from rag.errors import IndexCorruptError
from rag.settings import Settings
from rag.types import Article


@dataclass
class Snapshot:
    """One consistent generation, opened once and shared by every question until it changes.

    Dense search scans `vectors` (the generation's matrix) when the settings ask for exact
    search and the generation has one; the Chroma store is then opened only if something asks
    for it (a copy, the llama-index baseline), so a question never pays for importing Chroma."""

    generation: Path
    manifest: dict
    articles: dict[str, Article]
    passages: PassageTable
    lexical: LexicalIndex
    names: Names
    vectors: VectorMatrix | None
    settings: Settings
    _store: VectorStore | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def store(self) -> VectorStore:
        """The generation's Chroma store, opened on first use."""
        with self._lock:
            if self._store is None:
                self._store = open_store(self.settings, self.generation, self.manifest["collection"])
            return self._store

    def close(self) -> None:
        """Let go of the store if it was opened (see VectorStore.close)."""
        if self._store is not None:
            self._store.close()

    @classmethod
    def open(cls, settings: Settings) -> Snapshot:
        """Open the served generation; raise a clear error when it is missing or damaged."""
        gen = Layout(settings.data_dir).require_current()
        manifest = read_manifest(gen)
        articles, passages = load_records(gen)
        try:
            lexical = LexicalIndex.load(gen / "bm25")
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(
                f"BM25 index in {gen} is damaged ({type(exc).__name__}); rebuild with `rag index --rebuild`"
            ) from None
        try:
            names = load_names(gen)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorruptError(
                f"names in {gen} are damaged ({type(exc).__name__}); rebuild with `rag index --rebuild`"
            ) from None
        vectors = None
        if settings.exact_search:
            try:
                vectors = VectorMatrix.load(gen)
            except (OSError, ValueError) as exc:
                raise IndexCorruptError(
                    f"vectors in {gen} are damaged ({type(exc).__name__}); rebuild with `rag index --rebuild`"
                ) from None
        snapshot = cls(gen, manifest, articles, passages, lexical, names, vectors, settings)
        # Without a matrix (chroma search, or an index built before there was one) the store is
        # opened now, so a missing or unreachable store fails here rather than mid-question.
        stored = len(vectors) if vectors is not None else snapshot.store.count()
        dim = manifest.get("signature", {}).get("dim")
        if vectors is not None and vectors.dim != dim:
            raise IndexCorruptError(
                f"vectors in {gen} have {vectors.dim} dimensions, the index {dim}; rebuild with `rag index --rebuild`"
            )
        if stored != len(passages) or lexical.size != len(passages):
            raise IndexCorruptError(
                f"index {gen.name} is inconsistent ({stored} vectors, {len(passages)} passages); "
                "rebuild with `rag index --rebuild`"
            )
        return snapshot

    @staticmethod
    def current_name(settings: Settings) -> str | None:
        """Name of the served generation (cheap: reads one small file), to notice rebuilds."""
        gen = Layout(settings.data_dir).current()
        return gen.name if gen else None
