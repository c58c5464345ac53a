"""Incremental, crash-safe index builds: embed only what changed, publish atomically."""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.chunk import chunk_article
from index.embed import Embedder
from index.files import Skipped, find_files, folder_key, load_articles
from index.layout import MANIFEST_VERSION, Layout, read_manifest, write_json
from index.lexical import LexicalIndex
from index.names import find_names, load_names, save_names
from index.records import PassageTable, load_records, save_records
from index.sources import EXPORT_SUFFIXES, FEED_SUFFIXES, Limits
from index.store import VectorStore
from index.vectors import VectorMatrix
from rag.errors import IndexCorruptError, RagError
from rag.settings import Settings
from rag.types import Article, Passage

Progress = Callable[[int, int], None]
Stages = Callable[[str, int, int], None]
BUILD_FILE = "build.json"  # in an unpublished generation: what it is being built from
EMBED_CHUNK = 512
PARSER_VERSION = 6  # bump when parsing changes what is stored, so indexes are rebuilt
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
    merged: int = 0  # arrivals listed as copies of an indexed article
    resumed: int = 0  # passages an interrupted build had already embedded

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
    """The folders whose articles make up the archive: the user's documents, and the demo seeds
    when asked for or, by default, while the documents folder holds no article file."""
    if settings.seeds == "on" or (settings.seeds == "auto" and not has_documents(settings.docs_dir)):
        return [settings.seeds_dir, settings.docs_dir]
    return [settings.docs_dir]


def has_documents(folder: Path) -> bool:
    """True when the folder holds at least one article file (of any supported format)."""
    return folder.is_dir() and bool(find_files([folder])[0])


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
    merged: int  # arrivals folded into another article as its copies
    signature: dict[str, object]
    old_gen: Path | None
    old_passages: int
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    relisted: tuple[str, ...]  # same text, other copies listed: records rewritten, nothing embedded
    full: bool  # re-embed everything
    # The served generation has no vector matrix (built before there was one): it is rewritten,
    # its vectors read from the store, nothing embedded.
    lacks_matrix: bool = False
    file_ids: dict[str, dict[str, str]] = field(default_factory=dict)  # every file id given (Loaded.file_ids)

    @property
    def to_embed(self) -> list[Article]:
        """Articles whose passages must be (re-)embedded."""
        todo = set(self.articles) if self.full else set(self.added) | set(self.changed)
        return [self.articles[d] for d in sorted(todo)]


def plan_build(settings: Settings, embedder: Embedder, rebuild: bool = False, stages: Stages | None = None) -> Plan:
    """Compare the article folders with the served index."""
    layout = Layout(settings.data_dir)
    limits = Limits.of(settings)
    reading = (lambda done, total: stages("reading", done, total)) if stages else None
    old_gen, manifest = _usable_current(layout)
    known = _known_ids(manifest) or _ids_of_articles(manifest, source_folders(settings))
    if old_gen is not None and not rebuild and not _whole(old_gen):
        old_gen, manifest = None, None  # damaged past its manifest: rebuilt whole, ids kept
    loaded = load_articles(source_folders(settings), settings.max_file_bytes, limits, reading, known)
    articles = loaded.articles
    sig = signature(settings, embedder)
    # A served generation whose embedded store went missing is rebuilt: questions do not need
    # the store (they scan the vector matrix), so nothing else would notice until a later build
    # tried to copy it.
    lost_store = old_gen is not None and not settings.chroma_url and not (old_gen / "chroma").is_dir()
    full = rebuild or manifest is None or manifest.get("signature") != sig or lost_store
    old = {} if full or manifest is None else {d: m["hash"] for d, m in manifest["articles"].items()}
    old_copies = {} if manifest is None else {d: m.get("also", []) for d, m in manifest["articles"].items()}
    return Plan(
        articles=articles,
        skipped=tuple(loaded.skipped),
        merged=loaded.merged,
        signature=sig,
        old_gen=old_gen if manifest is not None else None,
        old_passages=int(manifest["passages"]) if manifest else 0,
        added=tuple(sorted(d for d in articles if d not in old)) if not full else tuple(sorted(articles)),
        changed=tuple(sorted(d for d in articles if d in old and old[d] != articles[d].content_hash)),
        removed=tuple(sorted(d for d in old if d not in articles)),
        relisted=tuple(
            sorted(
                d
                for d, a in articles.items()
                if d in old and old[d] == a.content_hash and old_copies.get(d, []) != [c.doc_id for c in a.also]
            )
        ),
        full=full,
        lacks_matrix=old_gen is not None and manifest is not None and not _matrix_whole(old_gen, manifest),
        # Folders no longer indexed (the demo set aside) keep theirs, for when they come back.
        file_ids=(known or {}) | loaded.file_ids,
    )


