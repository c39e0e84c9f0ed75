"""Page: Serve — `serve-model` started in the background for a train run (its base and tuned model under their
served names), with the endpoint URL, the model names, a copy-paste example for the OpenAI client and curl, whether
it is up (its log while it loads or after it stopped), and stop. JSON twin: GET /api/model-servers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loreforge.errors import Forbidden
from loreforge.web.deps import server, svc
from loreforge.web.ui.common import CHANGED, done, go, number, page, text, tr

router = APIRouter()


def _page(request: Request, project: str | None, run: int | None) -> Response:
    s = svc(request)
    runs = [r for r in s.list_runs(project) if r.status == "completed"]
    servers = [v for v in s.list_model_servers(stopped=True) if project is None or v.project_id == s.get_project(project).id][:20]
    twin = "/api/model-servers"
    return page(request, "serve.html", project, nav="serve", twin=twin, runs=runs, servers=servers, chosen=run)


@router.get("/serve")
def serve_all(request: Request, run: int | None = None) -> Response:
    return _page(request, None, run)


@router.get("/p/{project}/serve")
def serve_project(project: str, request: Request, run: int | None = None) -> Response:
    return _page(request, project, run)


@router.post("/serve/start")
async def start(request: Request) -> Response:
    """Start serve-model for a run on this machine's loopback address; its card shows when it is ready."""
    form = await request.form()
    if server(request) is not None and (text(form, "host") or "127.0.0.1") not in ("127.0.0.1", "localhost", "::1"):
        raise Forbidden("This server starts model servers on its loopback address only")
    view = svc(request).start_model_server(text(form, "run"), base=text(form, "base"), name=text(form, "name"),
                                           base_name=text(form, "base_name"), port=number(form, "port"))
    back = text(form, "back") or "/ui/serve"
    return go(request, back + ("&" if "?" in back else "?") + f"started={view.id}")


@router.post("/serve/{server_id}/stop")
def stop(server_id: int, request: Request) -> Response:
    view = svc(request).stop_model_server(server_id)
    return done(request, tr(request)("serve.stopped", id=view.id), "/ui/serve", event=CHANGED)
