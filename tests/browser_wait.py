"""Waiting in browser tests for what htmx does after an answer: a `lf-changed` event reloads the lists and the item
view, and `wait_for_load_state("networkidle")` cannot see that (the page's own load state was reached long before)."""

from __future__ import annotations

from typing import Any

IDLE = "() => document.querySelectorAll('.htmx-request').length === 0"


def settled(page: Any, timeout_ms: float = 30_000) -> None:
    """Wait until no htmx request is in flight (the reload an answer set off is sent before its swap settles)."""
    page.wait_for_timeout(50)  # htmx settles a swap after 20 ms and fires the answer's events then
    page.wait_for_function(IDLE, timeout=timeout_ms)
