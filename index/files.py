"""Finding article files, and adding or removing them in the documents folder safely."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from index.parse import SUPPORTED_SUFFIXES, decode_text, doc_id_for, parse_file
from rag.errors import BadFileError
from rag.types import Article


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why."""

    path: str
    reason: str


def find_files(paths: list[Path]) -> tuple[list[Path], list[Skipped]]:
    """Expand files and folders into supported article files, sorted; report what is unsupported."""
    found: list[Path] = []
    skipped: list[Skipped] = []
    for path in paths:
        if path.is_dir():
            root = path.resolve()
            for child in sorted(path.rglob("*")):
                if child.name.startswith(".") or child.suffix.lower() not in SUPPORTED_SUFFIXES:
                    continue
                # A link in the folder must not pull in a file from elsewhere on the machine.
                if child.is_symlink() and not child.resolve().is_relative_to(root):
                    skipped.append(Skipped(str(child), "symbolic link to a file outside the folder; not followed"))
                elif child.is_file():
                    found.append(child)
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(path)
            else:
                skipped.append(
                    Skipped(str(path), f"unsupported type {path.suffix or '(none)'}; use .txt, .md or .html")
                )
        else:
            skipped.append(Skipped(str(path), "no such file or folder"))
    return found, skipped


def load_articles(folders: list[Path], max_bytes: int) -> tuple[dict[str, Article], list[Skipped]]:
    """Parse every article file in the folders; bad files are skipped with a one-line reason."""
    files, skipped = find_files([f for f in folders if f.exists()])
    articles: dict[str, Article] = {}
    for path in files:
        try:
            article = parse_file(path, max_bytes)
        except BadFileError as exc:
            skipped.append(Skipped(str(path), str(exc).split(": ", 1)[-1]))
            continue
        if article.doc_id in articles:
            skipped.append(Skipped(str(path), f"same article id as {articles[article.doc_id].path}; rename one"))
            continue
        articles[article.doc_id] = article
    return articles, skipped


def safe_name(name: str) -> str:
    """A file name with no path parts and only safe characters."""
    base = Path(name.replace("\\", "/")).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._-")[:100] or "document"
    return stem + suffix


def add_document(source: Path, docs_dir: Path, max_bytes: int, name: str | None = None) -> Path:
    """Validate a file and copy it into the documents folder under a sanitized name."""
    display = name or source.name
    suffix = Path(display).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise BadFileError(f"{display}: unsupported type {suffix or '(none)'}; use .txt, .md or .html")
    if source.is_symlink():
        raise BadFileError(f"{display}: symbolic links are not accepted")
    if not source.is_file():
        raise BadFileError(f"{display}: not a regular file")
    size = source.stat().st_size
    if size > max_bytes:
        raise BadFileError(f"{display}: {size:,} bytes is over the {max_bytes:,}-byte limit")
    text = decode_text(source.read_bytes(), display)
    docs_dir.mkdir(parents=True, exist_ok=True)
    target = (docs_dir / safe_name(display)).resolve()
    if target.parent != docs_dir.resolve():
        raise BadFileError(f"{display}: unsafe file name")
    # Parse before storing, so a file that would be skipped is refused up front.
    from index.parse import parse_text

    parse_text(text, doc_id_for(target), suffix=suffix)
    shutil.copyfile(source, target)
    return target


def remove_document(doc_id: str, docs_dir: Path) -> Path:
    """Delete the documents-folder file of an article (seed articles cannot be removed)."""
    if docs_dir.is_dir():
        for child in docs_dir.iterdir():
            if child.is_file() and doc_id_for(child) == doc_id:
                child.unlink()
                return child
    raise BadFileError(f"{doc_id}: not an uploaded document (seed articles stay)")
