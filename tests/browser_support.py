"""What the browser tests share: Playwright and Debian's Chromium (or a skip naming what is missing), a real
`loreforge serve` process on a free port, the screenshots folder, and waiting for htmx to settle — a `lf-changed`
event reloads the lists and the item view, which `wait_for_load_state("networkidle")` cannot see (the page's own
load state was reached long before)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = Path(os.environ.get("LOREFORGE_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run"]
REQUIRE = os.environ.get("LOREFORGE_REQUIRE_BROWSER") == "1"
IDLE = "() => document.querySelectorAll('.htmx-request').length === 0"


def need_browser() -> Any:
    """Playwright's sync API, or skip (fail under LOREFORGE_REQUIRE_BROWSER=1) naming what is missing."""
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "needs the playwright package (pip install -e '.[dev]')"
    if reason is None and not CHROMIUM.exists():
        reason = f"needs Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)"
    if reason is not None:
        if REQUIRE:
            pytest.fail(reason + " — LOREFORGE_REQUIRE_BROWSER=1 does not allow skipping")
        pytest.skip(reason)
    return sync_playwright


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(home: Path, log_path: Path) -> Iterator[str]:
    """`loreforge serve` on `home` in its own process on a free port (its output in `log_path`); yields its base URL."""
    port = free_port()
    env = {**os.environ, "LOREFORGE_HOME": str(home)}
    env.pop("LOREFORGE_DATABASE_URL", None)
    env.pop("LOREFORGE_TOKEN", None)
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "loreforge", "serve", "--port", str(port)], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{base}/api/version", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
                assert process.poll() is None, log_path.read_text()
            else:
                pytest.fail("loreforge serve did not answer within 60 s: " + log_path.read_text())
            yield base
        finally:
            process.terminate()
            process.wait(10)


def shots_folder(tmp_path: Path) -> Path:
    """Where the screenshots go (LOREFORGE_UI_SHOTS, else the test's temporary folder); printed."""
    folder = Path(os.environ.get("LOREFORGE_UI_SHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nUI screenshots: {folder}")
    return folder


def settled(page: Any, timeout_ms: float = 30_000) -> None:
    """Wait until no htmx request is in flight (the reload an answer set off is sent before its swap settles)."""
    page.wait_for_timeout(50)  # htmx settles a swap after 20 ms and fires the answer's events then
    page.wait_for_function(IDLE, timeout=timeout_ms)
