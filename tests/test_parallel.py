"""Runs side by side (`index.parallel`)."""

from __future__ import annotations

import threading

import pytest

from index.parallel import cores, map_on_threads


def test_results_come_back_in_order_from_several_threads() -> None:
    seen: set[int] = set()
    gate = threading.Barrier(2, timeout=10)

    def square(x: int) -> int:
        if x < 2:
            gate.wait()  # the first two items run at once, on two threads
        seen.add(threading.get_ident())
        return x * x

    assert map_on_threads(square, list(range(20)), 2) == [x * x for x in range(20)]
    assert len(seen) == 2


def test_one_thread_or_one_item_runs_in_the_caller() -> None:
    me = threading.get_ident()
    assert map_on_threads(lambda x: threading.get_ident(), [1, 2, 3], 1) == [me] * 3
    assert map_on_threads(lambda x: threading.get_ident(), [1], 4) == [me]
    assert map_on_threads(lambda x: x, [], 4) == []
    assert cores() >= 1


def test_an_error_in_any_run_reaches_the_caller() -> None:
    def fail_on_three(x: int) -> int:
        if x == 3:
            raise ValueError("three")
        return x

    with pytest.raises(ValueError, match="three"):
        map_on_threads(fail_on_three, list(range(8)), 2)


def test_a_short_call_never_waits_behind_a_long_one() -> None:
    # A build embedding thousands of texts and a question embedding a few share one embedder: the
    # question's runs must not queue behind the build's (they would with one shared pool).
    release = threading.Event()
    long_call = threading.Thread(target=map_on_threads, args=(lambda x: release.wait(10), list(range(50)), 2))
    long_call.start()
    try:
        result: list[int] = []
        short_call = threading.Thread(target=lambda: result.extend(map_on_threads(lambda x: x + 1, [1, 2, 3], 2)))
        short_call.start()
        short_call.join(5)
        assert result == [2, 3, 4] and long_call.is_alive()  # done while the long call is stuck
    finally:
        release.set()
        long_call.join()
