"""Finding article files, and adding or removing them in the documents folder safely.

Files added with `rag index PATH` or uploaded are copied into the documents folder. A folder keeps
its name and layout (`rag index bbc/ cnn/` gives `docs/bbc/...` and `docs/cnn/...`); a name that is
already taken by a file from somewhere else gets a new one (`bbc-2/`), so nothing is ever
overwritten by an unrelated file. Re-adding the same source updates its copy. Where each copy came
from, and any `--map` of an export's columns, is kept in the folder's `.sources.json`.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from index.atomic import replace_atomically
from index.dedup import merge_copies
from index.parse import file_ids, id_for
from index.sources import (
    EXPORT_SUFFIXES,
    FEED_SUFFIXES,
    SUPPORTED_HELP,
    SUPPORTED_SUFFIXES,
    Limits,
    Skipped,
    free_name,
    read_source,
    unique_ids,
)
from rag.errors import BadFileError
from rag.types import Article

REGISTRY = ".sources.json"

__all__ = ["Skipped", "Loaded", "find_files", "load_articles", "add_document", "add_folder", "remove_document"]


@dataclass
class Loaded:
    """The articles of an archive's folders, after duplicates were merged."""

    articles: dict[str, Article]
    skipped: list[Skipped] = field(default_factory=list)
    merged: int = 0  # arrivals listed as copies of another article instead of indexed again
    # Per folder (its resolved path), every file id given so far: path inside the folder -> id.
    file_ids: dict[str, dict[str, str]] = field(default_factory=dict)


def find_files(paths: list[Path], count_others: bool = False) -> tuple[list[Path], list[Skipped]]:
    """Expand files and folders into supported article files, sorted; report what is unsupported
    (with `count_others`, also the files of other types inside a folder: one line per folder, for
    folders a user adds, not for every build of one indexed in place)."""
    found: list[Path] = []
    skipped: list[Skipped] = []
    for path in paths:
        if path.is_dir():
            root = path.resolve()
            other: Counter[str] = Counter()  # files of unsupported types, by suffix: one line per folder
            for child in sorted(path.rglob("*")):
                if any(part.startswith(".") for part in child.relative_to(path).parts):
                    continue
                if child.suffix.lower() not in SUPPORTED_SUFFIXES:
                    if child.is_file():
                        other[child.suffix.lower() or "(none)"] += 1
                    continue
                # A link in the folder must not pull in a file from elsewhere on the machine.
                if child.is_symlink() and not child.resolve().is_relative_to(root):
                    skipped.append(Skipped(str(child), "symbolic link to a file outside the folder; not followed"))
                elif child.is_file():
                    found.append(child)
            if other and count_others:
                kinds = ", ".join(f"{n} {suffix}" for suffix, n in sorted(other.items()))
                n = sum(other.values())
                skipped.append(
                    Skipped(
                        str(path),
                        f"{n} file{'s' * (n != 1)} of unsupported types not read ({kinds}); use {SUPPORTED_HELP}",
                    )
                )
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(path)
            else:
                skipped.append(Skipped(str(path), f"unsupported type {path.suffix or '(none)'}; use {SUPPORTED_HELP}"))
        else:
            skipped.append(Skipped(str(path), "no such file or folder"))
    return found, skipped


