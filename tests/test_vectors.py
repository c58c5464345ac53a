"""The exact vector matrix: nearest rows, subsets, files, and agreement with the Chroma store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.build import build_index
from index.embed import HashEmbedder
from index.snapshot import Snapshot
from index.vectors import VECTORS_FILE, VectorMatrix
from rag.retrieve import Retriever
from rag.settings import Settings


def unit_rows(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    m = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_query_returns_the_k_nearest_rows_best_first() -> None:
    m = unit_rows(200)
    q = m[17] + 0.1 * m[3]
    found = VectorMatrix(m).query(q, 5)
    cos = m @ (q / np.linalg.norm(q))
    assert [r for r, _ in found] == list(np.argsort(-cos)[:5])
    assert found[0][0] == 17 and found[0][1] == pytest.approx(float(cos[17]), abs=1e-6)
    assert all(a[1] >= b[1] for a, b in zip(found, found[1:]))


def test_query_among_given_rows_only() -> None:
    m = unit_rows(100)
    rows = np.array([5, 40, 41, 90])
    found = VectorMatrix(m).query(m[40], 10, rows)
    assert [r for r, _ in found][0] == 40 and sorted(r for r, _ in found) == [5, 40, 41, 90]
    assert VectorMatrix(m).query(m[40], 3, np.zeros(0, dtype=np.int64)) == []


def test_ties_come_back_in_row_order_and_degenerate_queries_find_nothing() -> None:
    m = np.tile(np.eye(4, dtype=np.float32)[:1], (6, 1))  # six identical rows
    assert [r for r, _ in VectorMatrix(m).query(m[0], 4)] == [0, 1, 2, 3]
    assert VectorMatrix(m).query(np.zeros(4, np.float32), 3) == []
    assert VectorMatrix(m).query(m[0], 0) == []
    assert len(VectorMatrix(m).query(m[0], 50)) == 6


def test_save_normalizes_and_load_maps_the_file(tmp_path: Path) -> None:
    VectorMatrix.save(tmp_path, np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float64))
    loaded = VectorMatrix.load(tmp_path)
    assert loaded is not None and len(loaded) == 2 and loaded.dim == 2
    assert np.allclose(loaded.matrix, [[0.6, 0.8], [0.0, 0.0]]) and loaded.matrix.dtype == np.float32
    assert [f.name for f in tmp_path.iterdir()] == [VECTORS_FILE]  # no temporary file left beside it
    assert VectorMatrix.load(tmp_path / "nowhere") is None
    np.save(tmp_path / VECTORS_FILE, np.ones((2, 2), dtype=np.float64))
    with pytest.raises(ValueError, match="float64"):
        VectorMatrix.load(tmp_path)


def test_build_writes_every_passage_vector_and_incremental_builds_keep_them(settings: Settings) -> None:
    embedder = HashEmbedder()
    build_index(settings, embedder)
    snap = Snapshot.open(settings)
    assert snap.vectors is not None and len(snap.vectors) == len(snap.passages) == snap.store.count()
    expected = embedder.embed([p.text for p in snap.passages])
    assert np.allclose(snap.vectors.matrix, expected, atol=1e-6)
    # An article added: the old rows come from the previous matrix, the new ones are embedded.
    (settings.docs_dir).mkdir(parents=True, exist_ok=True)
    (settings.docs_dir / "extra.txt").write_text(
        "A harbour town opens its new ferry terminal\n2026-03-02\n\n"
        "The terminal, built over three years, will carry 4,000 passengers a day to the islands.\n"
    )
    report = build_index(settings, embedder)
    assert report.embedded < report.passages
    after = Snapshot.open(settings)
    assert after.vectors is not None and len(after.vectors) == len(after.passages)
    assert np.allclose(after.vectors.matrix, embedder.embed([p.text for p in after.passages]), atol=1e-6)


def test_exact_search_finds_what_the_chroma_index_finds(settings: Settings) -> None:
    embedder = HashEmbedder()
    build_index(settings, embedder)
    exact = Retriever(Snapshot.open(settings), embedder)
    hnsw = Retriever(Snapshot.open(settings.replace(dense_search="chroma")), embedder)
    assert exact.snapshot.vectors is not None and hnsw.snapshot.vectors is None
    for p in list(exact.snapshot.passages)[::3]:
        question = " ".join(p.text.split()[:12])
        a = [(h.passage.id, round(h.score, 4)) for h in exact.dense(question, 5)]
        b = [(h.passage.id, round(h.score, 4)) for h in hnsw.dense(question, 5)]
        assert a[0] == b[0] and {pid for pid, _ in a[:3]} == {pid for pid, _ in b[:3]}


def test_exact_search_does_not_open_the_chroma_store(settings: Settings) -> None:
    build_index(settings, HashEmbedder())
    snap = Snapshot.open(settings)
    Retriever(snap, HashEmbedder()).search("fighters in the militias", 5)
    assert snap._store is None


def test_an_index_of_another_embedder_is_one_clear_error(settings: Settings) -> None:
    from rag.errors import IndexMismatchError
    from rag.llm import FakeGenerator
    from rag.pipeline import Pipeline

    build_index(settings, HashEmbedder())
    for other in (HashEmbedder(dim=64), RenamedEmbedder()):  # another size; the same size, another model
        with pytest.raises(IndexMismatchError, match=r"built with the embedder .*rag index --rebuild") as caught:
            Pipeline(settings, other, FakeGenerator(default="x")).ask("How many fighters?")
        assert "\n" not in str(caught.value)
    assert Pipeline(settings, HashEmbedder(), FakeGenerator(default="x")).ask("How many fighters?").text


class RenamedEmbedder(HashEmbedder):
    name = "another/model"


def _check_matrix(settings: Settings) -> Snapshot:
    snap = Snapshot.open(settings)
    assert snap.vectors is not None and len(snap.vectors) == len(snap.passages) == snap.store.count()
    assert np.allclose(snap.vectors.matrix, HashEmbedder().embed([p.text for p in snap.passages]), atol=1e-6)
    return snap


def test_a_resumed_build_of_a_changed_article_keeps_none_of_its_old_vectors(
    settings: Settings, seeds_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A changed article's new passages reuse its old passage ids: the vectors an interrupted run
    stored for them must win over the previous generation's matrix."""
    from index import build as build_module
    from tests.test_build import ExplodingEmbedder

    settings = settings.replace(seeds_dir=seeds_copy)
    build_index(settings, HashEmbedder())
    target = sorted(seeds_copy.glob("*.txt"))[0]
    target.write_text(target.read_text().replace(" the ", " a ").replace(" and ", " plus "))
    monkeypatch.setattr(build_module, "EMBED_CHUNK", 2)
    with pytest.raises(KeyboardInterrupt):
        build_index(settings, ExplodingEmbedder(fail_after=1))  # two passages stored, then killed
    report = build_index(settings, HashEmbedder())
    assert report.resumed == 2
    _check_matrix(settings)