def _whole(gen: Path) -> bool:
    """Whether a generation's records, BM25 index and names read back whole and of one size (as a
    question reads them): a build on a damaged one must not call it up to date, nor reuse it."""
    try:
        _, passages = load_records(gen)
        lexical = LexicalIndex.load(gen / "bm25")
        load_names(gen)
    except (IndexCorruptError, OSError, ValueError, KeyError, TypeError):
        return False
    return lexical.size == len(passages)


def _matrix_whole(gen: Path, manifest: dict) -> bool:
    """Whether the generation's vector matrix is there, readable and of its passages and width
    (when not, it is rewritten from the store, nothing embedded)."""
    try:
        matrix = VectorMatrix.load(gen)
    except (OSError, ValueError):
        return False
    dim = manifest.get("signature", {}).get("dim")
    return matrix is not None and len(matrix) == manifest.get("passages") and matrix.dim == dim


def served_file_ids(settings: Settings) -> dict[str, dict[str, str]] | None:
    """The file ids of the served index (None when there is none, or it is damaged)."""
    return _known_ids(_usable_current(Layout(settings.data_dir))[1])


def _ids_of_articles(manifest: dict | None, folders: list[Path]) -> dict[str, dict[str, str]] | None:
    """The file ids an index built before ids were remembered gave, read back from its articles'
    paths (an article's id is its file's, or its file's and its key for a feed or export), so its
    first build with them renames nothing."""
    if not manifest or not isinstance(manifest.get("articles"), dict):
        return None
    roots = [(folder_key(f), Path(folder_key(f))) for f in folders if f.is_dir()]
    table: dict[str, dict[str, str]] = {}
    for doc_id, meta in manifest["articles"].items():
        path = Path(str(meta.get("path") or "")).resolve() if isinstance(meta, dict) and meta.get("path") else None
        if path is None:
            continue
        for key, root in roots:
            if path.is_relative_to(root):
                many = path.suffix.lower() in FEED_SUFFIXES + EXPORT_SUFFIXES
                file_id = doc_id.rsplit("/", 1)[0] if many and "/" in doc_id else doc_id
                table.setdefault(key, {}).setdefault(path.relative_to(root).as_posix(), file_id)
                break
    return table or None


def _known_ids(manifest: dict | None) -> dict[str, dict[str, str]] | None:
    """The file ids the served generation's builds gave, when its manifest holds them whole."""
    table = (manifest or {}).get("file_ids")
    if not isinstance(table, dict):
        return None
    try:
        return {str(k): {str(p): str(i) for p, i in v.items()} for k, v in table.items()}
    except AttributeError:  # not a table of tables: ids are given afresh, as in a first build
        return None