def load_articles(
    folders: list[Path],
    max_bytes: int,
    limits: Limits | None = None,
    progress: Callable[[int, int], None] | None = None,
    known: Mapping[str, Mapping[str, str]] | None = None,
) -> Loaded:
    """Parse every article in the folders; bad files, entries and rows are skipped with a reason,
    repeated ids made unique, and the same article arriving twice is indexed once.
    `progress(files read, files)` follows the reading; `known` holds the file ids earlier builds
    gave (`Loaded.file_ids`), so that no id passes from one file to another (`file_ids`)."""
    limits = limits or Limits(article_bytes=max_bytes)
    parsed: list[Article] = []
    skipped: list[Skipped] = []
    registry: dict[str, dict[str, str]] = {}
    work: list[tuple[Path, Path, str, dict]] = []  # file, its path in the folder, its id, column maps
    for folder in folders:
        if not folder.exists():
            continue
        files, missed = find_files([folder])
        skipped += missed
        maps = _registry(folder).get("fields", {}) if folder.is_dir() else {}
        relatives = [path.relative_to(folder) if folder.is_dir() else Path(path.name) for path in files]
        key = folder_key(folder)
        earlier = dict((known or {}).get(key, {}))
        ids = file_ids(relatives, earlier)
        registry[key] = earlier | {relative.as_posix(): ids[relative] for relative in relatives}
        work += [(path, relative, ids[relative], maps) for path, relative in zip(files, relatives)]
    for n, (path, relative, file_id, maps) in enumerate(work):
        if progress:
            progress(n, len(work))
        try:
            found = read_source(path, file_id, limits, maps.get(relative.as_posix()))
        except BadFileError as exc:
            skipped.append(Skipped(str(path), str(exc).split(": ", 1)[-1]))
            continue
        parsed += found.articles
        skipped += found.skipped
    if progress:
        progress(len(work), len(work))
    kept, merged = merge_copies(unique_ids(parsed))
    return Loaded({a.doc_id: a for a in kept}, skipped, merged, registry)


def folder_key(folder: Path) -> str:
    """How a source folder's file ids are filed: its resolved path."""
    return str(folder.resolve())


def safe_name(name: str) -> str:
    """A file name with no path parts and only safe characters."""
    base = Path(name.replace("\\", "/")).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._-")[:100] or "document"
    return stem + suffix


def add_document(
    source: Path,
    docs_dir: Path,
    limits: Limits,
    name: str | None = None,
    fields: Mapping[str, str] | None = None,
    origin: str | None = None,
) -> Path:
    """Validate a file and copy it into the documents folder under a safe name that no other
    source holds (re-adding the same origin replaces its copy; identical bytes are not copied twice)."""
    display = name or source.name
    _check(source, display, limits)
    docs_dir.mkdir(parents=True, exist_ok=True)
    registry = _registry(docs_dir)
    # An upload is the same source as an earlier one only when its bytes are the same.
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16] if name and not origin else ""
    origin = origin or (f"upload:{display}:{digest}" if name else str(source.resolve()))
    target = _free_target(docs_dir, safe_name(display), origin, source, registry)
    if target.resolve().parent != docs_dir.resolve():
        raise BadFileError(f"{display}: unsafe file name")
    _parse_check(source, target.relative_to(docs_dir), display, limits, fields)
    # The name is claimed before the copy: a copy cut short (a crash, a full disk) is redone under
    # the same name by the next add of this source, not left beside a second copy named name-2.
    # An export's column map is recorded after it, so it never describes a file it did not come with.
    relative = target.relative_to(docs_dir).as_posix()
    if registry.get("origins", {}).get(relative) != origin:
        _remember(docs_dir, registry, relative, origin, None)
    _copy(source, target)
    if fields:
        _remember(docs_dir, registry, relative, origin, fields)
    return target


