"""The HTTP API: POST /api/ask returns exactly Answer.to_json(); errors are {"error": "..."} with a status."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from rag.conversation import Turn
from rag.errors import (
    BadQuestionError,
    IndexCorruptError,
    IndexMissingError,
    LLMUnavailableError,
    RagError,
    SettingsError,
    StoreUnavailableError,
)
from ui.building import BuildStatus
from ui.pipelines import Pipelines

log = logging.getLogger(__name__)
MODES = ("hybrid", "dense", "bm25")
# A question is at most a few thousand characters and a history a few dozen turns; anything much
# bigger is refused before it is read into memory.
MAX_BODY_BYTES = 1_000_000


class BadRequestError(RagError):
    """The request body is not a usable ask request (wrong shape or option values)."""


@dataclass(frozen=True)
class AskRequest:
    """A parsed POST /api/ask body."""

    question: str
    history: tuple[Turn, ...] = ()
    top_k: int | None = None
    retrieval: str | None = None


def parse_request(body: object) -> AskRequest:
    """Check the JSON body: {"question", "history": [{question, answer} | [q, a]], "top_k", "retrieval"}."""
    if not isinstance(body, dict):
        raise BadRequestError('the body must be a JSON object like {"question": "..."}')
    question = body.get("question")
    if not isinstance(question, str):
        raise BadQuestionError('the body needs a "question" string')
    history = body.get("history") or []
    if not isinstance(history, list):
        raise BadRequestError('"history" must be a list of {"question", "answer"} objects or [question, answer] pairs')
    turns = [_turn(item) for item in history]
    top_k = body.get("top_k")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= 50):
        raise BadRequestError('"top_k" must be a whole number from 1 to 50')
    retrieval = body.get("retrieval")
    if retrieval is not None and retrieval not in MODES:
        raise BadRequestError(f'"retrieval" must be one of {", ".join(MODES)}')
    return AskRequest(question, tuple(turns), top_k, retrieval)


def _turn(item: object) -> Turn:
    if isinstance(item, dict) and isinstance(item.get("question"), str):
        answer = item.get("answer", "")
        return Turn(item["question"], answer if isinstance(answer, str) else "")
    if isinstance(item, list | tuple) and len(item) == 2 and all(isinstance(x, str) for x in item):
        return Turn(item[0], item[1])
    raise BadRequestError('each "history" item must be {"question": ..., "answer": ...} or [question, answer]')


def status_code(exc: RagError) -> int:
    """The HTTP status for a library error: 400 for the caller's mistakes, 503 for what may recover."""
    if isinstance(exc, BadQuestionError | BadRequestError | SettingsError):
        return 400
    if isinstance(exc, IndexMissingError | IndexCorruptError | LLMUnavailableError | StoreUnavailableError):
        return 503
    return 500


def answer_request(pipelines: Pipelines, body: object, status: BuildStatus | None = None) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) for one ask request; runs the pipeline (call it from a worker thread)."""
    try:
        request = parse_request(body)
        answer = pipelines.get().ask(request.question, request.history, top_k=request.top_k, mode=request.retrieval)
    except RagError as exc:
        message = str(exc)
        if isinstance(exc, IndexMissingError) and status is not None and status.running:
            message = status.message()
        return status_code(exc), {"error": f"{type(exc).__name__}: {message}"}
    except Exception as exc:  # the caller gets one line; the operator's terminal gets the traceback
        log.exception("POST /api/ask failed")
        return 500, {"error": f"internal error ({type(exc).__name__}); see the server log"}
    return 200, answer.to_json()


def authorized(header: str | None, auth: str) -> bool:
    """True when an HTTP Basic Authorization header carries the user:password of settings.auth."""
    if not auth:
        return True
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return secrets.compare_digest(given.encode(), auth.encode())


def create_router(pipelines: Pipelines, status: BuildStatus | None = None) -> APIRouter:
    """The /api routes; pipeline calls run in the thread pool, so concurrent requests wait, not fail."""
    router = APIRouter()
    auth = pipelines.settings.auth

    @router.post("/api/ask")
    async def ask(request: Request) -> JSONResponse:
        """Answer a question from the articles: the same JSON object as `rag ask --json`."""
        if not authorized(request.headers.get("authorization"), auth):
            return JSONResponse(
                {"error": "login required: send HTTP Basic auth with the server's user:password"},
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="rag"'},
            )
        raw = await _read_body(request, MAX_BODY_BYTES)
        if raw is None:
            return JSONResponse({"error": f"BadRequestError: the body is over {MAX_BODY_BYTES:,} bytes"}, 413)
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
            return JSONResponse({"error": 'BadRequestError: the body must be JSON like {"question": "..."}'}, 400)
        code, data = await run_in_threadpool(answer_request, pipelines, body, status)
        return JSONResponse(data, status_code=code)

    # Without it, the chat page mounted at "/" answers any other method with its own 404.
    @router.api_route("/api/ask", methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def ask_other(request: Request) -> JSONResponse:
        return JSONResponse(
            {"error": 'BadRequestError: POST a JSON body like {"question": "..."} to /api/ask'},
            status_code=405,
            headers={"Allow": "POST"},
        )

    return router


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is known to be over the limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
