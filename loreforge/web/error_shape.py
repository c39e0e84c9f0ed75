"""The errors FastAPI and Starlette raise themselves — a request body, query or path value that does not fit a
route's model, a path with no route, a method a route does not take — answered in the one error shape of the
API (`{"error", "message", "expected", "got", "hint"}`, docs/api.md) instead of FastAPI's `{"detail": ...}`.
Registered by `loreforge.web.app.create_app` beside the handler of `LoreForgeError`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from loreforge.errors import UserError
from loreforge.service.text_input import printable

SHOWN_INPUT = 80  # characters of an offending value quoted back
SHOWN_PROBLEMS = 5
SCHEMA_HINT = "See the request schema of this route at /docs (or /openapi.json)"
ROUTE_HINT = ("See the routes at /docs. A project is reached by its name or id; one whose name holds '/' (allowed "
              "before names were checked) is reached by its id: GET /api/projects lists them, and "
              "PATCH /api/projects/{id} with {\"name\": ...} renames it")
_STATUS_NAMES = {400: "BadRequest", 404: "NotFound", 405: "MethodNotAllowed", 413: "PayloadTooLarge", 415: "UnsupportedMediaType"}


class InvalidRequest(UserError):
    """A request whose body, query or path does not fit the route (FastAPI's validation)."""

    http_status = 422


def _where(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if len(parts) >= 2 and parts[0] == "body" and isinstance(loc[1], int) and len(parts) == 2:
        return f"body (character {loc[1] + 1})"  # a JSON syntax error: loc is ('body', position)
    return printable(".".join(parts)) or "request"


def _shown(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)}"
    text = printable(repr(value))
    return text[:SHOWN_INPUT] + ("…" if len(text) > SHOWN_INPUT else "")


def _problem(error: Mapping[str, Any]) -> tuple[str, str, str | None, str | None]:
    """One pydantic error as (where, what is wrong, what was expected, what came)."""
    where, msg = _where(error.get("loc", ())), printable(str(error.get("msg", "invalid")))
    kind = error.get("type", "")
    if kind == "missing":
        return where, "required", "a value", "nothing"
    if kind == "json_invalid":
        reason = printable(str((error.get("ctx") or {}).get("error", "")))
        return where, "not valid JSON", "a JSON body", f"a syntax error ({reason})" if reason else None
    expected = msg.removeprefix("Input should be ") if msg.startswith("Input should be ") else None
    return where, msg, expected, _shown(error.get("input")) if "input" in error else None


def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [_problem(e) for e in exc.errors()] or [("request", "invalid", None, None)]
    where, msg, expected, got = problems[0]
    parts = [where if expected is not None else f"{where}: {msg}"]  # expected/got say the rest
    parts += [f"{w}: {m}" for w, m, _, _ in problems[1:SHOWN_PROBLEMS]]
    shown = "; ".join(parts) + (f"; … and {len(problems) - SHOWN_PROBLEMS} more" if len(problems) > SHOWN_PROBLEMS else "")
    error = InvalidRequest(f"Invalid request at {shown}", expected=expected, got=got, hint=SCHEMA_HINT)
    return JSONResponse(status_code=error.http_status, content=error.to_dict())


def http_error(request: Request, exc: HTTPException) -> JSONResponse:
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    path = printable(request.url.path)[:200]
    if status == 404 and detail == "Not Found":
        message, hint = f"No route for {request.method} {path}", ROUTE_HINT
    elif status == 405:
        message, hint = f"{request.method} is not allowed on {path}", "See the methods of this route at /docs"
    else:
        message, hint = printable(detail), SCHEMA_HINT if status == 400 else None
    content = {"error": _STATUS_NAMES.get(status, "HTTPError"), "message": message.rstrip(".") + "."
               + (f" {hint}." if hint else ""), "expected": None, "got": None, "hint": hint}
    return JSONResponse(status_code=status, content=content, headers=getattr(exc, "headers", None))