def add_folder(
    folder: Path, docs_dir: Path, limits: Limits, fields: Mapping[str, str] | None = None
) -> tuple[list[Path], list[Skipped]]:
    """Copy a folder's article files into `docs/<folder name>/` (a new name if another folder of
    that name was added before), keeping its layout. Bad files are skipped with a reason. Adding
    the same folder again brings its copy up to date: files since deleted from the folder are
    deleted from the copy too (a file that is only broken now keeps its last good copy)."""
    files, skipped = find_files([folder], count_others=True)
    docs_dir.mkdir(parents=True, exist_ok=True)
    registry = _registry(docs_dir)
    origin = str(folder.resolve())
    base = safe_name(folder.resolve().name) or "folder"
    top = free_name(base, "", lambda c: (docs_dir / c).exists() and registry.get("origins", {}).get(c) != origin)
    if files and registry.get("origins", {}).get(top) != origin:
        _remember(docs_dir, registry, top, origin, None)  # claimed before the first copy, as in add_document
    added = []
    used: set[str] = set()
    inside = docs_dir.resolve()
    for path in files:
        if path.resolve().is_relative_to(inside):
            continue  # the documents folder itself, when it lies inside the folder being added
        relative = Path(top, *(safe_name(p) for p in path.relative_to(folder).parts))
        # "a b.txt" and "a_b.txt" both become a_b.txt: the second gets a_b-2.txt.
        relative = Path(free_name(relative.with_suffix("").as_posix(), relative.suffix, lambda c: c.lower() in used))
        used.add(relative.as_posix().lower())
        try:
            _check(path, str(path), limits)
            _parse_check(path, relative, str(path), limits, fields)
        except BadFileError as exc:
            skipped.append(Skipped(str(path), str(exc).split(": ", 1)[-1]))
            continue
        target = docs_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy(path, target)
        if fields and path.suffix.lower() in EXPORT_SUFFIXES:  # an export's column map, right after its copy
            registry.setdefault("fields", {})[relative.as_posix()] = dict(fields)
            _write_registry(docs_dir, registry)
        added.append(target)
    pruned = False
    if registry.get("origins", {}).get(top) == origin:
        for old in sorted((docs_dir / top).rglob("*")):
            if old.is_file() and old.relative_to(docs_dir).as_posix().lower() not in used:
                old.unlink()
                registry.get("fields", {}).pop(old.relative_to(docs_dir).as_posix(), None)
                pruned = True
    if added or pruned:
        _remember(docs_dir, registry, top, origin, None)
    return added, skipped


def remove_document(doc_id: str, docs_dir: Path, known: Mapping[str, Mapping[str, str]] | None = None) -> Path:
    """Delete the documents-folder file an article came from (see `document_file`)."""
    return forget_document(document_file(doc_id, docs_dir, known), docs_dir)


def forget_document(path: Path, docs_dir: Path) -> Path:
    """Delete a documents-folder file found by `document_file`, and what is remembered of it."""
    path.unlink()
    if path.suffix.lower() in FEED_SUFFIXES + EXPORT_SUFFIXES:
        _forget(docs_dir, path.relative_to(docs_dir).as_posix())
    return path


def document_file(doc_id: str, docs_dir: Path, known: Mapping[str, Mapping[str, str]] | None = None) -> Path:
    """The documents-folder file an article came from, found by the article's own recorded path,
    or a whole feed or export by its file id; BadFileError for seed articles (they cannot be
    removed) and for one entry of a feed or export (it goes only with its file). `known`: the
    served index's file ids (its manifest's), so ids mean what the index shows."""
    files = find_files([docs_dir])[0] if docs_dir.is_dir() else []
    earlier = (known or {}).get(folder_key(docs_dir), {})
    by_id = {
        file_id: docs_dir / relative
        for relative, file_id in file_ids([p.relative_to(docs_dir) for p in files], earlier).items()
    }
    whole = by_id.get(doc_id)
    if whole is not None and whole.suffix.lower() in FEED_SUFFIXES + EXPORT_SUFFIXES:
        return whole
    loaded = load_articles([docs_dir], 2**62, Limits(2**62, 2**62), known=known) if docs_dir.is_dir() else Loaded({})
    article = loaded.articles.get(doc_id)
    if article is None or not article.path:
        raise BadFileError(f"{doc_id}: not an uploaded document (seed articles stay)")
    path = Path(article.path)
    if not path.resolve().is_relative_to(docs_dir.resolve()) or not path.is_file():
        raise BadFileError(f"{doc_id}: not an uploaded document (seed articles stay)")
    others = [a.doc_id for a in loaded.articles.values() if a.path == article.path and a.doc_id != doc_id]
    if others or path.suffix.lower() in FEED_SUFFIXES + EXPORT_SUFFIXES:
        file_id = next((i for i, p in by_id.items() if p == path), id_for(path.relative_to(docs_dir)))
        raise BadFileError(
            f"{doc_id}: one entry of {path.relative_to(docs_dir)}; remove the whole file with --remove {file_id}"
        )
    return path


