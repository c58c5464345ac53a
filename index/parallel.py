"""Model runs side by side: onnxruntime releases the interpreter lock while it runs, so one-thread
runs on several threads use several cores. Each call gets threads of its own, never a queue
shared with other callers (a question's few texts never wait behind a build's thousands)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def map_on_threads(fn: Callable[[T], R], items: Sequence[T], threads: int) -> list[R]:
    """fn over items, in order, on up to `threads` threads (the caller's among them), each taking
    the next item in turn. An exception in any run is raised in the caller."""
    n = min(threads, len(items))
    if n <= 1:
        return [fn(item) for item in items]
    out: list[R | None] = [None] * len(items)
    errors: list[BaseException] = []
    lock = threading.Lock()
    nxt = iter(range(len(items)))

    def work() -> None:
        while True:
            with lock:
                i = next(nxt, None)
                if i is None or errors:
                    return
            try:
                out[i] = fn(items[i])
            except BaseException as exc:  # re-raised in the caller below
                with lock:
                    errors.append(exc)
                return

    helpers = [threading.Thread(target=work, daemon=True) for _ in range(n - 1)]
    for t in helpers:
        t.start()
    work()
    for t in helpers:
        t.join()
    if errors:
        raise errors[0]
    return out  # type: ignore[return-value]
