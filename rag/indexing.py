"""`rag index`: add files to the archive, build incrementally with a progress bar, print a summary."""

from __future__ import annotations

import sys
from pathlib import Path

from index.build import BuildReport, build_index
from index.embed import make_embedder
from index.files import Skipped, add_document, find_files, remove_document
from index.layout import Layout, read_manifest
from rag.errors import BadFileError
from rag.settings import Settings


def add_paths(settings: Settings, paths: list[Path]) -> tuple[list[Path], list[Skipped]]:
    """Copy the given files (folders expanded) into the documents folder; bad ones are skipped."""
    files, skipped = find_files(paths)
    added = []
    for path in files:
        try:
            added.append(add_document(path, settings.docs_dir, settings.max_file_bytes))
        except BadFileError as exc:
            skipped.append(Skipped(str(path), str(exc).split(": ", 1)[-1]))
    return added, skipped


def run_index(
    settings: Settings,
    paths: list[Path],
    rebuild: bool = False,
    remove_ids: list[str] | None = None,
    quiet: bool = False,
) -> list[Skipped]:
    """Add paths, remove ids, build, and print what happened. Returns the skipped files."""
    from rich.console import Console

    console = Console(stderr=False, highlight=False)
    _, skipped = add_paths(settings, paths)
    for doc_id in remove_ids or []:
        removed = remove_document(doc_id, settings.docs_dir)
        console.print(f"removed {removed.name}")
    report = build_with_progress(settings, rebuild=rebuild, quiet=quiet)
    skipped = skipped + [s for s in report.skipped if s not in skipped]
    for s in skipped:
        print(f"skipped {s.path}: {s.reason}", file=sys.stderr)
    if not quiet:
        print_summary(console, settings, report)
    return skipped


def build_with_progress(settings: Settings, rebuild: bool = False, quiet: bool = False) -> BuildReport:
    """Run a build with a tqdm progress bar over the passages being embedded."""
    from tqdm import tqdm

    bar: tqdm | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if quiet or total == 0:
            return
        if bar is None:
            bar = tqdm(total=total, unit="passage", desc="embedding", file=sys.stderr)
        bar.update(done - bar.n)

    try:
        return build_index(settings, make_embedder(settings), rebuild=rebuild, progress=progress)
    finally:
        if bar is not None:
            bar.close()


def print_summary(console: object, settings: Settings, report: BuildReport) -> None:
    """A table of the indexed articles and one line of totals."""
    from rich.table import Table

    gen = Layout(settings.data_dir).require_current()
    manifest = read_manifest(gen)
    table = Table(title=f"Index {gen.name} in {settings.data_dir}", show_lines=False)
    for col in ("id", "date", "title"):
        table.add_column(col, overflow="fold")
    for doc_id, meta in manifest["articles"].items():
        table.add_row(doc_id, meta.get("date") or "-", meta.get("title") or "")
    console.print(table)  # type: ignore[attr-defined]
    if report.up_to_date:
        state = "up to date, nothing embedded"
    else:
        state = f"{len(report.added)} added, {len(report.changed)} changed, {len(report.removed)} removed" + (
            " (full rebuild)" if report.rebuilt else ""
        )
    console.print(  # type: ignore[attr-defined]
        f"{report.articles} articles, {report.passages} passages; {state}; "
        f"embedded {report.embedded} passages in {report.seconds:.1f} s "
        f"({report.passages_per_second:.1f} passages/s)"
    )
