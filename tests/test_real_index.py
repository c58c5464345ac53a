"""Indexing with the real packaged MiniLM model, offline, embedded and in a real `chroma run` server."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from index.build import build_index
from index.embed import MiniLMEmbedder
from index.snapshot import Snapshot
from rag.errors import StoreUnavailableError
from rag.settings import Settings
from tests.conftest import SEEDS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse every connection that is not to this machine, as behind a firewall."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
            raise OSError(f"network disabled in tests: {host}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


def test_minilm_offline_gives_meaningful_vectors(no_network: None, minilm: MiniLMEmbedder) -> None:
    vecs = minilm.embed(["Militias in Iraq may disarm.", "Iraqi armed groups could give up weapons.", "Bake the cake."])
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.3


def test_minilm_small_batches_match_sentence_transformers(minilm: MiniLMEmbedder) -> None:
    # Questions take a direct forward pass; it must give the vectors sentence-transformers gives,
    # for short, long (truncated at 256 tokens) and mixed-length texts padded together.
    texts = ["How many fighters?", "Ünïcödé – “quotes” in Baghdad", "word " * 400, "x"]
    reference = minilm.model.encode(texts, normalize_embeddings=True)
    assert np.abs(minilm.embed(texts) - reference).max() < 1e-5
    for text, ref in zip(texts, reference):
        assert np.abs(minilm.embed([text])[0] - ref).max() < 1e-5


def test_index_seeds_with_minilm_offline(tmp_path: Path, no_network: None, minilm: MiniLMEmbedder) -> None:
    settings = Settings.from_env(data_dir=tmp_path / "d", seeds_dir=SEEDS)
    report = build_index(settings, minilm)
    snap = Snapshot.open(settings)
    assert report.passages == snap.store.count() == len(snap.passages) > 10
    query = minilm.embed(["How many fighters does the Islamic Resistance in Iraq command?"])[0]
    best = {pid for pid, _ in snap.store.query(query, 2)}
    assert any("50,000 fighters" in p.text for p in snap.passages if p.id in best)


def test_int8_embedder_agrees_with_torch_on_every_seed_passage(tmp_path: Path, minilm: MiniLMEmbedder) -> None:
    from index.chunk import chunk_article
    from index.embed import OnnxMiniLMEmbedder
    from index.parse import parse_file

    passages = [p.text for f in sorted(SEEDS.glob("*.txt")) for p in chunk_article(parse_file(f), 600, 150)]
    int8 = OnnxMiniLMEmbedder(tmp_path / "models")
    ours, reference = int8.embed(passages), minilm.embed(passages)
    assert ours.shape == reference.shape and np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
    assert (ours * reference).sum(1).min() >= 0.99
    # Batching and order do not change a text's vector.
    assert np.abs(int8.embed(passages[::-1])[::-1] - ours).max() < 1e-5
    assert np.abs(int8.embed([passages[3]])[0] - ours[3]).max() < 1e-4
    # The derived model is written once and reused.
    assert len(list((tmp_path / "models").glob("*.onnx"))) == 1


def test_the_int8_model_is_quantized_for_the_cpu_it_runs_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Signed int8 weights where the CPU has VNNI, unsigned 7-bit ones where AVX2's 16-bit sums
    could overflow them: each CPU gets its own derived file."""
    import onnx

    import index.embed as embed

    paths = []
    for vnni in (False, True):
        monkeypatch.setattr(embed, "has_vnni", lambda vnni=vnni: vnni)
        paths.append(embed.int8_model(tmp_path))
        graph = onnx.load(str(paths[-1])).graph
        weights = {n.input[1] for n in graph.node if n.op_type == "MatMulInteger"}
        kinds = {t.data_type for t in graph.initializer if t.name in weights}
        assert kinds == {onnx.TensorProto.INT8 if vnni else onnx.TensorProto.UINT8}
    assert paths[0] != paths[1]


def test_question_path_never_imports_torch(tmp_path: Path) -> None:
    """With the default (int8) embedder, indexing and answering run without torch in the process."""
    script = (
        "import sys\n"
        "from index.build import build_index\nfrom index.embed import make_embedder\n"
        "from rag.pipeline import Pipeline\nfrom rag.settings import Settings\n"
        f"s = Settings.from_env(data_dir={str(tmp_path / 'd')!r}, seeds_dir={str(SEEDS)!r}, llm='fake')\n"
        "build_index(s, make_embedder(s))\n"
        "a = Pipeline(s).ask('How many fighters does the Islamic Resistance in Iraq command?')\n"
        "print('50,000' in a.text, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[1]
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "False", "False"]


def test_a_question_process_imports_no_vector_database_no_scipy_and_no_asyncio(tmp_path: Path) -> None:
    """A process that only answers (the index built by another) scans the generation's vector
    matrix: chromadb, a second of every cold start, stays out, and so do scipy and asyncio (through
    tqdm.auto), which bm25s would import."""
    settings = f"Settings.from_env(data_dir={str(tmp_path / 'd')!r}, seeds_dir={str(SEEDS)!r}, llm='fake')"
    build = f"from index.build import build_index\nfrom index.embed import make_embedder\nfrom rag.settings import Settings\ns = {settings}\nbuild_index(s, make_embedder(s))\n"
    ask = (
        "import sys\nfrom rag.pipeline import Pipeline\nfrom rag.settings import Settings\n"
        f"a = Pipeline({settings}).ask('How many fighters does the Islamic Resistance in Iraq command?')\n"
        "print('50,000' in a.text, *(m in sys.modules for m in ('chromadb', 'scipy', 'torch', 'asyncio')))\n"
    )
    root = Path(__file__).parents[1]
    for script in (build, ask):
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=root)
        assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "False", "False", "False", "False"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma run did not start")
    yield f"http://127.0.0.1:{port}", proc
    proc.terminate()
    proc.wait(timeout=20)


def test_index_into_chroma_server(tmp_path: Path, chroma_server, seeds_copy: Path) -> None:  # type: ignore[no-untyped-def]
    url, proc = chroma_server
    from index.embed import HashEmbedder

    settings = Settings.from_env(data_dir=tmp_path / "d", seeds_dir=seeds_copy, chroma_url=url, embedder="fake")
    first = build_index(settings, HashEmbedder())
    snap = Snapshot.open(settings)
    assert snap.store.count() == first.passages and snap.store.remote
    assert build_index(settings, HashEmbedder()).up_to_date
    (seeds_copy / "extra.txt").write_text("Extra\nMay 2, 2025\nThe Kirkuk oil field resumed output.")
    second = build_index(settings, HashEmbedder())
    assert second.added == ("extra",) and Snapshot.open(settings).store.count() == second.passages
    proc.terminate()
    proc.wait(timeout=20)
    with pytest.raises(StoreUnavailableError, match="Chroma server"):
        Snapshot.open(settings)
