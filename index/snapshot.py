"""A read-only view of the served index generation: articles, passages, vectors and BM25."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from index.build import open_store
from index.layout import Layout, read_manifest
from index.lexical import LexicalIndex
from index.names import Names, load_names
from index.records import PassageTable, load_records
from index.store import VectorStore
from rag.errors import IndexCorruptError
from rag.settings import Settings
from rag.types import Article


@dataclass
class Snapshot:
    """One consistent generation, opened once and shared by every question until it changes."""

    generation: Path
    manifest: dict
    articles: dict[str, Article]
    passages: PassageTable
    store: VectorStore
    lexical: LexicalIndex
    names: Names

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
        store = open_store(settings, gen, manifest["collection"])
        stored = store.count()
        if stored != len(passages) or lexical.size != len(passages):
            raise IndexCorruptError(
                f"index {gen.name} is inconsistent ({stored} vectors, {len(passages)} passages); "
                "rebuild with `rag index --rebuild`"
            )
        return cls(gen, manifest, articles, passages, store, lexical, names)

    @staticmethod
    def current_name(settings: Settings) -> str | None:
        """Name of the served generation (cheap: reads one small file), to notice rebuilds."""
        gen = Layout(settings.data_dir).current()
        return gen.name if gen else None
