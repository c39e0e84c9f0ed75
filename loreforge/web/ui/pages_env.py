"""Page: Environment — the accelerator report (`loreforge env`: Python and library versions, the accelerator kind,
devices, memory, bf16, the dtype `auto` picks), and the devices' memory and load now (`loreforge devices`: nvidia-smi,
rocm-smi or torch's counters; the host's CPU and memory), refreshed every few seconds while a run is active. JSON
twins: GET /api/env, /api/devices."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loreforge.web.deps import svc
from loreforge.web.ui.common import page
from loreforge.web.ui.render import html

router = APIRouter()
LIVE_EVERY_S = 2  # seconds between readings while a run is active
IDLE_EVERY_S = 15


def _active_runs(request: Request) -> list[object]:
    return [r for r in svc(request).list_runs() if r.status in ("queued", "running", "cancelling")]


@router.get("/env")
def env_page(request: Request) -> Response:
    s = svc(request)
    view = s.environment()
    active = _active_runs(request)
    return page(request, "env.html", nav="env", twin="/api/env", env=view, report=view.report, usage=s.device_usage(),
                active=active, every=LIVE_EVERY_S if active else IDLE_EVERY_S)


@router.get("/env/usage")
def usage(request: Request) -> Response:
    """The live card: memory and load now; it polls faster while a run is active."""
    active = _active_runs(request)
    return html(request, "_env_usage.html", usage=svc(request).device_usage(), active=active,
                every=LIVE_EVERY_S if active else IDLE_EVERY_S)
