"""Real HTTP servers for tests: any ASGI app served by uvicorn on 127.0.0.1, on an ephemeral port.

    with serve_asgi(app) as base_url:          # "http://127.0.0.1:PORT"
        httpx.get(f"{base_url}/path")

The socket is bound here (port 0) before the server starts, so there is no free-port race; the
start is bounded (`ServerError` when the server is not up in time or its thread dies), and so is
the stop (graceful first, then forced, then the thread is left behind as a daemon). Tests use the
`asgi_server` fixture in `tests/conftest.py`, which stops every server it started.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import uvicorn

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class ServerError(RuntimeError):
    """A test server did not start (or stop) in time."""


def free_port() -> int:
    """A port nobody listens on right now (for servers started by another process)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serve_asgi(
    app: Callable[..., Any], *, start_timeout: float = START_TIMEOUT, **options: Any
) -> Iterator[str]:
    """Serve `app` with uvicorn in a background thread; yield its base URL; stop it on exit.

    `options` override the uvicorn.Config defaults below (e.g. `lifespan="on"`, `http=...`)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings: dict[str, Any] = {
        "log_level": "warning",
        "access_log": False,
        "lifespan": "off",
        "timeout_graceful_shutdown": 2,
        **options,
    }
    config = uvicorn.Config(app, **settings)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{port}", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + start_timeout
        while not server.started:
            if not thread.is_alive():
                raise ServerError(f"test server on port {port} exited during start-up")
            if time.monotonic() > deadline:
                raise ServerError(f"test server on port {port} not up after {start_timeout} s")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT)
        if thread.is_alive():
            server.force_exit = True
            thread.join(STOP_TIMEOUT)
        sock.close()


def wait_http(
    url: str, *, timeout: float = START_TIMEOUT, process: subprocess.Popen[Any] | None = None
) -> None:
    """Poll `url` until it answers with any HTTP status; bounded; fails fast if `process` exits."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1.0, trust_env=False) as client:
        while True:
            if process is not None and process.poll() is not None:
                raise ServerError(f"server process exited with {process.returncode} before answering {url}")
            try:
                client.get(url)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise ServerError(f"{url} did not answer within {timeout} s") from None
                time.sleep(0.05)