def test_changed_removed_and_added_articles_keep_every_row_aligned(settings: Settings, seeds_copy: Path) -> None:
    settings = settings.replace(seeds_dir=seeds_copy)
    for i in range(4):
        (seeds_copy / f"{i:03d}-town.txt").write_text(
            f"Town {i} opens a library\n2026-0{i + 1}-02\n\nThe library in town {i} holds {1000 * (i + 1)} books. "
            f"It was paid for by {i + 2} local firms.\n"
        )
    build_index(settings, HashEmbedder())
    (seeds_copy / "001-town.txt").write_text("Town 1 closes its pool\n2026-05-02\n\nThe pool shut for repairs.\n")
    (seeds_copy / "002-town.txt").unlink()
    (seeds_copy / "0000-first.txt").write_text("A first story\n2026-06-01\n\nIt sorts before every other.\n")
    report = build_index(settings, HashEmbedder())
    assert report.added and report.changed and report.removed and report.embedded < report.passages
    _check_matrix(settings)


def test_a_damaged_matrix_is_not_reused_by_the_next_build(settings: Settings) -> None:
    build_index(settings, HashEmbedder())
    gen = Snapshot.open(settings).generation
    np.save(gen / VECTORS_FILE, np.ones((3, 8), np.float32))  # another index's matrix
    settings.docs_dir.mkdir(parents=True, exist_ok=True)
    (settings.docs_dir / "late.txt").write_text("A late story\n2026-06-01\n\nIt arrived after the rest.\n")
    assert build_index(settings, HashEmbedder()).added == ("late",)
    _check_matrix(settings)


def test_an_index_built_before_the_matrix_gets_one_without_embedding_again(settings: Settings) -> None:
    from rag.llm import FakeGenerator
    from rag.pipeline import Pipeline

    build_index(settings, HashEmbedder())
    (Snapshot.open(settings).generation / VECTORS_FILE).unlink()
    snap = Snapshot.open(settings)
    assert snap.vectors is None and Retriever(snap, HashEmbedder()).dense("fighters", 3)  # Chroma answers
    from tests.test_faults import FIGHTERS, REPLY

    assert "50,000 fighters" in Pipeline(settings, HashEmbedder(), FakeGenerator(default=REPLY)).ask(FIGHTERS).text
    report = build_index(settings, HashEmbedder())
    assert report.embedded == 0 and report.passages == len(snap.passages)
    _check_matrix(settings)
    assert build_index(settings, HashEmbedder()).up_to_date


def test_a_new_generation_of_another_embedder_is_refused_every_time_not_served_from_the_old(
    settings: Settings,
) -> None:
    from rag.errors import IndexMismatchError
    from rag.llm import FakeGenerator
    from rag.pipeline import Pipeline

    build_index(settings, HashEmbedder())
    pipeline = Pipeline(settings, HashEmbedder(), FakeGenerator(default="x"))
    assert pipeline.ask("How many fighters?").text
    build_index(settings, RenamedEmbedder())  # another model, same size, published under the pipeline
    for _ in range(2):
        with pytest.raises(IndexMismatchError):
            pipeline.ask("How many fighters?")
