"""The Chroma edge: an embedded PersistentClient or a `chroma run` server, behind our records."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from rag.errors import IndexCorruptError, StoreUnavailableError
from rag.types import Passage

# Chroma logs telemetry failures loudly on a machine with no network; they are noise here.
logging.getLogger("chromadb.telemetry").setLevel(logging.CRITICAL)

ADD_BATCH = 2000


def _chroma_settings() -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


class VectorStore:
    """A Chroma collection holding our passage vectors, queried with our own embeddings only."""

    def __init__(self, client: Any, name: str, location: str, remote: bool) -> None:
        self._client = client
        self.name = name
        self.location = location
        self.remote = remote
        self._collection: Any = None
        self._count: int | None = None  # cached between writes: a query must not pay Chroma's COUNT (8 ms at 100k)
        # The client is released when the last holder of this store lets go of it, not on close():
        # a question that picked up the previous generation may still be querying it while another
        # thread opens the new one and closes this one (closing chroma's client under it breaks it).
        self._release = weakref.finalize(self, _close_client, client)

    @classmethod
    def open(cls, chroma_url: str, persist_dir: Path, name: str) -> VectorStore:
        """Connect to a Chroma server when a URL is given, else open an embedded store on disk."""
        import chromadb

        try:
            if chroma_url:
                url = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
                client = chromadb.HttpClient(
                    host=url.hostname or "127.0.0.1",
                    port=url.port or 8000,
                    ssl=url.scheme == "https",
                    settings=_chroma_settings(),
                )
                client.heartbeat()
                return cls(client, name, chroma_url, remote=True)
            client = chromadb.PersistentClient(path=str(persist_dir), settings=_chroma_settings())
            return cls(client, name, str(persist_dir), remote=False)
        except Exception as exc:  # chroma raises many unrelated types for "can't connect/read"
            if chroma_url:
                raise StoreUnavailableError(
                    f"cannot reach the Chroma server at {chroma_url} ({type(exc).__name__})"
                ) from exc
            raise IndexCorruptError(
                f"cannot open the vector store in {persist_dir} ({type(exc).__name__}: {exc}); "
                "rebuild it with `rag index --rebuild`"
            ) from exc

    @property
    def collection(self) -> Any:
        """The Chroma collection (created on first use, cosine space, no embedding function)."""
        if self._collection is None:
            try:
                self._collection = self._client.get_or_create_collection(
                    self.name,
                    embedding_function=None,
                    configuration={"hnsw": {"space": "cosine"}},
                )
            except Exception as exc:
                raise self._error(exc) from exc
        return self._collection

    def _error(self, exc: Exception) -> Exception:
        if self.remote:
            return StoreUnavailableError(f"Chroma server at {self.location} failed ({type(exc).__name__}: {exc})")
        return IndexCorruptError(
            f"vector store {self.location} failed ({type(exc).__name__}: {exc}); rebuild it with `rag index --rebuild`"
        )

    def add(self, passages: list[Passage], vectors: np.ndarray, hashes: Mapping[str, str] | None = None) -> None:
        """Add passages with their vectors and offsets. The text is not stored: the generation's
        records hold it, and Chroma's full-text index of documents would cost more than half of
        the upsert time."""
        self._count = None
        for i in range(0, len(passages), ADD_BATCH):
            batch = passages[i : i + ADD_BATCH]
            try:
                self.collection.upsert(
                    ids=[p.id for p in batch],
                    embeddings=vectors[i : i + ADD_BATCH],
                    metadatas=[
                        {"doc_id": p.doc_id, "start": p.start, "end": p.end}
                        | ({"hash": hashes[p.doc_id]} if hashes and p.doc_id in hashes else {})
                        for p in batch
                    ],
                )
            except Exception as exc:
                raise self._error(exc) from exc

    def delete_docs(self, doc_ids: Iterable[str]) -> None:
        """Remove every passage of these articles."""
        ids = list(doc_ids)
        if not ids:
            return
        self._count = None
        try:
            for i in range(0, len(ids), ADD_BATCH):
                self.collection.delete(where={"doc_id": {"$in": ids[i : i + ADD_BATCH]}})
        except Exception as exc:
            raise self._error(exc) from exc

    def delete_ids(self, ids: list[str]) -> None:
        """Remove these passages."""
        if not ids:
            return
        self._count = None
        try:
            for i in range(0, len(ids), ADD_BATCH):
                self.collection.delete(ids=ids[i : i + ADD_BATCH])
        except Exception as exc:
            raise self._error(exc) from exc

    def metadata(self, batch: int = ADD_BATCH) -> Iterator[tuple[str, dict]]:
        """(id, metadata) of every stored passage, without the vectors."""
        for res in self._pages(["metadatas"], batch):
            yield from zip(res["ids"], res["metadatas"])

    def count(self) -> int:
        """Number of vectors stored (asked of Chroma once, then kept until this store writes)."""
        if self._count is None:
            try:
                self._count = int(self.collection.count())
            except Exception as exc:
                raise self._error(exc) from exc
        return self._count

    def query(self, vector: np.ndarray, k: int, doc_ids: Collection[str] | None = None) -> list[tuple[str, float]]:
        """(passage id, cosine similarity) of the k nearest passages, of the given articles only
        when doc_ids is set."""
        n = min(k, self.count())
        if n == 0:
            return []
        where = {"doc_id": {"$in": sorted(doc_ids)}} if doc_ids else None
        try:
            res = self.collection.query(
                query_embeddings=[vector.astype(np.float32)], n_results=n, include=["distances"], where=where
            )
        except Exception as exc:
            raise self._error(exc) from exc
        return [(pid, 1.0 - float(d)) for pid, d in zip(res["ids"][0], res["distances"][0])]

    def vectors(self, ids: list[str], batch: int = ADD_BATCH) -> dict[str, np.ndarray]:
        """The stored vectors of these passages (ids the store lacks are left out)."""
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(ids), batch):
            try:
                res = self.collection.get(ids=ids[i : i + batch], include=["embeddings"])
            except Exception as exc:
                raise self._error(exc) from exc
            found.update(zip(res["ids"], np.asarray(res["embeddings"], dtype=np.float32)))
        return found

    def iter_all(self, batch: int = ADD_BATCH) -> Iterator[tuple[list[str], np.ndarray, list[dict]]]:
        """Every stored (ids, vectors, metadatas), in batches: used to copy a collection."""
        for res in self._pages(["embeddings", "metadatas"], batch):
            yield res["ids"], np.asarray(res["embeddings"], dtype=np.float32), res["metadatas"]

    def _pages(self, include: list[str], batch: int) -> Iterator[Any]:
        """The collection's records in pages of `batch`, with the fields in `include`."""
        offset = 0
        while True:
            try:
                res = self.collection.get(limit=batch, offset=offset, include=include)
            except Exception as exc:
                raise self._error(exc) from exc
            if not res["ids"]:
                return
            yield res
            offset += len(res["ids"])

    def copy_into(self, other: VectorStore) -> None:
        """Copy every vector of this collection into another one."""
        other._count = None
        for ids, vectors, metas in self.iter_all():
            try:
                other.collection.upsert(ids=ids, embeddings=vectors, metadatas=metas)
            except Exception as exc:
                raise other._error(exc) from exc

    def drop(self) -> None:
        """Delete the whole collection (used for superseded server-side generations)."""
        try:
            self._client.delete_collection(self.name)
        except Exception:
            pass
        self._collection = None
        self._count = None

    def close(self) -> None:
        """Give up this store: its client (and, for the embedded store, its open database files) is
        released as soon as no caller still holds the store, so a query already under way finishes."""
        # Nothing to do now: the finalizer set up in __init__ runs when the last reference goes.

    def native(self) -> Any:
        """The raw chromadb collection, for llama-index's ChromaVectorStore (the eval baseline)."""
        return self.collection


def _close_client(client: Any) -> None:
    try:
        client.close()
    except Exception:
        pass
