"""The one event format of long work, as server-sent events.

Every kind of job — generation, scoring, training, and what comes later — streams the same two events:

    event: progress
    data: {"id": 12, "kind": "train", "status": "running", "done": 40, "failed": 0, "skipped": 0, "total": 200,
           "progress": {...kind-specific detail, e.g. loss and time left...}, "params": {...}, "error": null,
           "summary": "running (40 done, 0 failed, of 200)"}

sent whenever any of those fields change, and once the job has ended

    event: end
    data: {...the same fields, final...}

A client that reconnects (a page reload) simply opens the stream again: the work runs on the server. The web UI
reads the same stream with each event's data rendered as HTML (`encode`), so its pages need no JSON parsing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from loreforge.jobs.status import ACTIVE

POLL_S = 0.5
EVENT_FIELDS = ("id", "kind", "status", "done", "failed", "skipped", "total", "progress", "params", "error")


def event_data(view: Any) -> dict[str, Any]:
    """The event payload of a job view (`loreforge.views.JobView`)."""
    data = {name: getattr(view, name) for name in EVENT_FIELDS}
    data["summary"] = view.summary
    return data


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


async def job_events(fetch: Callable[[], Any], poll_s: float = POLL_S,
                     encode: Callable[[str, dict[str, Any]], str] = sse) -> AsyncIterator[str]:
    """Poll `fetch()` (a blocking call returning the job's view) and yield `progress` on each change, then `end`,
    each as `encode(event, data)` (default: the JSON event above)."""
    last: dict[str, Any] | None = None
    while True:
        data = event_data(await asyncio.to_thread(fetch))
        if data != last:
            last = data
            yield encode("progress", data)
        if data["status"] not in ACTIVE:
            yield encode("end", data)
            return
        await asyncio.sleep(poll_s)
