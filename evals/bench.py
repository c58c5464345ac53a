"""`rag bench`: how indexing, retrieval, answering, start-up and memory grow with the archive,
measured beside the llama-index starter pipeline in the same run."""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from evals import metrics
from evals.synth import queries, write_archive
from index.build import build_index
from index.chunk import chunk_article
from index.embed import Embedder, MiniLMEmbedder, make_embedder
from index.parse import parse_file
from index.snapshot import Snapshot
from rag.errors import RagError
from rag.settings import PROJECT_ROOT, Settings

ASK_QUESTION = "How many fighters does the Islamic Resistance in Iraq command?"
# Raw encode throughput is a rate: measured on at most this many of the archive's passages
# (evenly spaced), so the 100,000-passage size does not embed everything twice.
RAW_SAMPLE = 5_000
# The llama-index starter re-embeds the whole archive; above this many passages it is skipped.
BASELINE_MAX = 20_000
# Cold starts (`rag ask`, `rag serve`) are the median of this many new processes.
COLD_RUNS = 3


def passages_per_article(settings: Settings, tmp: Path) -> float:
    """Average passages of a synthetic article under the current chunking settings."""
    paths = write_archive(tmp / "probe", 30, seed=99)
    counts = [len(chunk_article(parse_file(p), settings.chunk_size, settings.chunk_overlap)) for p in paths]
    shutil.rmtree(tmp / "probe")
    return sum(counts) / len(counts)


