"""The web UI: part 1, the dataset factory in the browser (projects, settings, documents, chunks, questions,
dataset review, export, jobs, usage); part 2 (`model_pages`), the model half (training, runs, evaluation, blind
tests, chat, serving, the environment, pipeline runs).

Server-rendered Jinja2 pages on the API's own FastAPI app, htmx (vendored, with its SSE extension) for partial
updates, uPlot for the usage chart; everything served from the package, no CDN, no build step. Every page reads
and acts through the same `Service` calls as the JSON API (`/api/...`), and links to its JSON twin. Pages live
under `/ui`; `/` sends a browser there. The server's guard (`loreforge.web.security`: token, Host, same origin,
body limit) stands in front of the pages as of every route. See docs/ui.md."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from loreforge.errors import LoreForgeError

STATIC = Path(__file__).parent / "static"
UI_PREFIX = "/ui"


def _wrap_errors(app: FastAPI) -> None:
    """Errors of page routes as HTML (the same text as the CLI); those of API routes stay JSON."""
    from loreforge.web.ui.common import error_message, error_page

    for kind in (LoreForgeError, RequestValidationError, StarletteHTTPException):
        json_handler = app.exception_handlers[kind]

        async def handler(request: Request, exc: Exception, json_handler=json_handler) -> Response:  # type: ignore[no-untyped-def]
            response = json_handler(request, exc)
            response = await response if hasattr(response, "__await__") else response
            if not request.url.path.startswith(UI_PREFIX + "/") and request.url.path != UI_PREFIX:
                return response
            return error_page(request, error_message(exc, bytes(response.body)), response.status_code)

        app.add_exception_handler(kind, handler)


def install(app: FastAPI) -> None:
    """Add the pages, their static files (/ui/static) and `/` → /ui to `app` (made by `create_app`)."""
    from loreforge.web.ui import model_pages  # part 2: train, evaluate, compare, chat, serve
    from loreforge.web.ui import (
        pages_chunks, pages_dataset, pages_documents, pages_export, pages_jobs, pages_projects, pages_questions,
        pages_review, pages_settings, pages_usage,
    )
    from loreforge.web.ui.modes import MODE_PAGES

    app.mount(f"{UI_PREFIX}/static", StaticFiles(directory=STATIC), name="ui-static")
    for module in (pages_projects, pages_settings, pages_documents, pages_chunks, pages_questions, pages_dataset,
                   pages_review, pages_export, pages_jobs, pages_usage, *model_pages.MODULES):
        app.include_router(module.router, prefix=UI_PREFIX, include_in_schema=False)
    for module in MODE_PAGES:  # the pages of issue 15's ways of making data
        app.include_router(module.router, prefix=UI_PREFIX, include_in_schema=False)

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse(UI_PREFIX, status_code=307)

    _wrap_errors(app)