def build_index(
    settings: Settings,
    embedder: Embedder,
    rebuild: bool = False,
    progress: Progress | None = None,
    stages: Stages | None = None,
    locked: bool = False,
) -> BuildReport:
    """Bring the index in step with the article folders; embed only new or changed articles.
    `locked`: the caller holds `build_lock` already (it changed the folders under it).

    `progress(done, total)` follows the embedding; `stages(stage, done, total)` every stage
    ("reading" files, "embedding" passages, "writing" the generation). An interrupted build
    (killed, out of power) is resumed by the next one: passages already in its unpublished
    generation's store are not embedded again, and until it completes the previous generation
    stays the one served."""
    started = time.perf_counter()
    layout = Layout(settings.data_dir)
    with contextlib.nullcontext() if locked else build_lock(layout):
        plan = plan_build(settings, embedder, rebuild, stages)
        if not plan.full and not (plan.added or plan.changed or plan.removed or plan.relisted or plan.lacks_matrix):
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
                plan.merged,
            )
        resumed = None if rebuild else _resumable(layout, settings, plan)
        passages: list[Passage] = []
        old_table: PassageTable | None = None  # the served generation's passages, when kept
        if not (plan.full or plan.old_gen is None):
            gone = set(plan.changed) | set(plan.removed)
            old_table = load_records(plan.old_gen)[1]
            passages = [p for p in old_table if p.doc_id not in gone]
        new = [p for a in plan.to_embed for p in chunk_article(a, settings.chunk_size, settings.chunk_overlap)]
        if resumed is not None:
            gen = resumed
            store = open_store(settings, gen)
            done = _reconcile(store, plan, passages + new)
        else:
            _remove_unpublished(layout, settings)
            gen = layout.next_generation()
            gen.mkdir(parents=True)
            store = (
                open_store(settings, gen)
                if plan.full or plan.old_gen is None
                else _copy_store(settings, plan.old_gen, gen)
            )
            done = set()
        # Resumed: whatever the store lacks now (the interrupted run may have deleted passages of an
        # article that has since come back unchanged) is embedded; otherwise only the new passages.
        todo = [p for p in passages + new if p.id not in done] if resumed is not None else new
        already = max(0, len(new) - len(todo))  # of the new passages, embedded by the interrupted build
        try:
            if resumed is None:
                if not plan.full:
                    store.delete_docs(list(plan.changed + plan.removed))
                # From here the generation can be resumed: its store holds what was embedded so far.
                write_json(gen / BUILD_FILE, _build_key(plan))

            def embedding(done: int, total: int) -> None:
                if progress:
                    progress(done, total)
                if stages:
                    stages("embedding", done, total)

            fresh = _embed_into(store, embedder, todo, embedding, plan, already=already)
            if stages:
                stages("writing", 0, 1)
            passages = _write_generation(gen, store, plan, passages + new, fresh, old_table)
            if stages:
                stages("writing", 1, 1)
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
            len(todo),
            time.perf_counter() - started,
            gen.name,
            plan.full and plan.old_gen is not None,
            plan.skipped,
            plan.merged,
            already,
        )


def _write_generation(
    gen: Path,
    store: VectorStore,
    plan: Plan,
    passages: list[Passage],
    fresh: dict[str, np.ndarray],
    old_table: PassageTable | None,
) -> list[Passage]:
    """Check the store, then write records, BM25, the vector matrix and (last) the manifest of a
    generation. `fresh` holds the vectors this run embedded; the rest come from the previous
    generation's matrix (rows by `old_table`, its passages) or, for what an interrupted run
    embedded, from the store."""
    order = sorted(plan.articles)
    rank = {d: i for i, d in enumerate(order)}
    passages = sorted(passages, key=lambda p: (rank[p.doc_id], p.start))
    if store.count() != len(passages):
        raise IndexCorruptError(
            f"vector store holds {store.count()} passages, expected {len(passages)}; run `rag index --rebuild`"
        )
    save_records(gen, (plan.articles[d] for d in order), passages)
    VectorMatrix.save(gen, _matrix(passages, fresh, store, plan, old_table, int(str(plan.signature["dim"]))))
    LexicalIndex.build([p.text for p in passages]).save(gen / "bm25")
    previous = None
    if plan.old_gen is not None and not plan.full:
        try:
            previous = load_names(plan.old_gen)
        except (OSError, ValueError, KeyError, TypeError):
            previous = None  # damaged: found again
    save_names(gen, find_names((plan.articles[d] for d in order), previous))
    articles = {
        d: {"hash": a.content_hash, "title": a.title, "date": a.date, "path": a.path, "source": a.source}
        | ({"also": [c.doc_id for c in a.also]} if a.also else {})
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
            "file_ids": plan.file_ids,
        },
    )
    return passages


