"""A real uvicorn server for tests that need real HTTP: on 127.0.0.1, on a port the OS picks,
in a thread with its own event loop (so the app's lifespan, and with it the app's own lazy
Temporal client, run there), ready when `/healthz` answers and stopped on leaving."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, contextmanager, nullcontext

import httpx
import uvicorn
from starlette.types import ASGIApp

READY_DEADLINE = 30.0
STOP_DEADLINE = 30.0

Alongside = Callable[[], AbstractAsyncContextManager[object]]


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the block, and restore what was there before."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _wait_ready(
    base_url: str, thread: threading.Thread, failures: list[BaseException], deadline: float
) -> None:
    give_up = time.monotonic() + deadline
    last: object = None
    with httpx.Client(base_url=base_url, timeout=2.0) as http:
        while True:
            if failures:
                raise RuntimeError(f"the server thread failed: {failures[0]!r}") from failures[0]
            if not thread.is_alive():
                raise RuntimeError("the server stopped before it was ready (lifespan failed?)")
            try:
                response = http.get("/healthz")
                if response.status_code == 200:
                    return
                last = response.status_code
            except httpx.TransportError as error:
                last = error
            if time.monotonic() > give_up:
                raise RuntimeError(f"the server was not ready within {deadline}s; last: {last!r}")
            thread.join(0.02)  # a short pause that also notices the thread ending


@contextmanager
def serve(
    app: ASGIApp,
    *,
    env: Mapping[str, str] | None = None,
    alongside: Alongside | None = None,
    deadline: float = READY_DEADLINE,
) -> Iterator[str]:
    """Serve `app` with uvicorn; yield its base URL (`http://127.0.0.1:<port>`).

    `env`: environment variables set while the app starts (its lifespan reads them), and
    restored once it is ready. `alongside`: an async context entered in the server's event
    loop around the server (e.g. a Temporal worker that must keep running while synchronous
    tests block the test's own event loop)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # handed to uvicorn: no race for the port
    port: int = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        access_log=False,
    )
    server = uvicorn.Server(config)
    failures: list[BaseException] = []

    async def main() -> None:
        async with alongside() if alongside is not None else nullcontext():
            await server.serve(sockets=[sock])

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as error:  # reported to the test, not lost in the thread
            failures.append(error)

    thread = threading.Thread(target=run, name=f"uvicorn-{port}", daemon=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        with environment(env or {}):
            thread.start()
            _wait_ready(base_url, thread, failures, deadline)
        yield base_url
    finally:
        server.should_exit = True
        if thread.ident is not None:
            thread.join(STOP_DEADLINE)
        sock.close()
    if thread.is_alive():
        raise RuntimeError(f"the server on port {port} did not stop within {STOP_DEADLINE}s")
    if failures:
        raise RuntimeError(f"the server thread failed: {failures[0]!r}") from failures[0]
