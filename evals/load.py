"""Load and soak runs against POST /api/ask, over loopback only.

    python -m evals.load --clients 50 --requests 200 [--url URL]
    python -m evals.load --soak 1000 [--llm fake]

Without --url it starts its own `rag serve` (the real default models unless --llm/--embedder say
otherwise) on a free 127.0.0.1 port over a temporary data folder, and stops it afterwards. Every loop
is bounded: a fixed number of requests, a timeout per request and a deadline for the whole run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

from evals.dataset import load_dataset
from evals.metrics import percentile
from rag.errors import RagError
from rag.settings import PROJECT_ROOT

LOOPBACK = "127.0.0.1"
ERROR_SAMPLES = 5  # distinct error messages kept in a report


@dataclass(frozen=True)
class Reply:
    """The outcome of one POST /api/ask."""

    status: int  # HTTP status; 0 when no response came back
    seconds: float
    error: str = ""  # "" for a 200 with an answer

    @property
    def ok(self) -> bool:
        """True for a 200 carrying an answer."""
        return self.status == 200 and not self.error


@dataclass(frozen=True)
class LoadReport:
    """What N concurrent clients got for a fixed number of requests."""

    clients: int
    requested: int
    answered: int
    errors: int
    error_samples: tuple[str, ...]
    seconds: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    throughput_rps: float


@dataclass(frozen=True)
class SoakReport:
    """Sequential questions and the server's resident memory along the way."""

    questions: int
    answered: int
    errors: int
    error_samples: tuple[str, ...]
    seconds: float
    p50_ms: float
    p95_ms: float
    rss_start_mb: float | None  # after one warm-up question (models loaded)
    rss_end_mb: float | None
    rss_samples_mb: tuple[float, ...]  # about ten, evenly spaced

    @property
    def rss_growth_mb(self) -> float | None:
        """End minus start resident memory, when the server's memory could be read."""
        if self.rss_start_mb is None or self.rss_end_mb is None:
            return None
        return self.rss_end_mb - self.rss_start_mb


def questions() -> list[str]:
    """The gold set's questions (answerable and not), asked in a fixed cycle."""
    return [item.question for item in load_dataset()]


