"""Incremental, crash-safe index builds: embed only what changed, publish atomically."""

from __future__ import annotations

import fcntl
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.chunk import chunk_article
from index.embed import Embedder
from index.files import Skipped, load_articles
from index.layout import MANIFEST_VERSION, Layout, read_manifest, write_json
from index.lexical import LexicalIndex
from index.names import find_names, load_names, save_names
from index.records import load_records, save_records
from index.store import VectorStore
from rag.errors import IndexCorruptError, RagError
from rag.settings import Settings
from rag.types import Article, Passage

Progress = Callable[[int, int], None]
EMBED_CHUNK = 512
PARSER_VERSION = 3  # bump when parsing changes what is stored, so indexes are rebuilt
# A superseded generation is kept this long after its successor was published: a question that
# started on it (queued behind the generator under load, say) still reads its store to the end.
RETAIN_SECONDS = 120.0


@dataclass(frozen=True)
class BuildReport:
    """What a build did."""

    articles: int
    passages: int
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    embedded: int
    seconds: float
    generation: str
    rebuilt: bool
    skipped: tuple[Skipped, ...] = field(default=())

    @property
    def up_to_date(self) -> bool:
        """True when nothing had to be embedded or removed."""
        return not (self.added or self.changed or self.removed or self.rebuilt)

    @property
    def passages_per_second(self) -> float:
        """Embedded passages per second of build time."""
        return self.embedded / self.seconds if self.seconds > 0 else 0.0


def signature(settings: Settings, embedder: Embedder) -> dict[str, object]:
    """Everything that, when changed, invalidates every stored vector or passage."""
    return {
        "embedder": embedder.name,
        "dim": embedder.dim,
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
        "store": "server" if settings.chroma_url else "embedded",
        "parser": PARSER_VERSION,
    }


def source_folders(settings: Settings) -> list[Path]:
    """The folders whose articles make up the archive: the seeds and the documents folder."""
    return [settings.seeds_dir, settings.docs_dir]


