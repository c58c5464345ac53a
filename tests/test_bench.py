"""The benchmark's own measurements: memory of the right process, tables and plots with sizes
where the starter was skipped, a deterministic archive."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evals import bench
from evals.synth import write_archive
from index.build import build_index
from index.embed import HashEmbedder
from rag.settings import Settings


def test_cold_ask_reports_the_median_start_and_the_childs_peak_memory_not_the_parents(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_index(settings, HashEmbedder())
    monkeypatch.setenv("RAG_EMBEDDER", "fake")
    ballast = np.ones(700 * 1024 * 1024 // 8)  # this process now holds 700 MB more than any `rag ask`
    assert bench._rss_mb() > 700
    row = bench._cold_ask(settings, runs=3)
    assert 20 < row["ask_peak_rss_mb"] < 600 < bench._rss_mb()
    assert len(row["ask_cold_runs_s"]) == 3 and row["ask_cold_s"] == sorted(row["ask_cold_runs_s"])[1] > 0
    del ballast


ROWS = [
    {"size": "seeds", "passages": 16, "build_passages_per_s": 3.0, "raw_encode_passages_per_s": 40.0,
     "dense_p95_ms": 14.0, "bm25_p95_ms": 0.1, "hybrid_p95_ms": 15.0, "baseline_p95_ms": 13.0, "baseline_build_s": 1.0},
    {"size": "100000", "passages": 100000, "build_passages_per_s": 47.0, "raw_encode_passages_per_s": 50.0,
     "dense_p95_ms": 30.0, "bm25_p95_ms": 1.0, "hybrid_p95_ms": 38.0},  # starter skipped above --baseline-max
]  # fmt: skip
RESULTS = {
    "sizes": ROWS,
    "answer": {"answer_p50_ms": 1274.0, "answer_p95_ms": 2562.0, "ttft_p50_ms": 877.0, "ttft_p95_ms": 1083.0},
    "serve_cold_s": 5.0,
    "chroma": {"embedded_build_s": 20.5},
}


def test_report_and_plot_handle_sizes_without_the_starter(tmp_path: Path) -> None:
    md = bench._markdown(RESULTS)
    lines = [line for line in md.splitlines() if line.startswith("| 100000")]
    assert len(lines) == 1 and "| - |" in lines[0]  # its baseline columns are marked, not invented
    assert "time to first token p50 877 ms" in md
    bench._plot(RESULTS, tmp_path / "bench.png")
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_synthetic_archive_is_deterministic(tmp_path: Path) -> None:
    a = write_archive(tmp_path / "a", 5)
    b = write_archive(tmp_path / "b", 5)
    assert [p.read_text() for p in a] == [p.read_text() for p in b]
    assert len({p.read_text() for p in a}) == 5
