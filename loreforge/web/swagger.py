"""The interactive API docs at /docs, served entirely by this package: Swagger UI's files are vendored in
`static/swagger-ui/` (swagger-ui-dist from npm, Apache-2.0; see its VERSION file), so the page works offline.
FastAPI's own /docs would load them from a CDN and stay blank without the internet."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
STATIC_URL = "/static"
ASSETS = f"{STATIC_URL}/swagger-ui"
DOCS_URL = "/docs"


def install(app: FastAPI) -> None:
    """Serve the vendored assets under /static and the Swagger UI page at /docs (create the app with
    `docs_url=None, redoc_url=None`)."""
    app.mount(STATIC_URL, StaticFiles(directory=STATIC), name="static")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS_URL, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url, title=f"{app.title} — docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},  # the validator badge would call validator.swagger.io
        )
