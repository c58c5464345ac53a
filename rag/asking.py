"""`rag ask`: one question printed for a person or as JSON, or a JSON Lines batch."""

from __future__ import annotations

import codecs
import json
import sys
import threading
from pathlib import Path
from typing import BinaryIO

from rag.corroborate import quote
from rag.errors import BadFileError, RagError
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.types import Answer

EXIT_NOTICE = 4  # answered from the passages only, because the LLM failed


def render(answer: Answer) -> str:
    """The answer and its numbered sources, as plain text for a terminal."""
    lines = [answer.text, ""]
    support = {s.n: s.label for s in answer.support}
    if answer.citations:
        lines.append("Sources:")
        for c in answer.citations:
            outlet = f"{c.source}, " if c.source else ""
            lines.append(f"  [{c.n}] {c.title} ({outlet}{c.date or 'undated'}) [{c.doc_id} {c.start}-{c.end}]")
            if c.also:
                names = ", ".join(dict.fromkeys(x.source or x.doc_id for x in c.also))
                lines.append(f"      (same article also from {names})")
            lines.append(f"      {quote(c.sentence)}")
            if c.n in support:
                lines.append(f"      ({support[c.n]})")
    elif answer.contexts:
        lines.append("Closest passages:")
        for h in answer.contexts[:3]:
            lines.append(f"  - [{h.passage.doc_id} {h.passage.start}-{h.passage.end}] {h.passage.text[:200]}…")
    return "\n".join(lines).rstrip()


def ask_one(settings: Settings, question: str, as_json: bool, compare: bool = False) -> int:
    """Answer one question; exit status 4 when the LLM failed and passages were shown instead."""
    pipeline = Pipeline(settings)
    # The index and the models open in a second thread while spaCy parses the question; joined
    # before returning, so the process never exits while a native library is still loading.
    done = threading.Event()
    warm = threading.Thread(target=_warm, args=(pipeline, done), name="rag-warm", daemon=True)
    warm.start()
    try:
        answer = pipeline.ask(question, compare=compare)
    finally:
        done.set()  # a question that needed no models (or failed) does not wait for all of them
        warm.join()
    if as_json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
    else:
        print(render(answer))
    if answer.notice:
        print(f"notice: {answer.notice}", file=sys.stderr)
        return EXIT_NOTICE
    return 0


def _warm(pipeline: Pipeline, stop: threading.Event) -> None:
    try:
        pipeline.warm(stop)
    except Exception:  # noqa: BLE001 - the question itself meets the same failure and reports it
        pass


def ask_many(settings: Settings, path: Path, compare: bool = False) -> int:
    """Answer each JSON line {id, question, ...}; models load once; a bad line gets an error object
    (its line number, and its id when it has one) and the lines after it are still answered."""
    if str(path) != "-":
        try:
            stream: BinaryIO = open(path, "rb")
        except OSError as exc:
            raise BadFileError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    else:
        stream = sys.stdin.buffer
    pipeline = Pipeline(settings)
    status = 0
    with stream:
        for lineno, raw in enumerate(stream, start=1):
            if lineno == 1 and raw.startswith(codecs.BOM_UTF8):  # saved by a Windows editor
                raw = raw[len(codecs.BOM_UTF8) :]
            if not raw.strip():
                continue
            record: object = None
            try:
                if b"\0" in raw:
                    raise ValueError("binary data, not a JSON line")
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise ValueError("not UTF-8 text") from None
                record = json.loads(line)
                if not isinstance(record, dict) or "question" not in record:
                    raise ValueError("needs a 'question' field")
            except ValueError as exc:
                qid = record.get("id") if isinstance(record, dict) else None
                print(json.dumps({"id": qid, "line": lineno, "error": f"bad input line: {exc}"}), flush=True)
                status = 1
                continue
            qid = record.get("id")
            try:
                answer = pipeline.ask(record["question"], id=None if qid is None else str(qid), compare=compare)
                out = answer.to_json()
                out["id"] = qid
            except RagError as exc:
                out = {"id": qid, "question": record.get("question"), "error": f"{type(exc).__name__}: {exc}"}
                status = 1
            print(json.dumps(out, ensure_ascii=False), flush=True)
    return status