def _copy(source: Path, target: Path) -> None:
    """Copy a file in, whole or not at all (a re-added file keeps its last good copy until the new one is whole)."""
    replace_atomically(target, lambda tmp: shutil.copyfile(source, tmp))


def _check(source: Path, display: str, limits: Limits) -> None:
    suffix = Path(display).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise BadFileError(f"{display}: unsupported type {suffix or '(none)'}; use {SUPPORTED_HELP}")
    if source.is_symlink():
        raise BadFileError(f"{display}: symbolic links are not accepted")
    if not source.is_file():
        raise BadFileError(f"{display}: not a regular file")
    size = source.stat().st_size
    many = suffix in FEED_SUFFIXES + EXPORT_SUFFIXES
    limit = limits.collection_bytes if many else limits.article_bytes
    if size > limit:
        raise BadFileError(f"{display}: {size:,} bytes is over the {limit:,}-byte limit")


def _parse_check(source: Path, relative: Path, display: str, limits: Limits, fields: Mapping[str, str] | None) -> None:
    """Parse before storing, so a file that would be skipped whole is refused up front."""
    suffix = Path(display).suffix.lower()
    if suffix in FEED_SUFFIXES + EXPORT_SUFFIXES and source.stat().st_size > 50_000_000:
        return  # a large export is checked row by row when it is indexed
    try:
        found = read_source(source, id_for(relative), limits, fields, suffix=suffix)
    except BadFileError as exc:
        raise BadFileError(f"{display}: {str(exc).split(': ', 1)[-1]}") from None
    if not found.articles:
        reason = found.skipped[0].reason if found.skipped else "no articles"
        raise BadFileError(f"{display}: no article could be read ({reason})")


def _free_target(docs_dir: Path, name: str, origin: str, source: Path, registry: dict) -> Path:
    """The name itself when it is free, holds this origin's copy or the same bytes; else name-2..."""

    def taken(candidate: str) -> bool:
        held = docs_dir / candidate
        if not held.exists():
            return False
        return registry.get("origins", {}).get(candidate) != origin and held.read_bytes() != source.read_bytes()

    return docs_dir / free_name(Path(name).stem, Path(name).suffix, taken)


def as_added(where: str, docs_dir: Path) -> str:
    """A skipped file's place as the user knows it: the path it was added from, not its copy in
    the documents folder ("docs/wire/export.csv line 3" -> "~/in/wire/export.csv line 3")."""
    root = str(docs_dir.resolve())
    resolved = str(Path(where.split(" line ")[0].split(" entry ")[0]).resolve())
    if not resolved.startswith(root + "/"):
        return where
    relative = resolved[len(root) + 1 :]
    for top, origin in _registry(docs_dir).get("origins", {}).items():
        if relative == top or relative.startswith(top + "/"):
            return origin + relative[len(top) :] + where[len(where.split(" line ")[0].split(" entry ")[0]) :]
    return where


def _registry(folder: Path) -> dict:
    try:
        data = json.loads((folder / REGISTRY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _remember(docs_dir: Path, registry: dict, relative: str, origin: str, fields: Mapping[str, str] | None) -> None:
    registry.setdefault("origins", {})[relative] = origin
    if fields:
        registry.setdefault("fields", {})[relative] = dict(fields)
    _write_registry(docs_dir, registry)


def _forget(docs_dir: Path, relative: str) -> None:
    """A removed file's origin and column map leave the registry (a new file of that name starts fresh)."""
    registry = _registry(docs_dir)
    if relative in registry.get("origins", {}) or relative in registry.get("fields", {}):
        registry.get("origins", {}).pop(relative, None)
        registry.get("fields", {}).pop(relative, None)
        _write_registry(docs_dir, registry)


def _write_registry(docs_dir: Path, registry: dict) -> None:
    text = json.dumps(registry, indent=1, ensure_ascii=False)
    replace_atomically(docs_dir / REGISTRY, lambda tmp: tmp.write_text(text, encoding="utf-8"))
