"""The application served for real on a local port, for tests that need real connections."""

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def live_server(app: FastAPI, port: int | None = None, **options: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free local port (or ``port``) in a thread; yields
    its base URL. ``options`` change uvicorn's configuration (its logging, for instance)."""
    port = port or free_port()
    config = {"log_level": "warning", "limit_concurrency": 500, **options}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
