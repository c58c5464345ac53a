"""`rag index`: add files to the archive, build incrementally with a progress bar, print a summary."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from index.build import BuildReport, build_index, build_lock, has_documents, served_file_ids
from index.embed import make_embedder
from index.files import (
    Skipped,
    add_document,
    add_folder,
    as_added,
    document_file,
    find_files,
    forget_document,
)
from index.layout import Layout, read_manifest
from index.sources import Limits
from rag.errors import BadFileError
from rag.settings import Settings


def add_paths(
    settings: Settings, paths: list[Path], fields: Mapping[str, str] | None = None
) -> tuple[list[Path], list[Skipped]]:
    """Copy the given files and folders into the documents folder (a folder keeps its name and
    layout, a taken name gets a new one, never an overwrite); bad files are skipped with a reason."""
    limits = Limits.of(settings)
    added: list[Path] = []
    skipped: list[Skipped] = []
    for path in paths:
        if path.is_dir():
            copied, missed = add_folder(path, settings.docs_dir, limits, fields)
            added += copied
            skipped += missed
            continue
        files, missed = find_files([path])
        skipped += missed
        for file in files:
            try:
                added.append(add_document(file, settings.docs_dir, limits, fields=fields))
            except BadFileError as exc:
                skipped.append(Skipped(str(file), str(exc).split(": ", 1)[-1]))
    return added, skipped


def run_index(
    settings: Settings,
    paths: list[Path],
    rebuild: bool = False,
    remove_ids: list[str] | None = None,
    quiet: bool = False,
    fields: Mapping[str, str] | None = None,
) -> list[Skipped]:
    """Add paths, remove ids, build, and print what happened. Returns the skipped files."""
    from rich.console import Console

    console = Console(stderr=False, highlight=False)
    if settings.in_place and (paths or remove_ids):
        raise BadFileError(
            f"{settings.docs_dir} is indexed in place (RAG_DOCUMENTS): add or delete files there yourself, then run `rag index`"
        )
    # One lock from the first copy to the end of the build: a build already running fails this run
    # before anything is copied or deleted, and none can start between the copy and the build.
    with build_lock(Layout(settings.data_dir)):
        known = served_file_ids(settings)
        # Every id is found before any file is deleted or copied: a typo in the last one loses nothing.
        doomed = list(dict.fromkeys(document_file(d, settings.docs_dir, known) for d in remove_ids or []))
        added, skipped = add_paths(settings, paths, fields)
        removed = [forget_document(path, settings.docs_dir) for path in doomed]
        if paths and not added and not has_documents(settings.docs_dir):
            # Building now would index the demo articles (or nothing) in place of the user's files.
            for s in skipped:
                print(f"skipped {s.path}: {s.reason}", file=sys.stderr)
            raise BadFileError(
                f"no article could be read from {counted(len(paths), 'path')} given "
                f"({counted(len(skipped), 'file')} skipped); nothing was indexed"
            )
        if paths and not quiet:
            console.print(f"copied {counted(len(added), 'file')} into {settings.docs_dir}")
        for path in removed:
            console.print(f"removed {path.name}")
        report = build_with_progress(settings, rebuild=rebuild, quiet=quiet, locked=True)
    skipped = skipped + [
        Skipped(as_added(s.path, settings.docs_dir), s.reason) for s in report.skipped if s not in skipped
    ]
    skipped = list(dict.fromkeys(skipped))
    for s in skipped:
        print(f"skipped {s.path}: {s.reason}", file=sys.stderr)
    if not quiet:
        print_summary(console, settings, report)
    return skipped


def build_with_progress(
    settings: Settings, rebuild: bool = False, quiet: bool = False, locked: bool = False
) -> BuildReport:
    """Run a build with a progress bar (and ETA) for each stage: reading, embedding, writing."""
    stages, close = terminal_stages(quiet)
    try:
        return build_index(settings, make_embedder(settings), rebuild=rebuild, stages=stages, locked=locked)
    finally:
        close()


SUMMARY_ROWS = 50  # a 20,000-article archive is summed up, not printed
UNITS = {"reading": "file", "embedding": "passage", "writing": "step"}


def terminal_stages(quiet: bool = False) -> tuple[Callable[[str, int, int], None], Callable[[], None]]:
    """A tqdm bar on stderr per build stage, as a build_index `stages` callback, and a closer."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def stages(stage: str, done: int, total: int) -> None:
        if quiet or total == 0:
            return
        bar = bars.get(stage)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[stage] = tqdm(total=total, unit=UNITS.get(stage, "item"), desc=stage, file=sys.stderr)
        bar.update(done - bar.n)

    def close() -> None:
        for bar in bars.values():
            bar.close()

    return stages, close


def print_summary(console: object, settings: Settings, report: BuildReport) -> None:
    """A table of the indexed articles and one line of totals."""
    from rich.table import Table

    gen = Layout(settings.data_dir).require_current()
    manifest = read_manifest(gen)
    table = Table(title=f"Index {gen.name} in {settings.data_dir}", show_lines=False)
    for col in ("id", "date", "source", "title"):
        table.add_column(col, overflow="fold")
    rows = list(manifest["articles"].items())
    for doc_id, meta in rows[:SUMMARY_ROWS]:
        also = f" (+{len(meta['also'])} copies)" if meta.get("also") else ""
        table.add_row(doc_id, meta.get("date") or "-", meta.get("source") or "-", (meta.get("title") or "") + also)
    if len(rows) > SUMMARY_ROWS:
        table.add_row("…", "", "", f"and {len(rows) - SUMMARY_ROWS:,} more")
    console.print(table)  # type: ignore[attr-defined]
    if report.merged:
        console.print(  # type: ignore[attr-defined]
            f"{report.merged} article(s) arrived more than once: indexed once, their other sources listed"
        )
    if report.up_to_date:
        state = "up to date, nothing embedded"
    else:
        state = f"{len(report.added)} added, {len(report.changed)} changed, {len(report.removed)} removed" + (
            " (full rebuild)" if report.rebuilt else ""
        )
    console.print(  # type: ignore[attr-defined]
        f"{counted(report.articles, 'article')}, {counted(report.passages, 'passage')}; {state}; "
        f"embedded {counted(report.embedded, 'passage')} in {report.seconds:.1f} s "
        f"({report.passages_per_second:.1f} passages/s)"
        + (f"; resumed an interrupted build: {report.resumed} passages were already embedded" if report.resumed else "")
    )


def counted(n: int, noun: str) -> str:
    """ "1 article", "2 articles" (thousands separated)."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")