def _latencies(fn: Any, items: list[str]) -> dict[str, float]:
    fn(items[0])  # warm-up
    values = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        values.append((time.perf_counter() - t) * 1000)
    return metrics.latency_summary(values)


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def bench_size(
    label: str,
    target: int,
    base: Settings,
    embedder: Embedder,
    n_queries: int,
    work: Path,
    per_article: float,
    baseline_max: int = BASELINE_MAX,
    torch_embedder: MiniLMEmbedder | None = None,
) -> dict[str, Any]:
    """Every measurement for one archive size."""
    from rag.pipeline import Pipeline

    if label == "seeds":
        folder = base.seeds_dir
    else:
        folder = work / f"archive-{label}"
        write_archive(folder, max(1, round(target / per_article)))
    settings = base.replace(data_dir=work / f"data-{label}", seeds_dir=folder)
    row: dict[str, Any] = {"size": label}

    t = time.perf_counter()
    report = build_index(settings, embedder)
    row["build_s"] = time.perf_counter() - t
    row["passages"] = report.passages
    row["articles"] = report.articles
    row["build_passages_per_s"] = report.passages / row["build_s"]
    snap = Snapshot.open(settings)
    texts = [p.text for p in snap.passages]
    sample = texts[:: max(1, -(-len(texts) // RAW_SAMPLE))]
    t = time.perf_counter()
    embedder.embed(sample)  # the same backend, texts only: no chunking, no store, no records
    row["raw_encode_passages_per_s"] = len(sample) / (time.perf_counter() - t)
    row["build_vs_raw_encode"] = row["build_passages_per_s"] / row["raw_encode_passages_per_s"]
    torch = torch_embedder or MiniLMEmbedder(batch_size=base.embed_batch_size)
    if report.passages <= baseline_max:
        # Today's build before the int8 embedder: the same archive through sentence-transformers.
        t = time.perf_counter()
        before = build_index(settings.replace(data_dir=work / f"data-torch-{label}", embedder="minilm-torch"), torch)
        row["torch_build_passages_per_s"] = before.passages / (time.perf_counter() - t)
        row["build_vs_torch_build"] = row["build_passages_per_s"] / row["torch_build_passages_per_s"]

    t = time.perf_counter()
    build_index(settings, embedder)
    row["reindex_unchanged_s"] = time.perf_counter() - t
    row["reindex_unchanged_vs_build"] = row["reindex_unchanged_s"] / row["build_s"]
    if label != "seeds":
        changed = sorted(folder.iterdir())[0]
        changed.write_text(changed.read_text() + "A late update said the figures were revised.\n")
        t = time.perf_counter()
        build_index(settings, embedder)
        row["reindex_one_changed_s"] = time.perf_counter() - t

    pipeline = Pipeline(settings, embedder)
    retriever = pipeline.retriever()
    qs = queries(texts, n_queries)
    for mode in ("dense", "bm25", "hybrid"):
        lat = _latencies(lambda q, m=mode: retriever.search(q, settings.top_k, m), qs)
        row[f"{mode}_p50_ms"], row[f"{mode}_p95_ms"] = lat["p50"], lat["p95"]
    # The nearest-passage search alone (query vectors computed beforehand): the exact scan of the
    # generation's matrix against the Chroma store's HNSW index, as every question ran before.
    vectors = dict(zip(qs, embedder.embed(qs)))
    hnsw = Pipeline(settings.replace(dense_search="chroma"), embedder).retriever()
    for key, r in (("scan", retriever), ("hnsw", hnsw)):
        lat = _latencies(lambda q, r=r: r.dense(q, settings.top_k, vectors[q]), qs)
        row[f"{key}_p50_ms"], row[f"{key}_p95_ms"] = lat["p50"], lat["p95"]
    row["scan_vs_hnsw_p50"] = row["scan_p50_ms"] / row["hnsw_p50_ms"]
    hnsw.snapshot.close()
    gen = settings.data_dir / Snapshot.current_name(settings)  # type: ignore[operator]
    row["index_mb"] = _du(gen) / 1e6
    if report.passages <= baseline_max:
        row.update(_baseline(folder, torch, qs, work / f"baseline-{label}", settings.top_k))
        row["baseline_build_ratio"] = row["build_s"] / row["baseline_build_s"]
        row["dense_vs_baseline_p50"] = row["dense_p50_ms"] / row["baseline_p50_ms"]
        row["hybrid_vs_baseline_p50"] = row["hybrid_p50_ms"] / row["baseline_p50_ms"]
    row.update(_cold_ask(settings))
    serves = [serve_cold_start(settings, ask=True) for _ in range(COLD_RUNS)]
    ready = [s for s, _ in serves if s is not None]
    row["serve_ready_s"] = statistics.median(ready) if ready else None
    row["serve_ready_runs_s"] = ready
    row["serve_peak_rss_mb"] = max((r for _, r in serves if r is not None), default=None)
    snap.close()
    return row


def _baseline(folder: Path, embedder: MiniLMEmbedder, qs: list[str], path: Path, k: int) -> dict[str, float]:
    """The llama-index starter: SimpleDirectoryReader -> VectorStoreIndex on Chroma, same embedder."""
    import chromadb
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from evals.baseline import llama_index_embedding
    from index.store import _chroma_settings

    client = chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
    collection = client.get_or_create_collection("starter", embedding_function=None)
    t = time.perf_counter()
    docs = SimpleDirectoryReader(str(folder)).load_data()
    storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
    index = VectorStoreIndex.from_documents(docs, storage_context=storage, embed_model=llama_index_embedding(embedder))
    build_s = time.perf_counter() - t
    retriever = index.as_retriever(similarity_top_k=k)
    lat = _latencies(retriever.retrieve, qs)
    out = {
        "baseline_build_s": build_s,
        "baseline_nodes": float(collection.count()),
        "baseline_p50_ms": lat["p50"],
        "baseline_p95_ms": lat["p95"],
    }
    client.close()  # type: ignore[attr-defined]
    return out


# The child: the console script's own code path (`rag.cli.run`, which ends `ask` with os._exit), with
# its exit wrapped to report the process's own peak memory first: the kernel's VmHWM. ru_maxrss is
# not used: Linux carries it across exec(), so a child of a big parent would report the parent's peak.
_COLD_CHILD = """
import json, os, sys
from rag import cli
def _exit(code, _real=os._exit):
    hwm = [int(x.split()[1]) / 1024 for x in open("/proc/self/status") if x.startswith("VmHWM:")][0]
    sys.stderr.write(json.dumps({"rss_mb": hwm}) + "\\n")
    sys.stderr.flush()
    _real(code)
os._exit = _exit
sys.argv = ["rag", "ask", "--json", sys.argv[1]]
cli.run()
"""


def _cold_ask(settings: Settings, runs: int = COLD_RUNS) -> dict[str, Any]:
    """`rag ask` from process start to exit (the median of `runs` new processes: one start
    varies by a second on a loaded 2-core machine), and the largest peak memory of them."""
    starts = [_cold_ask_once(settings) for _ in range(runs)]
    return {
        "ask_cold_s": statistics.median(wall for wall, _ in starts),
        "ask_cold_runs_s": [wall for wall, _ in starts],
        "ask_peak_rss_mb": max(rss for _, rss in starts),
    }


def _cold_ask_once(settings: Settings) -> tuple[float, float]:
    """One `rag ask` in a new process: wall seconds and peak memory (MB)."""
    env = {
        **os.environ,
        "RAG_DATA_DIR": str(settings.data_dir),
        "RAG_SEEDS_DIR": str(settings.seeds_dir),
        "HF_HUB_OFFLINE": "1",
        "RAG_LLM": settings.llm,
    }
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _COLD_CHILD, ASK_QUESTION], capture_output=True, text=True, env=env, timeout=300
    )
    wall = time.perf_counter() - t
    try:
        json.loads(out.stdout.strip().splitlines()[-1])
        rss = json.loads(out.stderr.strip().splitlines()[-1])["rss_mb"]
    except (ValueError, IndexError, KeyError, TypeError):
        raise RagError(f"cold `rag ask` failed: {out.stderr.strip().splitlines()[-1:]}") from None
    return wall, rss


def answer_latency(settings: Settings, embedder: Embedder, n: int = 20) -> dict[str, float]:
    """End-to-end answer latency and time to first token with the default settings (warm; the
    embedded generator is asked only with RAG_EMBEDDED_WORDING=on)."""
    from evals.dataset import load_dataset
    from rag.pipeline import Pipeline
    from rag.types import Final, Token

    pipeline = Pipeline(settings, embedder)
    items = [i for i in load_dataset() if i.answerable][:n]
    totals, firsts = [], []
    pipeline.ask(items[0].question)  # warm-up: loads the model
    for item in items:
        t = time.perf_counter()
        first = None
        for event in pipeline.stream(item.question):
            if isinstance(event, Token) and first is None:
                first = time.perf_counter() - t
            if isinstance(event, Final):
                totals.append((time.perf_counter() - t) * 1000)
                firsts.append((first if first is not None else time.perf_counter() - t) * 1000)
    tot, ttft = metrics.latency_summary(totals), metrics.latency_summary(firsts)
    return {
        "answer_p50_ms": tot["p50"],
        "answer_p95_ms": tot["p95"],
        "ttft_p50_ms": ttft["p50"],
        "ttft_p95_ms": ttft["p95"],
    }


def generator_speed(cache_dir: Path, n: int = 3) -> dict[str, float]:
    """Prompt reading and decoding speed (tokens/s, best of n) of the packaged Q4_1 SmolLM2 file
    and of the Q8_0 copy the product derives from it, on the same ~500-token prompt."""
    from rag.llm import LlamaCppGenerator, q8_model, smollm2_path

    text = " ".join(
        f"Source {i}: the council voted on day {i} to approve a budget of {i * 7} million for schools and parks."
        for i in range(1, 26)
    )
    out: dict[str, float] = {}
    for label, path in (("q4_1", smollm2_path()), ("q8_0", q8_model(cache_dir))):
        llm = LlamaCppGenerator(model_path=path).load()  # the product's llama.cpp settings
        tokens = llm.tokenize(text.encode())
        read = []
        for _ in range(n):
            llm.reset()
            t = time.perf_counter()
            llm.eval(tokens)
            read.append(time.perf_counter() - t)
        t = time.perf_counter()
        made = 0
        for _ in llm.generate(tokens[:16], temp=0.0, reset=True):
            made += 1
            if made == 64:
                break
        out[f"{label}_prompt_tok_s"] = len(tokens) / min(read)
        out[f"{label}_decode_tok_s"] = made / (time.perf_counter() - t)
        del llm
    out["prompt_ratio"] = out["q8_0_prompt_tok_s"] / out["q4_1_prompt_tok_s"]
    return out


def serve_cold_start(settings: Settings, ask: bool = False) -> tuple[float | None, float | None]:
    """`rag serve` from process start until the page answers (None when the UI is not available),
    and, with `ask`, the server's peak memory (VmHWM) after it answered one question."""
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "RAG_DATA_DIR": str(settings.data_dir),
        "RAG_SEEDS_DIR": str(settings.seeds_dir),
        "HF_HUB_OFFLINE": "1",
        "RAG_PORT": str(port),
    }
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        ready = None
        while time.perf_counter() - t < 120:
            if proc.poll() is not None:
                return None, None
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                ready = time.perf_counter() - t
                break
            except OSError:
                time.sleep(0.2)
        if ready is None or not ask:
            return ready, None
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/ask",
            data=json.dumps({"question": ASK_QUESTION}).encode(),
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=300).read()
        status = Path(f"/proc/{proc.pid}/status").read_text().splitlines()
        return ready, next(int(x.split()[1]) / 1024 for x in status if x.startswith("VmHWM:"))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def chroma_server_vs_embedded(
    base: Settings, embedder: Embedder, folder: Path, work: Path, n_queries: int
) -> dict[str, float]:
    """The same archive indexed into a `chroma run` server on 127.0.0.1 versus embedded."""
    from rag.pipeline import Pipeline

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    proc = subprocess.Popen(
        [exe, "run", "--path", str(work / "chroma-server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.3)
        out = {}
        for name, url in (("embedded", ""), ("server", f"http://127.0.0.1:{port}")):
            settings = base.replace(data_dir=work / f"data-{name}", seeds_dir=folder, chroma_url=url)
            t = time.perf_counter()
            build_index(settings, embedder)
            out[f"{name}_build_s"] = time.perf_counter() - t
            retriever = Pipeline(settings, embedder).retriever()
            qs = queries([p.text for p in retriever.snapshot.passages], n_queries)
            lat = _latencies(lambda q, r=retriever, k=settings.top_k: r.search(q, k, "hybrid"), qs)
            out[f"{name}_hybrid_p50_ms"], out[f"{name}_hybrid_p95_ms"] = lat["p50"], lat["p95"]
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=30)


SIZE_COLUMNS = [
    ("size", "size"),
    ("passages", "passages"),
    ("build_passages_per_s", "build p/s"),
    ("raw_encode_passages_per_s", "raw enc p/s"),
    ("build_vs_raw_encode", "build/raw"),
    ("torch_build_passages_per_s", "torch build p/s"),
    ("build_vs_torch_build", "build/torch"),
    ("reindex_unchanged_vs_build", "reidx=/build"),
    ("reindex_one_changed_s", "reidx 1Δ s"),
    ("dense_p50_ms", "dense p50"),
    ("scan_p50_ms", "scan p50"),
    ("hnsw_p50_ms", "hnsw p50"),
    ("bm25_p50_ms", "bm25 p50"),
    ("hybrid_p50_ms", "hyb p50"),
    ("hybrid_p95_ms", "hyb p95"),
    ("baseline_p50_ms", "base p50"),
    ("baseline_build_ratio", "build/base"),
    ("ask_cold_s", "ask cold s"),
    ("ask_peak_rss_mb", "RSS MB"),
    ("serve_ready_s", "serve s"),
    ("serve_peak_rss_mb", "serve RSS MB"),
    ("index_mb", "index MB"),
]


def main(settings: Settings, sizes: str, n_queries: int, out: Path, baseline_max: int = BASELINE_MAX) -> int:
    """Run the benchmark and write bench.json, bench.md and bench.png."""
    from rich.console import Console
    from rich.table import Table

    from evals.report import _fmt

    base = settings.replace(embedder="minilm", seeds="on", seeds_dir=settings.seeds_dir or PROJECT_ROOT / "seeds")
    embedder = make_embedder(base)  # the default: int8 on onnxruntime
    torch = MiniLMEmbedder(batch_size=settings.embed_batch_size)  # today's, and the starter's
    results: dict[str, Any] = {"sizes": [], "machine": f"{os.cpu_count()} cores"}
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        work = Path(tmp)
        per_article = passages_per_article(base, work)
        for label in [s.strip() for s in sizes.split(",") if s.strip()]:
            target = 0 if label == "seeds" else int(label)
            print(f"bench: size {label} ...", file=sys.stderr, flush=True)
            results["sizes"].append(
                bench_size(label, target, base, embedder, n_queries, work, per_article, baseline_max, torch)
            )
        seeds_settings = base.replace(data_dir=work / "data-seeds")
        if not (seeds_settings.data_dir / "CURRENT").exists():
            build_index(seeds_settings, embedder)
        print("bench: answers, cold start, chroma server ...", file=sys.stderr, flush=True)
        results["answer"] = answer_latency(seeds_settings, embedder)
        results["generator"] = generator_speed(seeds_settings.model_cache)
        results["serve_cold_s"] = serve_cold_start(seeds_settings)[0]
        folder = work / "archive-server"
        write_archive(folder, max(1, round(1000 / per_article)))
        results["chroma"] = chroma_server_vs_embedded(base, embedder, folder, work, min(n_queries, 100))
    results["peak_rss_mb_bench_process"] = _rss_mb()

    table = Table(title="rag bench")
    for _, label in SIZE_COLUMNS:
        table.add_column(label, justify="right")
    for row in results["sizes"]:
        table.add_row(*[_fmt(row.get(key)) for key, _ in SIZE_COLUMNS])
    console = Console(width=max(Console().width, 200))
    console.print(table)
    console.print(f"answer (default settings, warm): {json.dumps({k: round(v) for k, v in results['answer'].items()})}")
    console.print(
        f"generator, packaged Q4_1 vs derived Q8_0: {json.dumps({k: round(v, 2) for k, v in results['generator'].items()})}"
    )
    console.print(
        f"serve cold start: {results['serve_cold_s']} s; chroma server vs embedded (1,000 passages): "
        f"{json.dumps({k: round(v, 1) for k, v in results['chroma'].items()})}"
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=1, default=str))
    (out / "bench.md").write_text(_markdown(results))
    _plot(results, out / "bench.png")
    print(f"wrote {out / 'bench.json'}, {out / 'bench.md'}, {out / 'bench.png'}")
    return 0


def _rss_mb() -> float:
    """Peak resident memory of this process (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _markdown(results: dict[str, Any]) -> str:
    from evals.report import _fmt

    lines = ["| " + " | ".join(label for _, label in SIZE_COLUMNS) + " |", "|---" * len(SIZE_COLUMNS) + "|"]
    for row in results["sizes"]:
        lines.append("| " + " | ".join(_fmt(row.get(key)) for key, _ in SIZE_COLUMNS) + " |")
    a = results["answer"]
    lines += [
        "",
        f"Answer with the default settings (warm, seeds): p50 {a['answer_p50_ms']:.0f} ms, "
        f"p95 {a['answer_p95_ms']:.0f} ms; time to first token p50 {a['ttft_p50_ms']:.0f} ms.",
        f"`rag serve` cold start: {results['serve_cold_s']} s.",
        "Generator, packaged Q4_1 vs the derived Q8_0 (tokens/s): "
        + ", ".join(f"{k} {v:.2f}" for k, v in results.get("generator", {}).items()),
        "Chroma server vs embedded (about 1,000 passages): "
        + ", ".join(f"{k} {v:.1f}" for k, v in results["chroma"].items()),
    ]
    return "\n".join(lines) + "\n"


def _plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["sizes"]
    xs = [max(r["passages"], 1) for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for key, label in (
        ("dense_p95_ms", "dense p95"),
        ("bm25_p95_ms", "BM25 p95"),
        ("hybrid_p95_ms", "hybrid p95"),
        ("baseline_p95_ms", "llama-index starter p95"),
    ):
        pts = [(x, r[key]) for x, r in zip(xs, rows) if key in r]
        ax1.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=label)
    ax1.set_xscale("log")
    ax1.set_xlabel("passages")
    ax1.set_ylabel("retrieval latency (ms)")
    ax1.legend(fontsize=8)
    for key, label in (("build_passages_per_s", "our index build"), ("raw_encode_passages_per_s", "raw MiniLM encode")):
        ax2.plot(xs, [r[key] for r in rows], marker="o", label=label)
    base = [(x, r["passages"] / r["baseline_build_s"]) for x, r in zip(xs, rows) if "baseline_build_s" in r]
    ax2.plot([x for x, _ in base], [y for _, y in base], marker="o", label="llama-index starter build")
    ax2.set_xscale("log")
    ax2.set_xlabel("passages")
    ax2.set_ylabel("passages / s")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
