"""Page: usage — calls, errors, tokens and mean latency per model and per stage, tokens per QA pair, and a chart
of calls and tokens per hour (uPlot). JSON twin: GET /api/projects/{p}/usage."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loreforge.web.deps import svc
from loreforge.web.ui.common import page

router = APIRouter()


@router.get("/p/{project}/usage")
def usage(project: str, request: Request) -> Response:
    view = svc(request).usage(project)
    chart = {"t": [datetime.strptime(p.hour, "%Y-%m-%dT%H:00Z").timestamp() for p in view.by_hour],
             "tokens": [p.tokens for p in view.by_hour], "calls": [p.calls for p in view.by_hour]}
    return page(request, "usage.html", project, nav="usage", twin="/api/projects/{id}/usage", usage=view, chart=chart)
