"""Every test runs offline in a temporary directory with a clean RAG_* environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag.settings import PROJECT_ROOT, Settings

SEEDS = PROJECT_ROOT / "seeds"
# The public JSON shape of one citation (`rag ask --json`, `/api/ask`).
CITATION_KEYS = {"n", "doc_id", "title", "date", "text", "sentence", "start", "end", "score", "source", "also"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("RAG_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    # Most tests add articles beside the seeds; the tests of the default (seeds only while the
    # archive has nothing of its own) set RAG_SEEDS=auto themselves.
    monkeypatch.setenv("RAG_SEEDS", "on")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Fast settings: the fake embedder and fake LLM over a copy-free view of the seeds."""
    return Settings.from_env(data_dir=tmp_path / "data", seeds_dir=SEEDS, embedder="fake", llm="fake", seeds="on")


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    """A private copy of the seed folder that a test may change."""
    folder = tmp_path / "seeds"
    folder.mkdir()
    for f in SEEDS.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    return folder
