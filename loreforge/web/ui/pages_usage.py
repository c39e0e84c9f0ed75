"""Page: usage — calls, errors, tokens and mean latency per model and per stage, tokens per QA pair, and a chart
of calls and tokens per hour (uPlot). JSON twin: GET /api/projects/{p}/usage."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loreforge.views import UsagePoint
from loreforge.web.deps import svc
from loreforge.web.ui.common import page

router = APIRouter()
HOUR = timedelta(hours=1)
MAX_POINTS = 24 * 92


def chart_data(points: list[UsagePoint]) -> dict[str, list[Any]]:
    """The hours as chart columns, with the hours without calls between them (and one on each side) as zeros, so
    that the line shows time as it passed."""
    if not points:
        return {"t": [], "tokens": [], "calls": []}
    seen = {datetime.strptime(p.hour, "%Y-%m-%dT%H:00Z").replace(tzinfo=timezone.utc): p for p in points}
    hour, last = min(seen) - HOUR, max(seen) + HOUR
    if (last - hour) / HOUR > MAX_POINTS:
        hour = last - MAX_POINTS * HOUR
    out: dict[str, list[Any]] = {"t": [], "tokens": [], "calls": []}
    while hour <= last:
        point = seen.get(hour)
        out["t"].append(hour.timestamp())
        out["tokens"].append(point.tokens if point else 0)
        out["calls"].append(point.calls if point else 0)
        hour += HOUR
    return out


@router.get("/p/{project}/usage")
def usage(project: str, request: Request) -> Response:
    view = svc(request).usage(project)
    return page(request, "usage.html", project, nav="usage", twin="/api/projects/{id}/usage", usage=view, chart=chart_data(view.by_hour))