def ask(url: str, question: str, timeout: float) -> Reply:
    """POST one question; any failure becomes a Reply with a one-line error, never an exception."""
    body = json.dumps({"question": question}).encode()
    request = urllib.request.Request(url + "/api/ask", data=body, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = json.loads(response.read())
            status = response.status
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace")
        return Reply(exc.code, time.perf_counter() - started, f"HTTP {exc.code}: {text[:200]}")
    except (OSError, ValueError) as exc:  # refused, reset, timed out, or not JSON
        return Reply(0, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - started
    if not isinstance(data, dict) or "answer" not in data:
        return Reply(status, seconds, f"no answer in the reply: {str(data)[:200]}")
    return Reply(status, seconds)


def run_load(url: str, clients: int, requests: int, timeout: float = 300.0, deadline_s: float = 3600.0) -> LoadReport:
    """`clients` threads share `requests` questions; none starts a request after the deadline."""
    pool = questions()
    lock = threading.Lock()
    taken = 0
    replies: list[Reply] = []
    started = time.perf_counter()
    stop_at = time.monotonic() + deadline_s

    def client() -> None:
        nonlocal taken
        while time.monotonic() < stop_at:
            with lock:
                if taken >= requests:
                    return
                i = taken
                taken += 1
            reply = ask(url, pool[i % len(pool)], timeout)
            with lock:
                replies.append(reply)

    threads = [threading.Thread(target=client, name=f"load-client-{n}", daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, stop_at - time.monotonic()) + timeout + 5)
    seconds = time.perf_counter() - started
    with lock:
        done = list(replies)
    answered = [r for r in done if r.ok]
    failed = [r for r in done if not r.ok]
    latencies = [r.seconds * 1000 for r in answered]
    return LoadReport(
        clients=clients,
        requested=requests,
        answered=len(answered),
        errors=len(failed) + (requests - len(done)),  # requests never sent (deadline) count as errors
        error_samples=_samples(failed, requests - len(done)),
        seconds=seconds,
        p50_ms=percentile(latencies, 50.0),
        p95_ms=percentile(latencies, 95.0),
        max_ms=max(latencies, default=float("nan")),
        throughput_rps=len(answered) / seconds if seconds > 0 else 0.0,
    )


def run_soak(
    url: str,
    n: int,
    pid: int | None = None,
    timeout: float = 300.0,
    deadline_s: float = 3600.0,
    warmup: int = 1,
) -> SoakReport:
    """n questions one after another; the server's RSS is read before, about ten times during, and after.
    The first `warmup` questions are asked before: the models load on the first, and the caches meant
    to grow (vectors of sentences already embedded) fill over the first pass through the questions."""
    pool = questions()
    for i in range(max(1, warmup)):
        ask(url, pool[i % len(pool)], timeout)
    start_rss = rss_mb(pid)
    samples: list[float] = []
    every = max(1, n // 10)
    replies: list[Reply] = []
    started = time.perf_counter()
    stop_at = time.monotonic() + deadline_s
    for i in range(n):
        if time.monotonic() >= stop_at:
            break
        replies.append(ask(url, pool[i % len(pool)], timeout))
        rss = rss_mb(pid)
        if rss is not None and (i + 1) % every == 0:
            samples.append(rss)
    seconds = time.perf_counter() - started
    answered = [r for r in replies if r.ok]
    failed = [r for r in replies if not r.ok]
    latencies = [r.seconds * 1000 for r in answered]
    return SoakReport(
        questions=n,
        answered=len(answered),
        errors=len(failed) + (n - len(replies)),
        error_samples=_samples(failed, n - len(replies)),
        seconds=seconds,
        p50_ms=percentile(latencies, 50.0),
        p95_ms=percentile(latencies, 95.0),
        rss_start_mb=start_rss,
        rss_end_mb=rss_mb(pid),
        rss_samples_mb=tuple(samples),
    )


def rss_mb(pid: int | None) -> float | None:
    """Resident memory of a process in MB, from /proc/<pid>/status (None where it cannot be read)."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024  # the kernel reports kB
    except (OSError, ValueError, IndexError):
        return None
    return None


def _samples(failed: list[Reply], unsent: int) -> tuple[str, ...]:
    messages = list(dict.fromkeys(r.error for r in failed))[:ERROR_SAMPLES]
    if unsent:
        messages.append(f"{unsent} requests not sent before the deadline")
    return tuple(messages)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """`rag serve` in a subprocess on a free loopback port; ready once it answers a question."""

    def __init__(
        self,
        data_dir: Path,
        llm: str = "embedded",
        embedder: str = "minilm",
        seeds_dir: Path | None = None,
        startup_s: float = 600.0,
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.log = data_dir / "serve.log"
        self._startup_s = startup_s
        self._env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
        self._env.update(
            RAG_DATA_DIR=str(data_dir),
            RAG_HOST=LOOPBACK,
            RAG_PORT=str(self.port),
            RAG_LLM=llm,
            RAG_EMBEDDER=embedder,
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
            ANONYMIZED_TELEMETRY="False",
        )
        if seeds_dir is not None:
            self._env["RAG_SEEDS_DIR"] = str(seeds_dir)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The server process id."""
        return self.process.pid if self.process else None

    def __enter__(self) -> LocalServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "rag.cli", "serve"],
                cwd=PROJECT_ROOT,
                env=self._env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self._startup_s
        probe = questions()[0]
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RagError(f"the server exited during start-up; see {self.log}: {self._log_tail()}")
            reply = ask(self.url, probe, timeout=120)
            if reply.ok:
                return
            time.sleep(0.3)  # not listening yet, or 503 while the first index build runs
        raise RagError(f"the server did not answer within {self._startup_s:.0f} s; see {self.log}")

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.log.read_text(errors="replace").strip().splitlines()[-3:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Terminate the server (killed if it does not stop within 15 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def describe(report: LoadReport | SoakReport) -> str:
    """The report as a few lines for a person."""
    if isinstance(report, LoadReport):
        lines = [
            f"{report.clients} clients, {report.requested} requests in {report.seconds:.1f} s: "
            f"{report.answered} answered, {report.errors} errors",
            f"latency p50 {report.p50_ms:.0f} ms, p95 {report.p95_ms:.0f} ms, max {report.max_ms:.0f} ms; "
            f"throughput {report.throughput_rps:.2f} answers/s",
        ]
    else:
        rss = "server RSS not readable"
        if report.rss_start_mb is not None and report.rss_end_mb is not None:
            rss = (
                f"server RSS {report.rss_start_mb:.1f} MB at start, {report.rss_end_mb:.1f} MB at end "
                f"({report.rss_growth_mb:+.1f} MB)"
            )
        lines = [
            f"soak: {report.questions} sequential questions in {report.seconds:.1f} s: "
            f"{report.answered} answered, {report.errors} errors",
            f"latency p50 {report.p50_ms:.0f} ms, p95 {report.p95_ms:.0f} ms; {rss}",
        ]
    lines += [f"  error: {message}" for message in report.error_samples]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line of `python -m evals.load`."""
    parser = argparse.ArgumentParser(prog="python -m evals.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="an already running server (default: start one on 127.0.0.1)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--requests", type=int, default=200, help="requests in all (default 200)")
    parser.add_argument("--soak", type=int, default=0, metavar="N", help="instead: N sequential questions")
    parser.add_argument("--pid", type=int, help="with --url: the server's process id, to read its memory")
    parser.add_argument("--llm", default="embedded", help="generator of the started server (default embedded)")
    parser.add_argument("--embedder", default="minilm", help="embedder of the started server (default minilm)")
    parser.add_argument("--data-dir", type=Path, help="data folder of the started server (default: a temporary one)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per request (default 300)")
    parser.add_argument("--deadline", type=float, default=3600.0, help="seconds for the whole run (default 3600)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.requests < 1 or args.soak < 0:
        parser.error("--clients and --requests must be at least 1, --soak at least 0")
    if args.url and not args.url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        parser.error("--url must be a loopback address (http://127.0.0.1:PORT)")
    return args


def run(args: argparse.Namespace, url: str, pid: int | None) -> LoadReport | SoakReport:
    """The run the arguments ask for, against url."""
    if args.soak:
        return run_soak(url, args.soak, pid, args.timeout, args.deadline)
    return run_load(url, args.clients, args.requests, args.timeout, args.deadline)


def main(argv: list[str] | None = None) -> int:
    """Run, print the report; exit status 1 when any request failed."""
    args = parse_args(argv)
    try:
        if args.url:
            report = run(args, args.url.rstrip("/"), args.pid)
        else:
            with tempfile.TemporaryDirectory(prefix="rag-load-") as tmp:
                data_dir = args.data_dir or Path(tmp) / "data"
                print(f"starting rag serve (llm={args.llm}, embedder={args.embedder}) ...", file=sys.stderr)
                with LocalServer(data_dir, args.llm, args.embedder) as server:
                    print(f"serving at {server.url} (pid {server.pid})", file=sys.stderr)
                    report = run(args, server.url, server.pid)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(asdict(report)) if args.json else describe(report))
    return 0 if report.errors == 0 else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
