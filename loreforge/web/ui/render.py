"""Rendering pages and fragments: one Jinja2 environment (autoescaped: every value a page shows is escaped), the
reader's language, and the few formatting filters the templates share."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from loreforge import __version__
from loreforge.web.ui.i18n import COOKIE, LANGUAGES, pick_language, translator

TEMPLATES = Path(__file__).parent / "templates"
STATIC_URL = "/ui/static"


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else ("" if value is None else str(value))


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M")


def _query(values: dict[str, Any], **changes: Any) -> str:
    """`values` with `changes` as a query string; None and '' are left out."""
    merged = {**values, **changes}
    return urlencode([(k, v) for k, v in merged.items() if v is not None and v != ""], doseq=True)


def project_url(project: Any, *parts: Any) -> str:
    """The page of a project (a view or a name): /ui/p/NAME/PART/..."""
    name = project if isinstance(project, str) else project.name
    return "/".join([f"/ui/p/{quote(name, safe='')}", *(str(p) for p in parts)]).rstrip("/")


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters.update(q=lambda v: quote(str(v), safe=""), number=_number, when=_when,
                       json=lambda v: json.dumps(v, ensure_ascii=False))  # plain text: escaped where it is put
    env.globals.update(qs=_query, static=STATIC_URL, version=__version__, languages=LANGUAGES, purl=project_url)
    return env


ENV = _environment()


def language(request: Request) -> str:
    return pick_language(request.cookies.get(COOKIE), request.headers.get("accept-language"))


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def html(request: Request, template: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    """Render `template` for `request` (its language, its path) into a response."""
    lang = language(request)
    text = ENV.get_template(template).render(request=request, lang=lang, t=translator(lang), htmx=is_htmx(request), **context)
    return HTMLResponse(text, status_code=status, headers=headers)