def _matrix(
    passages: list[Passage],
    fresh: dict[str, np.ndarray],
    store: VectorStore,
    plan: Plan,
    old_table: PassageTable | None,
    dim: int,
) -> np.ndarray:
    """Every passage's vector in row order, without re-reading from Chroma what is at hand: this
    run's vectors, then the previous generation's matrix for unchanged articles (a changed
    article's new passages reuse its old passage ids), then (what an interrupted run embedded,
    or a previous generation without a usable matrix) the store."""
    old = _previous_matrix(plan.old_gen, old_table, dim)
    keep = set(plan.articles) - set(plan.added) - set(plan.changed) if old is not None else set()
    matrix = np.zeros((len(passages), dim), dtype=np.float32)
    missing: dict[str, int] = {}
    for row, p in enumerate(passages):
        old_row = old_table.row_of(p.id) if old_table is not None and p.doc_id in keep else None
        if p.id in fresh:
            matrix[row] = fresh[p.id]
        elif old is not None and old_row is not None:
            matrix[row] = old.matrix[old_row]
        else:
            missing[p.id] = row
    stored = store.vectors(list(missing)) if missing else {}
    if len(stored) != len(missing):
        raise IndexCorruptError(
            f"vector store lacks {len(missing) - len(stored)} passages' vectors; run `rag index --rebuild`"
        )
    for pid, row in missing.items():
        if stored[pid].shape != (dim,):
            raise IndexCorruptError(
                f"vector store holds {stored[pid].shape} vectors, not {dim}; run `rag index --rebuild`"
            )
        matrix[row] = stored[pid]
    return matrix


def _previous_matrix(old_gen: Path | None, old_table: PassageTable | None, dim: int) -> VectorMatrix | None:
    """The previous generation's matrix when its rows are `old_table`'s passages at this width
    (None when there is none to reuse, or it is damaged or another index's)."""
    if old_gen is None or old_table is None:
        return None
    try:
        old = VectorMatrix.load(old_gen)
    except (OSError, ValueError):
        return None  # damaged: read from the store instead
    return old if old is not None and old.dim == dim and len(old) == len(old_table) else None


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


def _embed_into(
    store: VectorStore,
    embedder: Embedder,
    passages: list[Passage],
    progress: Progress | None,
    plan: Plan,
    already: int = 0,
) -> dict[str, np.ndarray]:
    """Embed in chunks of passages of similar length (little padding, bounded memory); each chunk
    is stored as soon as it is embedded, which is what lets an interrupted build resume. Returns
    the vectors by passage id."""
    fresh: dict[str, np.ndarray] = {}
    total = len(passages) + already
    if progress:
        progress(already, total)
    hashes = {d: a.content_hash for d, a in plan.articles.items()}
    ordered = sorted(passages, key=lambda p: len(p.text))
    for i in range(0, len(ordered), EMBED_CHUNK):
        batch = ordered[i : i + EMBED_CHUNK]
        vectors = embedder.embed([p.text for p in batch])
        matrix = np.asarray(vectors, dtype=np.float32)
        store.add(batch, matrix, hashes)
        fresh.update(zip((p.id for p in batch), matrix))
        if progress:
            progress(already + min(i + EMBED_CHUNK, len(ordered)), total)
    return fresh


def _build_key(plan: Plan) -> dict[str, object]:
    return {"base": plan.old_gen.name if plan.old_gen else None, "signature": plan.signature, "full": plan.full}


def _resumable(layout: Layout, settings: Settings, plan: Plan) -> Path | None:
    """The newest unpublished generation an interrupted build left, when it was being built from
    the same served generation with the same settings (its store then holds finished work)."""
    try:
        current = layout.current()
    except IndexCorruptError:
        current = None
    for gen in reversed(layout.generations()):
        if current is not None and gen.name <= current.name:
            return None
        if (gen / "manifest.json").exists():
            continue
        try:
            key = json.loads((gen / BUILD_FILE).read_text())
        except (OSError, ValueError):
            continue
        if key == json.loads(json.dumps(_build_key(plan))):
            return gen
    return None


def _reconcile(store: VectorStore, plan: Plan, passages: list[Passage]) -> set[str]:
    """Ids of the passages a resumed generation's store already holds as they are now (same
    article text, same offsets); anything else in it (an article that changed or went since) is
    deleted. Returns the finished ids."""
    want = {p.id: (p.doc_id, p.start, p.end, plan.articles[p.doc_id].content_hash) for p in passages}
    done, stale = set(), []
    for pid, meta in store.metadata():
        if want.get(pid) == (meta.get("doc_id"), meta.get("start"), meta.get("end"), meta.get("hash")):
            done.add(pid)
        else:
            stale.append(pid)
    store.delete_ids(stale)
    return done


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
