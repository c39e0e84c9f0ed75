"""FastAPI application factory; maps LoreForgeError to JSON responses with the same text the CLI prints.

`create_app(service)` is the in-process app (tests, embedding): it trusts its caller like the Python API.
`create_app(service, server)` is what `loreforge serve` runs: `ServerSettings` decide who may call it and what a
call may make the server do (`loreforge.web.security`, docs/security.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from loreforge import __version__
from loreforge.errors import LoreForgeError
from loreforge.service import Service
from loreforge.settings.server import ServerSettings
from loreforge.web import error_shape


def create_app(service: Service | None = None, server: ServerSettings | None = None) -> FastAPI:
    owned = service or Service()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        owned.close()

    app = FastAPI(
        lifespan=lifespan,
        title="LoreForge API",
        version=__version__,
        description="Documents → chunks → questions → dataset → fine-tune → evaluation. "
        "Every action of the CLI is here too.",
        docs_url=None,  # served from the package by loreforge.web.swagger (FastAPI's page loads a CDN)
        redoc_url=None,
    )
    app.state.service = owned
    app.state.server = server

    @app.exception_handler(LoreForgeError)
    async def _lf_error(_request: Request, exc: LoreForgeError) -> JSONResponse:
        return JSONResponse(status_code=exc.http_status, content=exc.to_dict())

    # FastAPI's own errors (a body that does not fit the route's model, no such route) in the same shape.
    app.add_exception_handler(RequestValidationError, error_shape.validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, error_shape.http_error)  # type: ignore[arg-type]

    from loreforge.web import routes_chunks, routes_dataset, routes_documents, routes_files, routes_generation, routes_models, routes_projects, routes_training, security, swagger

    app.include_router(routes_projects.router, prefix="/api")
    app.include_router(routes_documents.router, prefix="/api")
    app.include_router(routes_chunks.router, prefix="/api")
    app.include_router(routes_models.router, prefix="/api")
    app.include_router(routes_generation.router, prefix="/api")
    app.include_router(routes_dataset.router, prefix="/api")
    app.include_router(routes_training.router, prefix="/api")
    from loreforge.web import routes_local_models

    app.include_router(routes_local_models.router, prefix="/api")
    from loreforge.web import routes_probes

    app.include_router(routes_probes.router, prefix="/api")
    from loreforge.web import routes_eval

    app.include_router(routes_eval.router, prefix="/api")
    from loreforge.web import routes_pipeline

    app.include_router(routes_pipeline.router, prefix="/api")
    from loreforge.web import routes_cleaning, routes_dialogues, routes_distill, routes_ga, routes_images, routes_pdf, routes_templates

    app.include_router(routes_templates.router, prefix="/api")
    app.include_router(routes_cleaning.router, prefix="/api")
    app.include_router(routes_ga.router, prefix="/api")
    app.include_router(routes_dialogues.router, prefix="/api")
    app.include_router(routes_distill.router, prefix="/api")
    app.include_router(routes_images.router, prefix="/api")
    app.include_router(routes_pdf.router, prefix="/api")
    app.include_router(routes_files.router, prefix="/api")
    from loreforge.web import routes_arena, routes_chat, routes_model_servers, routes_run_insight

    for module in (routes_run_insight, routes_chat, routes_arena, routes_model_servers):  # issue 14: the model half
        app.include_router(module.router, prefix="/api")
    swagger.install(app)
    from loreforge.web import ui

    ui.install(app)  # the pages (/ui), on the same service calls as the routes above
    if server is not None:
        security.install(app, server)

    return app
