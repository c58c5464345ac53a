from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import main

FIGHTERS = "How many fighters does the Islamic Resistance in Iraq command?"


def rag(tmp_path: Path, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["--embedder", "fake", "--data-dir", str(tmp_path / "d"), *args], input=input)


@pytest.fixture
def indexed(tmp_path: Path) -> Path:
    assert rag(tmp_path, "index", "-q").exit_code == 0
    return tmp_path


def test_ask_prints_answer_and_sources(indexed: Path) -> None:
    result = rag(indexed, "ask", "--llm", "fake", FIGHTERS)
    assert result.exit_code == 0, result.output
    assert "50,000 fighters" in result.stdout and "Sources:" in result.stdout and "[1]" in result.stdout


def test_ask_json(indexed: Path) -> None:
    result = rag(indexed, "ask", "--llm", "fake", "--json", FIGHTERS)
    data = json.loads(result.stdout)
    assert data["question"] == FIGHTERS and not data["abstained"]
    assert data["citations"][0]["n"] == 1 and data["contexts"]
    assert {"retrieve", "generate", "total"} <= set(data["timings_ms"])


def test_ask_jsonl_keeps_order_ids_and_ignores_extra_fields(indexed: Path) -> None:
    lines = [
        {"id": "a", "question": FIGHTERS, "extra": [1, 2]},
        {"id": 7, "question": "Who won the 1998 football World Cup final?"},
        {"id": "c", "question": "   "},
    ]
    text = "\n".join(json.dumps(x) for x in lines) + "\nnot json\n"
    result = rag(indexed, "ask", "--llm", "fake", "--jsonl", "-", input=text)
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", 7, "c", None]
    assert "50,000" in out[0]["answer"] and out[1]["abstained"] is True
    assert "BadQuestionError" in out[2]["error"] and "bad input line" in out[3]["error"]
    assert result.exit_code == 1  # some lines failed


def test_ask_jsonl_bad_bytes_spoil_only_their_line(indexed: Path) -> None:
    questions = indexed / "questions.jsonl"
    questions.write_bytes(
        b"\xef\xbb\xbf"  # a BOM, as a Windows editor saves the file
        + json.dumps({"id": "a", "question": FIGHTERS}).encode()
        + b'\n{"id": "b", "question": "Caf\xe9?"}\n{"id": "c"}\n'
        + json.dumps({"id": "d", "question": FIGHTERS}).encode()
        + b"\n\x00\x01\x02\n"
    )
    result = rag(indexed, "ask", "--llm", "fake", "--jsonl", str(questions))
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(o["id"], o.get("line")) for o in out] == [("a", None), (None, 2), ("c", 3), ("d", None), (None, 5)]
    assert "not UTF-8" in out[1]["error"] and "'question'" in out[2]["error"] and "binary" in out[4]["error"]
    assert "50,000" in out[0]["answer"] and "50,000" in out[3]["answer"]
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_ask_jsonl_unreadable_file_or_two_inputs_is_one_line(indexed: Path) -> None:
    result = rag(indexed, "ask", "--llm", "fake", "--jsonl", str(indexed / "nope.jsonl"))
    assert result.exit_code == 1 and result.stdout == ""
    assert (
        result.stderr.strip() == f"Error: BadFileError: cannot read {indexed / 'nope.jsonl'}: No such file or directory"
    )
    result = rag(indexed, "ask", "--llm", "fake", "--jsonl", "-", FIGHTERS, input="")
    assert result.exit_code == 2 and "not both" in result.stderr


def test_no_index_is_one_line(tmp_path: Path) -> None:
    result = rag(tmp_path, "ask", "--llm", "fake", FIGHTERS)
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("Error: IndexMissingError") and "\n" not in result.stderr.strip()


def test_empty_question_is_one_line(indexed: Path) -> None:
    result = rag(indexed, "ask", "--llm", "fake", "  ")
    assert result.exit_code == 1 and "BadQuestionError" in result.stderr and "Traceback" not in result.output


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("backend", ["openai", "ollama"])
def test_unreachable_llm_server_still_shows_passages(indexed: Path, backend: str) -> None:
    url = f"http://127.0.0.1:{_closed_port()}" + ("/v1" if backend == "openai" else "")
    result = rag(
        indexed, "--set", "llm_timeout=3", "ask", "--llm", backend, "--llm-url", url, "--llm-model", "m", FIGHTERS
    )
    assert result.exit_code == 4
    assert "50,000 fighters" in result.stdout
    assert "notice: LLM server" in result.stderr and "unreachable" in result.stderr


def test_console_script_ends_ask_at_once_with_its_output_and_status(indexed: Path) -> None:
    """`rag` (rag.cli:run) skips interpreter teardown after `ask`; nothing printed or returned is lost."""
    import subprocess
    import sys

    def console(*args: str, input: str = "") -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "rag.cli", "--embedder", "fake", "--data-dir", str(indexed / "d"), *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, input=input)

    ok = console("ask", "--llm", "fake", "--json", FIGHTERS)
    assert ok.returncode == 0 and "50,000" in json.loads(ok.stdout)["answer"]
    lines = json.dumps({"id": "a", "question": FIGHTERS}) + "\nnot json\n"
    many = console("ask", "--llm", "fake", "--jsonl", "-", input=lines)  # every streamed line arrives
    out = [json.loads(line) for line in many.stdout.splitlines()]
    assert many.returncode == 1 and [o["id"] for o in out] == ["a", None] and "50,000" in out[0]["answer"]
    assert console("ask", "--llm", "fake", "--jsonl", "-").returncode == 0  # no lines at all
    empty = console("ask", "--llm", "fake", "  ")
    assert empty.returncode == 1 and empty.stderr.strip().startswith("Error: BadQuestionError")
    usage = console("ask")  # a usage error keeps click's exit status 2 and message
    assert usage.returncode == 2 and "QUESTION" in usage.stderr
    status = console("index", "-q")  # other commands exit the ordinary way
    assert status.returncode == 0
