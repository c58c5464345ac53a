"""Faults: LLM servers that hang or talk nonsense, damaged or missing indexes, a Chroma server that
goes away and comes back, a build killed half-way, and builds running while questions are answered."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from evals.synth import write_archive
from index.build import build_index
from index.embed import HashEmbedder
from index.layout import Layout
from index.parse import parse_file
from index.snapshot import Snapshot
from rag.cli import main
from rag.errors import IndexCorruptError, IndexMissingError, StoreUnavailableError
from rag.llm import FakeGenerator
from rag.pipeline import Pipeline
from rag.settings import PROJECT_ROOT, Settings
from tests.conftest import SEEDS
from ui.server import BackgroundServer, create_server

FIGHTERS = "How many fighters does the Islamic Resistance in Iraq command?"
REPLY = "The Islamic Resistance in Iraq commands about 50,000 fighters."
LLM_TIMEOUT = 2.0
MARGIN = 2.5  # retrieval, verification and a slow CI machine, on top of the LLM timeout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post(url: str, body: object, timeout: float = 30) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url + "/api/ask", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# --- LLM servers that hang or return garbage --------------------------------------------------


class BadLLMServer:
    """A loopback HTTP server standing in for Ollama / an OpenAI-compatible server, misbehaving on purpose."""

    def __init__(self) -> None:
        self.behaviour = "sleep"
        self.requests = 0
        self._stop = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep the test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                owner.requests += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.respond(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="bad-llm", daemon=True)

    def respond(self, handler: BaseHTTPRequestHandler) -> None:
        if self.behaviour == "trickle":  # a valid stream, one token every 0.6 timeouts, for ever
            self._trickle(handler)
            return
        if self.behaviour in ("sleep", "stall"):
            if self.behaviour == "stall":  # headers at once, then nothing
                handler.send_response(200)
                handler.send_header("Content-Type", "text/event-stream")
                handler.end_headers()
                handler.wfile.flush()
            self._stop.wait(3 * LLM_TIMEOUT)  # longer than the client waits; ends early at teardown
            return
        status, kind, body = {
            "invalid-json": (200, "application/json", b'{"choices": [{"delta": {"content": "Hi'),
            "sse-garbage": (200, "text/event-stream", b"data: {not json\n\n"),
            "html": (200, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
            "empty-200": (200, "application/json", b""),
            "500": (500, "text/plain", b"Internal Server Error"),
        }[self.behaviour]
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", kind)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:
            pass  # the client gave up first

    def _trickle(self, handler: BaseHTTPRequestHandler) -> None:
        openai = handler.path.startswith("/v1")
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "text/event-stream" if openai else "application/x-ndjson")
            handler.end_headers()
            started = time.monotonic()
            while not self._stop.is_set() and time.monotonic() - started < 3 * LLM_TIMEOUT:
                if openai:
                    chunk = {"id": "t", "object": "chat.completion.chunk", "created": 0, "model": "m",
                             "choices": [{"index": 0, "delta": {"content": "The "}, "finish_reason": None}]}  # fmt: skip
                    handler.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                else:
                    line = {"model": "m", "created_at": "2025-01-01T00:00:00Z",
                            "message": {"role": "assistant", "content": "The "}, "done": False}  # fmt: skip
                    handler.wfile.write(json.dumps(line).encode() + b"\n")
                handler.wfile.flush()
                self._stop.wait(0.6 * LLM_TIMEOUT)
        except OSError:
            pass  # the client gave up

    def url(self, backend: str) -> str:
        return f"http://127.0.0.1:{self.port}" + ("/v1" if backend == "openai" else "")

    def __enter__(self) -> BadLLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def bad_llm() -> Iterator[BadLLMServer]:
    with BadLLMServer() as server:
        yield server


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings = Settings.from_env(
        {}, data_dir=tmp_path_factory.mktemp("faults") / "data", seeds_dir=SEEDS, embedder="fake"
    )
    build_index(settings, HashEmbedder())
    return settings.data_dir


def llm_settings(data_dir: Path, backend: str, url: str) -> Settings:
    return Settings.from_env(
        {}, data_dir=data_dir, seeds_dir=SEEDS, embedder="fake", llm=backend, llm_url=url, llm_model="m",
        llm_timeout=LLM_TIMEOUT,
    )  # fmt: skip


BEHAVIOURS = ["sleep", "stall", "trickle", "invalid-json", "sse-garbage", "html", "empty-200", "500", "refused"]


@pytest.mark.parametrize("backend", ["openai", "ollama"])
@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_failing_llm_server_gives_passages_and_a_notice_within_the_timeout(
    bad_llm: BadLLMServer, index_dir: Path, backend: str, behaviour: str
) -> None:
    bad_llm.behaviour = behaviour
    url = f"http://127.0.0.1:{free_port()}" if behaviour == "refused" else bad_llm.url(backend)
    pipeline = Pipeline(llm_settings(index_dir, backend, url), HashEmbedder())
    pipeline.retriever(), pipeline.generator  # open the index and import the client library before timing
    requests = bad_llm.requests
    started = time.monotonic()
    answer = pipeline.ask(FIGHTERS)
    elapsed = time.monotonic() - started
    assert elapsed < LLM_TIMEOUT + MARGIN, f"{backend}/{behaviour} took {elapsed:.1f} s"
    assert behaviour == "refused" or bad_llm.requests > requests  # the server really was asked
    assert answer.notice and "showing the best passages instead" in answer.notice and "\n" not in answer.notice
    assert url.split("/v1")[0] in answer.notice
    if behaviour in ("sleep", "stall", "trickle"):
        assert "timed out" in answer.notice
    assert not answer.abstained and answer.mode == "extractive" and answer.contexts
    assert "50,000 fighters" in answer.text and any("50,000 fighters" in c.sentence for c in answer.citations)


def test_hanging_llm_server_through_the_api_answers_with_a_notice(bad_llm: BadLLMServer, index_dir: Path) -> None:
    bad_llm.behaviour = "sleep"
    settings = llm_settings(index_dir, "openai", bad_llm.url("openai"))
    with BackgroundServer(create_server(settings)) as server:
        started = time.monotonic()
        status, data = post(server.url, {"question": FIGHTERS})
        elapsed = time.monotonic() - started
    assert status == 200 and "timed out" in data["notice"] and data["citations"], data
    assert elapsed < LLM_TIMEOUT + MARGIN + 1


# --- Damaged or missing index -----------------------------------------------------------------


def current(settings: Settings) -> Path:
    return Layout(settings.data_dir).require_current()


def write_zip(path: Path) -> None:
    with open(path, "wb") as fh:  # np.savez given a path would add ".npz" to it
        np.savez(fh, a=np.ones(3))


def truncate_bytes(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def truncate_mid_line(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def drop_last_id(path: Path) -> None:
    columns = json.loads(path.read_text())
    columns["ids"].pop()
    path.write_text(json.dumps(columns))


CORRUPTIONS: dict[str, Callable[[Settings], object]] = {
    "vectors garbled": lambda s: (current(s) / "vectors.npy").write_bytes(b"\x93NUMPY garbage"),
    "vectors truncated": lambda s: truncate_bytes(current(s) / "vectors.npy"),
    "vectors of another index": lambda s: np.save(current(s) / "vectors.npy", np.ones((3, 8), np.float32)),
    "mentions garbled": lambda s: (current(s) / "mentions.npz").write_bytes(b"PK\x03\x04 not a zip"),
    "mentions deleted": lambda s: (current(s) / "mentions.npz").unlink(),
    "names deleted": lambda s: (current(s) / "names.json").unlink(),
    "vectors empty": lambda s: (current(s) / "vectors.npy").write_bytes(b""),
    "vectors a zip archive": lambda s: write_zip(current(s) / "vectors.npy"),
    "vectors of another width": lambda s: np.save(
        current(s) / "vectors.npy", np.ones((len(Snapshot.open(s).passages), 8), np.float32)
    ),
    "manifest garbled": lambda s: (current(s) / "manifest.json").write_text('{"version": 2, "signat'),
    "manifest deleted": lambda s: (current(s) / "manifest.json").unlink(),
    "CURRENT garbled": lambda s: (s.data_dir / "CURRENT").write_text("gen-00\x00garbage\n"),
    "CURRENT not UTF-8": lambda s: (s.data_dir / "CURRENT").write_bytes(b"\xff\xfegen-000001"),
    "CURRENT points nowhere": lambda s: (s.data_dir / "CURRENT").write_text("gen-999999\n"),
    "passages truncated": lambda s: truncate_mid_line(current(s) / "passages.json"),
    "passages missing a row": lambda s: drop_last_id(current(s) / "passages.json"),
    "articles garbled": lambda s: (current(s) / "articles.jsonl").write_text("[1, 2]\n"),
    "bm25 deleted": lambda s: shutil.rmtree(current(s) / "bm25"),
}


def rag(settings: Settings, *args: str) -> Any:
    base = ["--embedder", "fake", "--data-dir", str(settings.data_dir), "--seeds-dir", str(settings.seeds_dir)]
    return CliRunner().invoke(main, [*base, *args])


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_damaged_index_is_one_line_and_rebuild_recovers(settings: Settings, corruption: str) -> None:
    build_index(settings, HashEmbedder())
    pipeline = Pipeline(settings, HashEmbedder(), FakeGenerator(default=REPLY))
    CORRUPTIONS[corruption](settings)
    for _ in range(3):  # asking again does not crash or change the message
        with pytest.raises(IndexCorruptError) as caught:
            pipeline.ask(FIGHTERS)
        message = str(caught.value)
        assert "\n" not in message and "rag index --rebuild" in message
    result = rag(settings, "ask", "--llm", "fake", FIGHTERS)
    assert result.exit_code == 1 and result.stderr.startswith("Error: IndexCorruptError: ")
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.output
    result = rag(settings, "index", "--rebuild", "-q")
    assert result.exit_code == 0, result.output
    assert "50,000 fighters" in pipeline.ask(FIGHTERS).text  # the same pipeline (a server) recovers
    snapshot = Snapshot.open(settings)
    assert snapshot.store.count() == len(snapshot.passages) > 10


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_a_plain_index_run_rebuilds_a_damaged_index(settings: Settings, corruption: str) -> None:
    # Not "up to date, nothing embedded" over an index that questions cannot open.
    build_index(settings, HashEmbedder())
    CORRUPTIONS[corruption](settings)
    report = build_index(settings, HashEmbedder())
    assert "50,000 fighters" in Pipeline(settings, HashEmbedder(), FakeGenerator(default=REPLY)).ask(FIGHTERS).text
    # A damaged vector matrix is rewritten from the store; anything else is rebuilt whole.
    assert report.passages > 10 and report.embedded == (0 if corruption.startswith("vectors") else report.passages)


def test_lost_chroma_files_still_answer_and_the_next_build_restores_them(settings: Settings) -> None:
    """Questions search the generation's vector matrix, so a lost Chroma store costs no answer;
    the next `rag index` notices it and rebuilds instead of copying a store that is not there."""
    build_index(settings, HashEmbedder())
    shutil.rmtree(current(settings) / "chroma")
    pipeline = Pipeline(settings, HashEmbedder(), FakeGenerator(default=REPLY))
    assert "50,000 fighters" in pipeline.ask(FIGHTERS).text
    report = build_index(settings, HashEmbedder())
    assert report.rebuilt and report.embedded == report.passages
    snapshot = Snapshot.open(settings)
    assert snapshot.store.count() == len(snapshot.passages) == len(snapshot.vectors or ())


def test_missing_index_says_how_to_build_it(settings: Settings) -> None:
    with pytest.raises(IndexMissingError, match="build it with `rag index`"):
        Pipeline(settings, HashEmbedder(), FakeGenerator()).ask(FIGHTERS)
    result = rag(settings, "ask", "--llm", "fake", FIGHTERS)
    assert result.exit_code == 1 and "IndexMissingError" in result.stderr and result.stderr.count("\n") == 1
    assert rag(settings, "index", "-q").exit_code == 0
    assert rag(settings, "ask", "--llm", "fake", FIGHTERS).exit_code == 0


def test_server_over_a_damaged_index_answers_503_until_rebuilt(settings: Settings) -> None:
    build_index(settings, HashEmbedder())
    CORRUPTIONS["passages truncated"](settings)
    app = create_server(settings, lambda s: Pipeline(s, generator=FakeGenerator(default=REPLY)))
    with BackgroundServer(app) as server:
        for _ in range(3):
            status, data = post(server.url, {"question": FIGHTERS})
            assert status == 503 and data["error"].startswith("IndexCorruptError: ")
            assert "rag index --rebuild" in data["error"] and "\n" not in data["error"]
        assert rag(settings, "index", "--rebuild", "-q").exit_code == 0
        status, data = post(server.url, {"question": FIGHTERS})
        assert status == 200 and "50,000 fighters" in data["answer"]


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on port, from /proc/net/tcp{,6} (hex, as the kernel writes them)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A = LISTEN
                found.add(address)
    return found


@pytest.mark.slow
def test_rag_serve_over_a_damaged_index_keeps_running_on_loopback_and_recovers(
    settings: Settings, tmp_path: Path
) -> None:
    build_index(settings, HashEmbedder())
    CORRUPTIONS["CURRENT garbled"](settings)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_DATA_DIR=str(settings.data_dir), RAG_SEEDS_DIR=str(SEEDS), RAG_EMBEDDER="fake", RAG_LLM="fake")
    log = tmp_path / "serve.log"
    with open(log, "w") as out:  # no --host: the default must be loopback only
        process = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "serve", "--port", str(port)],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 60
        replies: list[tuple[int, dict[str, Any]]] = []
        while time.monotonic() < deadline and len(replies) < 3:
            try:
                replies.append(post(url, {"question": FIGHTERS}))
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, log.read_text()
                time.sleep(0.2)
        assert [status for status, _ in replies] == [503] * 3, replies
        assert all("IndexCorruptError" in data["error"] and "--rebuild" in data["error"] for _, data in replies)
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, nothing else
        assert process.poll() is None  # still serving, no crash loop
        assert rag(settings, "index", "--rebuild", "-q").exit_code == 0
        status, data = post(url, {"question": FIGHTERS})
        assert status == 200 and data["citations"]
    finally:
        process.terminate()
        process.wait(timeout=15)
    text = log.read_text()
    assert "Traceback" not in text and "building it now" not in text  # a damaged index is not rebuilt blindly


# --- Chroma server down and back --------------------------------------------------------------


class ChromaServer:
    """`chroma run` on a fixed loopback port and folder; can be stopped and started again."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
        self.process = subprocess.Popen(
            [exe, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                assert self.process.poll() is None, "chroma run exited"
                time.sleep(0.1)
        pytest.fail("chroma run did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)


@pytest.mark.slow
def test_chroma_server_down_is_a_clear_error_and_recovers_without_restart(settings: Settings, tmp_path: Path) -> None:
    chroma = ChromaServer(tmp_path / "chroma-server")
    chroma.start()
    try:
        settings = settings.replace(chroma_url=chroma.url)
        build_index(settings, HashEmbedder())
        app = create_server(settings, lambda s: Pipeline(s, generator=FakeGenerator(default=REPLY)))
        with BackgroundServer(app) as server:
            assert post(server.url, {"question": FIGHTERS})[0] == 200
            chroma.stop()
            for _ in range(2):
                status, data = post(server.url, {"question": FIGHTERS})
                assert status == 503 and data["error"].startswith("StoreUnavailableError: Chroma server at ")
                assert chroma.url in data["error"] and "\n" not in data["error"]
            with pytest.raises(StoreUnavailableError):  # a fresh process gets the same clear error
                Pipeline(settings, HashEmbedder(), FakeGenerator()).ask(FIGHTERS)
            chroma.start()  # same port, same folder
            status, data = post(server.url, {"question": FIGHTERS})
            assert status == 200 and "50,000 fighters" in data["answer"] and data["citations"]
    finally:
        chroma.stop()


# --- A build killed half-way ------------------------------------------------------------------


@pytest.mark.slow
def test_build_killed_half_way_leaves_the_previous_index_serving(settings: Settings, seeds_copy: Path) -> None:
    settings = settings.replace(seeds_dir=seeds_copy)
    first = build_index(settings, HashEmbedder())
    layout = Layout(settings.data_dir)
    served = layout.require_current()
    write_archive(seeds_copy, 400)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_DATA_DIR=str(settings.data_dir), RAG_SEEDS_DIR=str(seeds_copy), RAG_EMBEDDER="fake")
    process = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "index", "-q"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(layout.generations()) < 2 and process.poll() is None:
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL, "the build finished before it could be killed"
    [leftover] = [g for g in layout.generations() if g != served]
    assert not (leftover / "manifest.json").exists()  # killed mid-build, never published
    assert layout.require_current() == served
    snapshot = Snapshot.open(settings)
    assert len(snapshot.articles) == first.articles == 2 and snapshot.store.count() == first.passages
    answer = Pipeline(settings, HashEmbedder(), FakeGenerator(default=REPLY)).ask(FIGHTERS)
    assert "50,000 fighters" in answer.text and answer.citations
    report = build_index(settings, HashEmbedder())  # running it again completes the build
    assert report.articles == 402 and report.added and not leftover.exists()
    snapshot = Snapshot.open(settings)
    assert snapshot.store.count() == len(snapshot.passages) == report.passages


# --- Builds while questions are answered ------------------------------------------------------


class SlowEmbedder(HashEmbedder):
    """Embeds a question slowly, so a build often publishes while a question is under way."""

    def embed(self, texts: list[str]) -> np.ndarray:
        if len(texts) == 1:
            time.sleep(0.005)
        return super().embed(texts)


class SlowGenerator(FakeGenerator):
    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        time.sleep(0.01)
        yield from super().stream(messages, max_tokens)


def test_answers_stay_consistent_while_builds_add_and_remove_articles(settings: Settings, seeds_copy: Path) -> None:
    settings = settings.replace(seeds_dir=seeds_copy)
    build_index(settings, HashEmbedder())
    bodies = {a.doc_id: a.body for a in Snapshot.open(settings).articles.values()}
    pipeline = Pipeline(settings, SlowEmbedder(), SlowGenerator(default=REPLY))
    questions = [FIGHTERS, "When did the Kirkuk oil field resume output?", "What did Izzat al-Shahbandar tell Reuters?"]
    stop = threading.Event()
    failures: list[str] = []
    answers: list[int] = []
    builds: list[str] = []

    def asker(offset: int) -> None:
        i = offset
        while not stop.is_set() and len(answers) < 2000:
            try:
                answer = pipeline.ask(questions[i % len(questions)])
                for c in answer.citations:
                    body = bodies[c.doc_id]
                    assert body[c.start : c.end] == c.sentence, (c.doc_id, c.start, c.end)
                    assert body[c.passage_start : c.passage_end] == c.text, c.doc_id
                for hit in answer.contexts:
                    assert bodies[hit.passage.doc_id][hit.passage.start : hit.passage.end] == hit.passage.text
                answers.append(len(answer.citations))
            except Exception as exc:  # collected, so the failure names the first problem
                failures.append(f"{type(exc).__name__}: {exc}")
                stop.set()
            i += 1

    def builder() -> None:
        try:
            for n in range(12):
                # Let questions run on each generation before replacing it (by count, not by time,
                # so a loaded machine changes nothing but the duration).
                deadline = time.monotonic() + 30
                while len(answers) < 5 * (n + 1) and not stop.is_set() and time.monotonic() < deadline:
                    time.sleep(0.01)
                if stop.is_set():
                    return
                path = seeds_copy / f"extra_{n:03d}.txt"
                path.write_text(
                    f"Kirkuk update {n}\nMay {n + 1}, 2025\nThe Kirkuk oil field resumed output after {n + 2} days. "
                    f"Engineers said pumping station {n} was repaired.\n"
                )
                bodies[path.stem] = parse_file(path).body  # written before any index can serve it
                (seeds_copy / f"extra_{n - 2:03d}.txt").unlink(missing_ok=True)
                builds.append(build_index(settings, HashEmbedder()).generation)
        except Exception as exc:
            failures.append(f"build: {type(exc).__name__}: {exc}")
        finally:
            stop.set()

    threads = [threading.Thread(target=asker, args=(n,)) for n in range(4)] + [threading.Thread(target=builder)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    assert len(builds) == 12 and len(set(builds)) == 12 and len(answers) > 50 and sum(answers) > 0
    final = Snapshot.open(settings)
    assert {d for d in final.articles if d.startswith("extra")} == {"extra_010", "extra_011"}


def test_a_store_closed_by_one_thread_keeps_working_for_another(settings: Settings) -> None:
    build_index(settings, HashEmbedder())
    held = Snapshot.open(settings)  # a question that picked up this generation
    vector = HashEmbedder().embed([FIGHTERS])[0]
    held.store.close()  # another thread swapped in a newer generation and let go of this one
    assert held.store.query(vector, 3)  # the question in flight still gets its passages
    release = held.store._release
    del held
    import gc

    gc.collect()
    assert not release.alive  # and the client is released once nobody holds the store


def test_a_generation_being_read_is_not_deleted_by_the_next_builds(settings: Settings, seeds_copy: Path) -> None:
    settings = settings.replace(seeds_dir=seeds_copy)
    build_index(settings, HashEmbedder())
    held = Snapshot.open(settings)
    for n in range(3):  # three quick builds: the held generation is two behind the served one
        (seeds_copy / f"more{n}.txt").write_text(f"More {n}\nMay 2, 2025\nThe Basra port handled {n + 5} ships.")
        build_index(settings, HashEmbedder())
    assert held.generation.is_dir()
    assert held.store.query(HashEmbedder().embed([FIGHTERS])[0], 3)
