"""Index builds run by the web server: on first start when there is no index, and after uploads.

The page and the API read a shared BuildStatus, so a question asked while the first build runs gets
"still building (n/m passages)" instead of an error page.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

from index.build import BuildReport, Progress, build_index
from index.embed import Embedder
from index.layout import Layout
from rag.errors import IndexCorruptError, RagError
from rag.indexing import counted
from rag.settings import Settings


class BuildStatus:
    """What the server's index build is doing, shared by the build thread, the page and the API."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = False
        self.done = 0
        self.total = 0
        self.error = ""

    def progress(self, done: int, total: int) -> None:
        """Record embedding progress (a build_index progress callback)."""
        with self._lock:
            self.done, self.total = done, total

    def message(self) -> str:
        """One line for a person: what the build is doing, or "" when there is nothing to say."""
        with self._lock:
            if self.running:
                counts = f" ({self.done}/{self.total} passages embedded)" if self.total else ""
                return f"The index is being built{counts}; questions work as soon as it is ready."
            return f"The last index build failed: {self.error}" if self.error else ""

    def begin(self) -> None:
        """Mark a build as running."""
        with self._lock:
            self.running, self.error, self.done, self.total = True, "", 0, 0

    def end(self, error: str = "") -> None:
        """Mark the build as finished, with the one-line reason when it failed."""
        with self._lock:
            self.running, self.error = False, error


def index_exists(settings: Settings) -> bool:
    """True when a generation has been published (a damaged one counts: opening it explains the problem)."""
    try:
        return Layout(settings.data_dir).current() is not None
    except IndexCorruptError:
        return True


def run_build(
    settings: Settings, embedder: Embedder, status: BuildStatus, progress: Progress | None = None
) -> BuildReport:
    """Build the index (incrementally), reporting progress to the status and to an optional callback."""

    def both(done: int, total: int) -> None:
        status.progress(done, total)
        if progress is not None:
            progress(done, total)

    status.begin()
    try:
        report = build_index(settings, embedder, progress=both)
    except RagError as exc:
        status.end(str(exc))
        raise
    except Exception as exc:
        status.end(f"{type(exc).__name__}: {exc}")
        raise
    status.end()
    return report


def terminal_progress() -> tuple[Progress, Callable[[], None]]:
    """A tqdm bar (with ETA) on stderr as a build_index progress callback, and a function that closes it."""
    from rag.indexing import terminal_stages

    stages, close = terminal_stages()
    return (lambda done, total: stages("embedding", done, total)), close


def build_in_background(settings: Settings, embedder: Callable[[], Embedder], status: BuildStatus) -> threading.Thread:
    """Start the first build in a thread, with a progress bar on the terminal; the server runs meanwhile."""
    status.begin()
    print(
        f"No index in {settings.data_dir} yet: building it now (the web page answers once it is ready).",
        file=sys.stderr,
        flush=True,
    )

    def work() -> None:
        progress, close = terminal_progress()
        try:
            report = run_build(settings, embedder(), status, progress)
        except Exception as exc:  # the server keeps running; the page shows the reason
            close()
            if not status.error:
                status.end(f"{type(exc).__name__}: {exc}")
            print(f"Index build failed: {status.error}", file=sys.stderr, flush=True)
            return
        close()
        print(
            f"Index ready: {counted(report.articles, 'article')}, {counted(report.passages, 'passage')} "
            f"({report.seconds:.1f} s).",
            file=sys.stderr,
            flush=True,
        )

    thread = threading.Thread(target=work, name="rag-index-build", daemon=True)
    thread.start()
    return thread
