"""What every page route shares: the project header (its counts and running jobs), answers to an action (a message
fragment for htmx, a redirect for a plain form post), errors rendered where they happen with the text the CLI
prints, and reading form fields."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from loreforge.errors import LoreForgeError, UserError
from loreforge.service import Service
from loreforge.web.deps import svc
from loreforge.web.ui.i18n import Translate, translator
from loreforge.web.ui.render import html, is_htmx, language

CHANGED = "lf-changed"  # the htmx event after which lists on the page reload themselves
JOB_STARTED = "lf-job"  # ... and the running-jobs indicator looks again


def tr(request: Request) -> Translate:
    """The reader's translator, for messages an action answers with."""
    return translator(language(request))


def page(request: Request, template: str, project: str | None = None, nav: str = "", twin: str | None = None,
         **context: Any) -> Response:
    """A full page (or, for an htmx request that targets the list, the page's list fragment — templates decide
    with `htmx`). A project page carries the project (counts) and its running jobs (re-attached live); `twin`, the
    page's JSON twin, may name the project's id as `{id}`."""
    s: Service = svc(request)
    view = s.get_project(project) if project is not None else None
    jobs = s.list_jobs(view.id, limit=20, active=True) if view is not None else []
    if twin is not None and view is not None:
        twin = twin.replace("{id}", str(view.id))
    return html(request, template, project=view, nav=nav, twin=twin, active_jobs=jobs, **context)


def done(request: Request, message: str, back: str, event: str = CHANGED, kind: str = "ok", **context: Any) -> Response:
    """The answer to an action that worked: a message where the action was (htmx; lists reload on `event`;
    `kind` "warn" for a result that needs a look), or back to the page (a plain form post)."""
    if not is_htmx(request):
        return RedirectResponse(back, status_code=303)
    return html(request, "_message.html", headers={"HX-Trigger": event}, message=message, kind=kind, **context)


def go(request: Request, url: str) -> Response:
    """Open another page after an action (htmx follows HX-Redirect; a form post follows the 303)."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, message: str, status: int) -> Response:
    """An error where it happened: in the action's message slot (htmx), or as a page with a way back."""
    if is_htmx(request):
        return html(request, "_message.html", status=status, message=message, kind="error")
    return html(request, "error.html", status=status, message=message, back=request.headers.get("referer") or "/ui")


def error_message(exc: Exception, body: bytes | None = None) -> str:
    """The text the CLI prints for `exc`, or the `message` of a JSON error response body."""
    if isinstance(exc, LoreForgeError):
        return str(exc)
    try:
        return str(json.loads(body or b"{}").get("message") or exc)
    except ValueError:
        return str(exc)


# -- form fields --------------------------------------------------------------------------------------

def text(form: FormData, name: str) -> str | None:
    """A text field; None when absent or blank."""
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


def raw(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def number(form: FormData, name: str, kind: type = int) -> Any:
    value = text(form, name)
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        raise UserError(f"'{name}' must be a number", got=repr(value)) from None


def flag(form: FormData, name: str) -> bool:
    return raw(form, name) in ("1", "on", "true", "yes")


def choice(form: FormData, name: str) -> bool | None:
    """A yes / no / either select: 'true', 'false' or ''."""
    return {"true": True, "false": False}.get(raw(form, name))


def ids(form: FormData, name: str = "ids") -> list[int]:
    out: list[int] = []
    for value in form.getlist(name):
        if isinstance(value, str) and value.strip().isdigit():
            out.append(int(value))
    return out


def filter_from(values: Any, model: Any, prefix: str = "") -> Any:
    """A filter model (`DatasetFilter`, `ChunkFilter`, `QuestionFilter`) from query parameters or form fields
    (`prefix` + field name); blank fields are no condition. An invalid value is refused naming the field."""
    from pydantic import ValidationError

    data: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        many = "list" in str(field.annotation)
        found = [v for v in values.getlist(prefix + name) if isinstance(v, str) and v.strip()]
        if found:
            data[name] = [p for v in found for p in v.replace(",", " ").split()] if many else found[-1].strip()
    try:
        return model(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise UserError(f"Invalid filter '{err['loc'][0]}'", got=repr(err.get("input")), hint=err["msg"]) from None


def filter_query(f: Any, prefix: str = "") -> dict[str, Any]:
    """A filter model back as query parameters (for links, the JSON twin and select-all forms)."""
    return {prefix + k: (" ".join(map(str, v)) if isinstance(v, list) else str(v).lower() if isinstance(v, bool) else v)
            for k, v in f.model_dump(exclude_none=True).items()}
