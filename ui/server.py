"""`rag serve`: the Gradio app and the HTTP API in one FastAPI process, run by uvicorn."""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING

from rag.errors import RagError
from rag.settings import Settings
from ui import render
from ui.api import create_router
from ui.app import create_app
from ui.building import BuildStatus, build_in_background, index_exists
from ui.pipelines import PipelineFactory, Pipelines

if TYPE_CHECKING:
    from fastapi import FastAPI


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings, allow_open: bool = False) -> None:
    """Refuse to serve other machines without a login, unless that is explicitly wanted."""
    if not settings.auth and not allow_open and not is_loopback(settings.host):
        raise RagError(
            f"refusing to serve {settings.host} without a login: add --auth user:password, "
            "or --open to serve it open on purpose"
        )


def login(auth: str) -> tuple[str, str] | None:
    """settings.auth "user:password" as Gradio's (user, password)."""
    if not auth:
        return None
    user, _, password = auth.partition(":")
    return user, password


def create_server(
    settings: Settings,
    pipeline_factory: PipelineFactory | None = None,
    *,
    pipelines: Pipelines | None = None,
    status: BuildStatus | None = None,
) -> FastAPI:
    """The FastAPI app: POST /api/ask, and the Gradio page (and its client API) mounted at /."""
    import gradio as gr
    from fastapi import FastAPI

    pipelines = Pipelines(settings, pipeline_factory) if pipelines is None else pipelines
    status = BuildStatus() if status is None else status
    app = FastAPI(title="rag-news", docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json")
    app.include_router(create_router(pipelines, status))
    blocks = create_app(settings, pipelines=pipelines, status=status)
    return gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        server_name=settings.host,
        server_port=settings.port,
        auth=login(settings.auth),
        css=render.CSS,
        max_file_size=settings.max_file_bytes,
        ssr_mode=False,
        footer_links=["api"],
        run_history=False,
    )


def check_port(host: str, port: int) -> None:
    """Fail with one line when the port is taken (uvicorn would log and exit)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError as exc:
            raise RagError(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port") from None


def serve(settings: Settings, allow_open: bool = False) -> None:
    """Start the web app and API; build the index in the background first if there is none."""
    import uvicorn

    check_bind(settings, allow_open)
    check_port(settings.host, settings.port)
    pipelines = Pipelines(settings)
    status = BuildStatus()
    app = create_server(settings, pipelines=pipelines, status=status)
    if not index_exists(settings):
        build_in_background(settings, lambda: pipelines.embedder, status)
    else:  # the models load while the page is first opened, not on the first question
        threading.Thread(target=_warm, args=(pipelines,), name="rag-warm", daemon=True).start()
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    print(
        f"Serving http://{host}:{settings.port}/ (chat) and POST /api/ask"
        f"{' with login' if settings.auth else ''}; Ctrl-C stops.",
        file=sys.stderr,
        flush=True,
    )
    # Open chat streams must not keep Ctrl-C waiting.
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", timeout_graceful_shutdown=3)


def _warm(pipelines: Pipelines) -> None:
    try:
        pipelines.get().warm(prime=True)
    except Exception as exc:  # the first question reports the same failure to the person asking
        print(f"warning: models not preloaded ({type(exc).__name__}: {exc})", file=sys.stderr)


class BackgroundServer:
    """Run an ASGI app with uvicorn in a thread (tests, notebooks): `with BackgroundServer(app) as s: s.url`."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        config = uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="rag-uvicorn", daemon=True)
        self.host = host
        self.port = port

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RagError(f"the server did not start on {self.host}:{self.port}")
            time.sleep(0.02)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        """Base URL, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
