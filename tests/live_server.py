"""A real uvicorn server on a free loopback port, in a thread, for tests that need real sockets."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def real_server(app: Any, start_timeout: float = 30.0) -> Iterator[int]:
    """Serve `app` on 127.0.0.1 and yield its port; stop the server on exit."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, f"the test server did not start within {start_timeout} s"
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