@contextmanager
def build_lock(layout: Layout) -> Iterator[None]:
    """One build at a time per data directory (a second one fails fast)."""
    layout.root.mkdir(parents=True, exist_ok=True)
    with open(layout.lock_file, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RagError(f"another index build is running in {layout.root}") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def collection_name(settings: Settings, gen: Path) -> str:
    """Chroma collection of a generation: one per generation on a server, fixed when embedded."""
    return f"{settings.collection}-{gen.name}" if settings.chroma_url else settings.collection


def open_store(settings: Settings, gen: Path, name: str | None = None) -> VectorStore:
    """The vector store of a generation."""
    return VectorStore.open(settings.chroma_url, gen / "chroma", name or collection_name(settings, gen))


@dataclass(frozen=True)
class Plan:
    """What a build has to do, decided from the article folders and the served manifest."""

    articles: dict[str, Article]
    skipped: tuple[Skipped, ...]
    signature: dict[str, object]
    old_gen: Path | None
    old_passages: int
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    full: bool  # re-embed everything

    @property
    def to_embed(self) -> list[Article]:
        """Articles whose passages must be (re-)embedded."""
        todo = set(self.articles) if self.full else set(self.added) | set(self.changed)
        return [self.articles[d] for d in sorted(todo)]


def plan_build(settings: Settings, embedder: Embedder, rebuild: bool = False) -> Plan:
    """Compare the article folders with the served index."""
    layout = Layout(settings.data_dir)
    articles, skipped = load_articles(source_folders(settings), settings.max_file_bytes)
    sig = signature(settings, embedder)
    old_gen, manifest = _usable_current(layout)
    full = rebuild or manifest is None or manifest.get("signature") != sig
    old = {} if full or manifest is None else {d: m["hash"] for d, m in manifest["articles"].items()}
    return Plan(
        articles=articles,
        skipped=tuple(skipped),
        signature=sig,
        old_gen=old_gen if manifest is not None else None,
        old_passages=int(manifest["passages"]) if manifest else 0,
        added=tuple(sorted(d for d in articles if d not in old)) if not full else tuple(sorted(articles)),
        changed=tuple(sorted(d for d in articles if d in old and old[d] != articles[d].content_hash)),
        removed=tuple(sorted(d for d in old if d not in articles)),
        full=full,
    )


def build_index(
    settings: Settings,
    embedder: Embedder,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> BuildReport:
    """Bring the index in step with the article folders; embed only new or changed articles."""
    started = time.perf_counter()
    layout = Layout(settings.data_dir)
    with build_lock(layout):
        plan = plan_build(settings, embedder, rebuild)
        if not plan.full and not (plan.added or plan.changed or plan.removed):
            return BuildReport(
                len(plan.articles),
                plan.old_passages,
                (),
                (),
                (),
                0,
                time.perf_counter() - started,
                plan.old_gen.name if plan.old_gen else "",
                False,
                plan.skipped,
            )
        _remove_unpublished(layout, settings)
        gen = layout.next_generation()
        gen.mkdir(parents=True)
        passages: list[Passage] = []
        if plan.full or plan.old_gen is None:
            store = open_store(settings, gen)
        else:
            gone = set(plan.changed) | set(plan.removed)
            passages = [p for p in load_records(plan.old_gen)[1] if p.doc_id not in gone]
            store = _copy_store(settings, plan.old_gen, gen)
        try:
            if not plan.full:
                store.delete_docs(list(plan.changed + plan.removed))
            new = [p for a in plan.to_embed for p in chunk_article(a, settings.chunk_size, settings.chunk_overlap)]
            _embed_into(store, embedder, new, progress)
            passages = _write_generation(gen, store, plan, passages + new)
        finally:
            store.close()
        layout.publish(gen)
        _remove_old(layout, settings, keep={gen} | ({plan.old_gen} if plan.old_gen else set()))
        return BuildReport(
            len(plan.articles),
            len(passages),
            plan.added,
            plan.changed,
            plan.removed,
            len(new),
            time.perf_counter() - started,
            gen.name,
            plan.full and plan.old_gen is not None,
            plan.skipped,
        )


def _write_generation(gen: Path, store: VectorStore, plan: Plan, passages: list[Passage]) -> list[Passage]:
    """Check the store, then write records, BM25 and (last) the manifest of a generation."""
    order = sorted(plan.articles)
    rank = {d: i for i, d in enumerate(order)}
    passages = sorted(passages, key=lambda p: (rank[p.doc_id], p.start))
    if store.count() != len(passages):
        raise IndexCorruptError(
            f"vector store holds {store.count()} passages, expected {len(passages)}; run `rag index --rebuild`"
        )
    save_records(gen, (plan.articles[d] for d in order), passages)
    LexicalIndex.build([p.text for p in passages]).save(gen / "bm25")
    previous = None
    if plan.old_gen is not None and not plan.full:
        try:
            previous = load_names(plan.old_gen)
        except (OSError, ValueError, KeyError, TypeError):
            previous = None  # damaged: found again
    save_names(gen, find_names((plan.articles[d] for d in order), previous))
    articles = {
        d: {"hash": a.content_hash, "title": a.title, "date": a.date, "path": a.path}
        for d, a in ((d, plan.articles[d]) for d in order)
    }
    write_json(
        gen / "manifest.json",
        {
            "version": MANIFEST_VERSION,
            "signature": plan.signature,
            "collection": store.name,
            "passages": len(passages),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "articles": articles,
        },
    )
    return passages


def _usable_current(layout: Layout) -> tuple[Path | None, dict | None]:
    """The served generation and its manifest; a damaged one counts as none (full rebuild)."""
    try:
        gen = layout.current()
        if gen is None:
            return None, None
        return gen, read_manifest(gen)
    except IndexCorruptError:
        return None, None


def _copy_store(settings: Settings, old_gen: Path, gen: Path) -> VectorStore:
    if settings.chroma_url:
        old = open_store(settings, old_gen, read_manifest(old_gen)["collection"])
        new = open_store(settings, gen)
        old.copy_into(new)
        old.close()
        return new
    shutil.copytree(old_gen / "chroma", gen / "chroma")
    return open_store(settings, gen)


def _embed_into(store: VectorStore, embedder: Embedder, passages: list[Passage], progress: Progress | None) -> None:
    """Embed in chunks of passages of similar length: as little padding as when the model sees
    every text at once, with bounded memory."""
    total = len(passages)
    if progress:
        progress(0, total)
    ordered = sorted(passages, key=lambda p: len(p.text))
    for i in range(0, total, EMBED_CHUNK):
        batch = ordered[i : i + EMBED_CHUNK]
        vectors = embedder.embed([p.text for p in batch])
        store.add(batch, np.asarray(vectors, dtype=np.float32))
        if progress:
            progress(min(i + EMBED_CHUNK, total), total)


def _remove_unpublished(layout: Layout, settings: Settings) -> None:
    """Generations newer than CURRENT are leftovers of interrupted builds."""
    try:
        current = layout.current()
    except IndexCorruptError:
        current = None
    for gen in layout.generations():
        if current is None or gen.name > current.name:
            _drop_generation(gen, settings)


def _remove_old(layout: Layout, settings: Settings, keep: set[Path]) -> None:
    """Keep the served generation, the one before it, and any superseded less than RETAIN_SECONDS
    ago (a reader may still be using them); drop the rest."""
    gens = layout.generations()
    for gen, successor in zip(gens, gens[1:]):
        if gen not in keep and _age(successor) >= RETAIN_SECONDS:
            _drop_generation(gen, settings)


def _age(gen: Path) -> float:
    """Seconds since a generation was written (its manifest is written last); damaged = very old."""
    try:
        return time.time() - (gen / "manifest.json").stat().st_mtime
    except OSError:
        return float("inf")


def _drop_generation(gen: Path, settings: Settings) -> None:
    if settings.chroma_url:
        try:
            name = read_manifest(gen)["collection"]
        except IndexCorruptError:
            name = collection_name(settings, gen)
        try:
            open_store(settings, gen, name).drop()
        except RagError:
            pass
    shutil.rmtree(gen, ignore_errors=True)
