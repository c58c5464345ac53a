"""The OpenAI-compatible path against a real server: llama-cpp-python's own (`llama_cpp.server`)
serving the packaged SmolLM2 GGUF on 127.0.0.1, started here and stopped after the tests."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from index.build import build_index
from index.embed import make_embedder
from rag.cli import main
from rag.llm import smollm2_path
from rag.pipeline import Pipeline
from rag.settings import Settings
from tests.conftest import SEEDS

pytestmark = pytest.mark.slow
FIGHTERS = "How many fighters does the Islamic Resistance in Iraq command?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    args = ["--model", str(smollm2_path()), "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port)]
    # The server logs every request to stderr: into a file, never a pipe nobody reads (it would fill and block).
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    log = open(log_path, "wb")  # closed after the server stops
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", *args, "--n_ctx", "2048", "--n_threads", "2"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "/models", timeout=2) as reply:
                    assert json.load(reply)["data"][0]["id"] == "smollm2"
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = log_path.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"llama_cpp.server did not start: {err}") from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def served(server: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("served")
    settings = Settings.from_env(
        {}, data_dir=data, seeds_dir=SEEDS, llm="openai", llm_url=server, llm_model="smollm2", llm_timeout=120
    )
    build_index(settings, make_embedder(settings))
    return settings


def test_the_server_writes_the_answer_and_every_claim_is_still_verified(served: Settings) -> None:
    pipeline = Pipeline(served)
    answer = pipeline.ask(FIGHTERS)
    assert answer.mode == "generated" and not answer.abstained
    articles = pipeline.retriever().snapshot.articles
    # The short answer is a verbatim span of the article it cites, and comes first.
    short = answer.short_answer
    assert short is not None and "50,000" in short.text
    assert articles[short.doc_id].body[short.start : short.end] == short.text
    assert answer.text.startswith(f"{short.text} [{short.n}]")
    # Every citation quotes its article exactly; every marker in the answer is one of them.
    for c in answer.citations:
        assert articles[c.doc_id].body[c.start : c.end] == c.sentence
    body = answer.text.split("\n", 1)[1]
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", body)}
    assert markers and markers <= {c.n for c in answer.citations}
    assert "50,000" in body


def test_the_server_is_not_asked_when_the_articles_do_not_say(served: Settings) -> None:
    answer = Pipeline(served).ask("What did the mayor of Oslo say about ferry fares in 1987?")
    assert answer.abstained and answer.short_answer is None and answer.mode != "generated"


def test_rag_ask_json_against_the_server(served: Settings) -> None:
    args = ["--data-dir", str(served.data_dir), "--seeds-dir", str(SEEDS), "ask", "--json"]
    server = ["--llm", "openai", "--llm-url", served.llm_url, "--llm-model", "smollm2"]
    result = CliRunner().invoke(main, [*args, *server, FIGHTERS])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["mode"] == "generated" and "50,000" in data["short_answer"]["text"]
    assert data["timings_ms"]["first_token"] > 0 and data["citations"]
