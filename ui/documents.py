"""Documents panel handlers: list the indexed articles, add uploaded files, remove added ones."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from index.build import BuildReport, Progress, served_file_ids
from index.files import add_document, find_files, remove_document
from index.parse import id_for
from index.sources import SUPPORTED_HELP, SUPPORTED_SUFFIXES, Limits
from rag.errors import BadFileError, RagError
from rag.indexing import counted
from rag.types import Article
from ui import render
from ui.building import BuildStatus, run_build
from ui.chat import one_line
from ui.pipelines import Pipelines

UPLOAD_TYPES = list(SUPPORTED_SUFFIXES)
COLUMNS = ["id", "date", "source", "title", "origin"]


class Documents:
    """The archive as the documents panel sees it; every change is followed by an incremental build."""

    def __init__(self, pipelines: Pipelines, status: BuildStatus | None = None) -> None:
        self.pipelines = pipelines
        self.settings = pipelines.settings
        self.status = BuildStatus() if status is None else status

    def articles(self) -> Mapping[str, Article]:
        """The served articles, or none when there is no usable index yet."""
        try:
            return self.pipelines.get().retriever().snapshot.articles
        except RagError:
            return {}

    def is_uploaded(self, article: Article) -> bool:
        """True for articles stored in the documents folder (seed articles cannot be removed)."""
        return bool(article.path) and Path(article.path).resolve().is_relative_to(self.settings.docs_dir.resolve())

    def rows(self) -> list[list[str]]:
        """One [id, date, source, title, origin] row per indexed article; an article that arrived
        more than once is one row naming every outlet it came from."""
        return [
            [
                a.doc_id,
                a.date or "",
                ", ".join(a.sources) + (f" (+{len(a.also)} copies)" if a.also else ""),
                a.title,
                "uploaded" if self.is_uploaded(a) else "seed",
            ]
            for a in self.articles().values()
        ]

    def uploaded_ids(self) -> list[str]:
        """Ids of the articles that can be removed."""
        return [a.doc_id for a in self.articles().values() if self.is_uploaded(a)]

    def all_ids(self) -> list[tuple[str, str]]:
        """(label, id) for every indexed article."""
        return [(f"{a.doc_id} — {a.title[:80]}", a.doc_id) for a in self.articles().values()]

    def add(self, files: Iterable[object] | None, progress: Progress | None = None) -> str:
        """Copy the uploaded files into the documents folder and rebuild; bad files are refused with a reason."""
        paths = [_upload_path(f) for f in files or [] if f]
        if paths and self.settings.in_place:
            return render.message_html(self._in_place(), "error")
        if not paths:
            return render.message_html(f"Choose one or more files first ({SUPPORTED_HELP}).", "error")
        added, refused = [], []
        for path in paths:
            name = path.name  # Gradio keeps the uploaded file's own name on its temporary copy
            try:
                if path.suffix.lower() not in UPLOAD_TYPES:
                    raise BadFileError(f"{name}: unsupported type {path.suffix or '(none)'}; use {SUPPORTED_HELP}")
                add_document(path, self.settings.docs_dir, Limits.of(self.settings), name)
                added.append(name)
            except BadFileError as exc:
                refused.append(f"Refused {one_line(exc)}")
            except OSError as exc:
                refused.append(f"Refused {name}: cannot read it ({exc.strerror or type(exc).__name__})")
        lines = list(refused)
        if added:
            lines.insert(0, f"Added {', '.join(added)}.")
            lines.extend(self._rebuild(progress))
        return render.message_html(" ".join(lines), "error" if refused and not added else "info")

    def remove(self, doc_id: str | None, progress: Progress | None = None) -> str:
        """Delete an added article from the documents folder and rebuild."""
        if not doc_id:
            return render.message_html("Choose an added document to remove.", "error")
        if self.settings.in_place:
            return render.message_html(self._in_place(), "error")
        try:
            removed = remove_document(doc_id, self.settings.docs_dir, served_file_ids(self.settings))
        except RagError as exc:
            return render.message_html(one_line(exc), "error")
        lines = [f"Removed {removed.name}."] + self._rebuild(progress)
        return render.message_html(" ".join(lines))

    def view(self, doc_id: str | None) -> str:
        """The whole text of an indexed article."""
        if not doc_id:
            return render.message_html("Choose an article to read.")
        article = self.articles().get(doc_id)
        if article is None:
            return render.message_html(f"{doc_id} is not in the index.", "error")
        return render.article_html(article)

    def _rebuild(self, progress: Progress | None) -> list[str]:
        try:
            report: BuildReport = run_build(self.settings, self.pipelines.embedder, self.status, progress)
        except RagError as exc:
            return [f"The index was not rebuilt: {one_line(exc)}"]
        lines = [f"The archive now has {counted(report.articles, 'article')} ({counted(report.passages, 'passage')})."]
        if self.settings.seeds == "auto" and set(report.removed) & self._seed_ids():
            lines.append(
                "The demo articles are set aside now that the archive has articles of its own (RAG_SEEDS=on keeps them)."
            )
        lines += [f"Skipped {Path(s.path).name}: {s.reason}." for s in report.skipped]
        return lines

    def _in_place(self) -> str:
        return (
            f"{self.settings.docs_dir} is your own folder, indexed in place: add or delete files there, then rebuild."
        )

    def _seed_ids(self) -> set[str]:
        seeds = self.settings.seeds_dir
        return {id_for(p.relative_to(seeds)) for p in find_files([seeds])[0]} if seeds.is_dir() else set()


def _upload_path(upload: object) -> Path:
    # Gradio gives a path string; older versions and some clients give an object with .name or .path.
    for attr in ("path", "name"):
        value = getattr(upload, attr, None)
        if isinstance(value, str):
            return Path(value)
    return Path(str(upload))
