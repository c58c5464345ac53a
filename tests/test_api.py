"""The HTTP API and the server, started for real with uvicorn on a free loopback port (fake models)."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from index.build import build_index
from index.embed import make_embedder
from rag.cli import main
from rag.errors import RagError
from rag.llm import FakeGenerator
from rag.pipeline import Pipeline
from rag.settings import PROJECT_ROOT, Settings
from tests.conftest import CITATION_KEYS
from ui.server import BackgroundServer, check_bind, create_server, serve

SEEDS = PROJECT_ROOT / "seeds"
KEYS = {"id", "question", "answer", "abstained", "citations", "contexts", "timings_ms", "short_answer"}
QUESTION = "How many fighters does the Islamic Resistance in Iraq command?"


def fake_settings(data_dir: Path, **changes: Any) -> Settings:
    return Settings.from_env({}, data_dir=data_dir, seeds_dir=SEEDS, embedder="fake", llm="fake", **changes)


def post(url: str, body: object, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        url + "/api/ask", data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


GENERATOR = FakeGenerator(default="The Islamic Resistance in Iraq commands about 50,000 fighters.")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    settings = fake_settings(tmp_path_factory.mktemp("api") / "data")
    build_index(settings, make_embedder(settings))
    with BackgroundServer(create_server(settings, lambda s: Pipeline(s, generator=GENERATOR))) as running:
        yield running


def test_ask_returns_exactly_the_answer_json(server: BackgroundServer) -> None:
    prompts = len(GENERATOR.history)
    status, data = post(server.url, {"question": QUESTION})
    assert status == 200 and len(GENERATOR.history) == prompts + 1  # the pipeline the server was given
    assert KEYS <= set(data) and set(data) - KEYS <= {"notice", "mode", "support", "compare"}
    assert data["question"] == QUESTION and not data["abstained"] and data["citations"]
    assert set(data["citations"][0]) == CITATION_KEYS
    assert any("50,000 fighters" in c["sentence"] for c in data["citations"])


def test_history_top_k_and_retrieval_are_accepted(server: BackgroundServer) -> None:
    history = [{"question": QUESTION, "answer": "About 50,000 [1]."}, [QUESTION, "About 50,000."]]
    status, data = post(server.url, {"question": "How many groups are in it?", "history": history, "top_k": 2})
    assert status == 200 and len(data["contexts"]) <= 2
    status, data = post(server.url, {"question": QUESTION, "retrieval": "bm25"})
    assert status == 200 and data["citations"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"question": "   "}, "BadQuestionError: the question is empty"),
        ({"question": ""}, "BadQuestionError"),
        ({}, 'needs a "question"'),
        ([1, 2], "JSON object"),
        (b"{not json", "must be JSON"),
        ({"question": QUESTION, "top_k": 0}, "top_k"),
        ({"question": QUESTION, "retrieval": "magic"}, "retrieval"),
        ({"question": QUESTION, "history": "nope"}, "history"),
        ({"question": QUESTION, "history": [[1, 2, 3]]}, "history"),
    ],
)
def test_bad_requests_get_400_and_one_line(server: BackgroundServer, body: object, needle: str) -> None:
    status, data = post(server.url, body)
    assert status == 400 and set(data) == {"error"}
    assert needle in data["error"] and "\n" not in data["error"] and "Traceback" not in data["error"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_on_the_api_get_405_saying_to_post(server: BackgroundServer, method: str) -> None:
    request = urllib.request.Request(server.url + "/api/ask", method=method)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 405 and caught.value.headers["Allow"] == "POST"
    assert "POST a JSON body" in json.loads(caught.value.read())["error"]


def test_ten_concurrent_requests_are_all_answered(server: BackgroundServer) -> None:
    questions = [f"{QUESTION} ({i})" for i in range(10)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda q: post(server.url, {"question": q}), questions))
    assert [status for status, _ in results] == [200] * 10
    assert [data["question"] for _, data in results] == questions


def test_gradio_client_api_keeps_working(server: BackgroundServer) -> None:
    from gradio_client import Client

    client = Client(server.url + "/", verbose=False, download_files=False)
    prompts = len(GENERATOR.history)
    data = client.predict(QUESTION, api_name="/ask")
    assert KEYS <= set(data) and data["citations"] and len(GENERATOR.history) == prompts + 1


def test_missing_index_gives_503(tmp_path: Path) -> None:
    with BackgroundServer(create_server(fake_settings(tmp_path / "empty"))) as running:
        status, data = post(running.url, {"question": QUESTION})
    assert status == 503 and data["error"].startswith("IndexMissingError: no index")


def test_login_protects_the_api(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path / "data", auth="ann:s3cret")
    build_index(settings, make_embedder(settings))
    with BackgroundServer(create_server(settings)) as running:
        status, data = post(running.url, {"question": QUESTION})
        assert status == 401 and "login required" in data["error"]
        wrong = base64.b64encode(b"ann:guess").decode()
        assert post(running.url, {"question": QUESTION}, {"Authorization": f"Basic {wrong}"})[0] == 401
        for path in ("/config", "/gradio_api/info"):  # the Gradio page and its client API need the login too
            with pytest.raises(urllib.error.HTTPError, match="401"):
                urllib.request.urlopen(running.url + path, timeout=10)
        token = base64.b64encode(b"ann:s3cret").decode()
        status, data = post(running.url, {"question": QUESTION}, {"Authorization": f"Basic {token}"})
        assert status == 200 and data["citations"]


def test_non_loopback_bind_without_login_is_refused(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path / "data", host="0.0.0.0")
    with pytest.raises(RagError, match="refusing to serve 0.0.0.0 without a login"):
        serve(settings)
    check_bind(settings, allow_open=True)
    check_bind(settings.replace(auth="ann:s3cret"))
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_bind(settings.replace(host=host))
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "d"), "serve", "--host", "192.168.1.10"])
    assert result.exit_code == 1 and "refusing to serve 192.168.1.10" in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_rag_serve_builds_the_missing_index_while_serving(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_DATA_DIR=str(tmp_path / "data"), RAG_SEEDS_DIR=str(SEEDS), RAG_EMBEDDER="fake", RAG_LLM="fake")
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "serve", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url, deadline, answers = f"http://127.0.0.1:{port}", time.monotonic() + 60, []
        while time.monotonic() < deadline:
            try:
                answers.append(post(url, {"question": QUESTION}))
            except (urllib.error.URLError, ConnectionError):
                pass  # not listening yet
            if answers and answers[-1][0] == 200:
                break
            assert process.poll() is None, log.read_text()
            time.sleep(0.2)
        assert answers and answers[-1][0] == 200, answers[-1:] or log.read_text()
        assert all(status in (200, 503) for status, _ in answers)
        assert (tmp_path / "data" / "CURRENT").is_file()
    finally:
        process.terminate()
        process.wait(timeout=10)
    text = log.read_text()
    assert "building it now" in text and "Index ready: 2 articles" in text and "Traceback" not in text
