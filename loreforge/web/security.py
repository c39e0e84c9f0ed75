"""The guard in front of every route of a served API (`loreforge serve`), as one ASGI middleware, in this order:

1. Host header among the names the server answers to (DNS rebinding: a page that renames its own host to our
   address must not reach the API);
2. the access token (`Authorization: Bearer TOKEN` or the `loreforge_token` cookie) when the settings need one;
   `GET /login?token=TOKEN[&next=/ui]` sets the cookie for a browser and sends it on to /docs (or `next`, a path
   of this server);
3. same origin for state-changing requests: `Sec-Fetch-Site`, else `Origin`, else `Referer` must name this
   server (a cross-site form post carries one of them; scripts and curl send none);
4. the body limit, enforced while the body is read: a declared Content-Length over the limit is refused before
   a byte is read; a body without one is refused as soon as it passes the limit.

Refusals are the JSON error of every other failure (`LoreForgeError.to_dict`). The settings are
`loreforge.settings.server.ServerSettings`; docs/security.md describes the model.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse, RedirectResponse, Response

from loreforge.errors import Forbidden, LoreForgeError, TooLarge, Unauthorized, UserError
from loreforge.settings.server import ServerSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "loreforge_token"
LOGIN_PATH = "/login"
AFTER_LOGIN = "/docs"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SAME_ORIGIN_FETCH = frozenset({"same-origin", "none"})  # `none`: the user typed the address or used a bookmark
MB = 1024 * 1024


class BodyTooLarge(Exception):
    """Raised inside the app's body reading once the body passes the limit; the middleware answers 413."""


def host_name(host: str) -> str:
    """The name part of a Host header value (`[::1]:8717` -> `::1`, `Example.org:80` -> `example.org`)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class SecurityMiddleware:
    """Checks every HTTP request against `ServerSettings` before the app sees it (see the module docstring)."""

    def __init__(self, app: ASGIApp, settings: ServerSettings) -> None:
        self.app = app
        self.settings = settings
        self.names = settings.host_names()
        self.any_host = "*" in settings.allowed_hosts
        self.origin_names = frozenset(host_name(h) for h in settings.allowed_hosts if h != "*")
        self.token = settings.token.get_secret_value() if settings.token is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        try:
            self._check_host(headers)
            if scope["type"] == "http" and scope["path"] == LOGIN_PATH:
                return await self._login(scope, receive, send)
            self._check_token(headers)
            if scope["type"] == "websocket":
                return await self.app(scope, receive, send)
            if scope["method"] not in SAFE_METHODS:
                self._check_origin(headers)
            self._check_length(headers)
        except LoreForgeError as exc:
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            return await _refuse(exc, scope, receive, send)
        await self._limited(scope, receive, send)

    # -- checks ---------------------------------------------------------------------------------------

    def _check_host(self, headers: Headers) -> None:
        raw = headers.get("host", "")
        if self.any_host or host_name(raw) in self.names:
            return
        raise Forbidden(
            "This server does not answer to that host name",
            expected="one of " + ", ".join(sorted(self.names)),
            got=repr(raw) if raw else "no Host header",
            hint="Use one of those names, or start the server with `--allowed-host NAME` (LOREFORGE_ALLOWED_HOSTS)",
        )

    def _check_token(self, headers: Headers) -> None:
        if self.token is None:
            return
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            given = cookie_parser(headers.get("cookie", "")).get(COOKIE, "")
        if given and hmac.compare_digest(given.strip().encode(), self.token.encode()):
            return
        raise Unauthorized(
            "This server needs its access token",
            expected="the header `Authorization: Bearer TOKEN` (or the loreforge_token cookie)",
            got="a wrong token" if given else "no token",
            hint="The token is printed when `loreforge serve` starts (or set as LOREFORGE_TOKEN); in a browser open "
            "/login?token=TOKEN once",
        )

    def _check_origin(self, headers: Headers) -> None:
        fetch_site = headers.get("sec-fetch-site")
        origin = headers.get("origin") or headers.get("referer")
        if fetch_site is not None and fetch_site.lower() not in SAME_ORIGIN_FETCH:
            self._cross_site(f"Sec-Fetch-Site: {fetch_site}")
        if origin is None:
            return  # not sent by a browser page (curl, scripts, the Python client)
        netloc = urlsplit(origin).netloc.lower() if origin != "null" else ""
        if netloc and (netloc == headers.get("host", "").lower() or host_name(netloc) in self.origin_names):
            return
        self._cross_site(f"a request from {origin!r}")

    def _cross_site(self, got: str) -> None:
        raise Forbidden(
            "Cross-site requests may not change anything on this server",
            expected="a request from a page of this server, or from a client that is not a browser",
            got=got,
            hint="Send it from this server's own pages, or without a browser (curl, a script)",
        )

    def _check_length(self, headers: Headers) -> None:
        declared = headers.get("content-length")
        if declared is None:
            return
        try:
            size = int(declared)
        except ValueError:
            raise UserError("Content-Length is not a number", got=repr(declared)) from None
        if size > self.settings.max_body_bytes:
            raise self._too_large(f"Content-Length {size} bytes ({size / MB:.1f} MB)")

    def _too_large(self, got: str) -> TooLarge:
        return TooLarge(
            "The request body is too large",
            expected=f"at most {self.settings.max_body_mb:g} MB",
            got=got,
            hint="Send smaller pieces (one file per upload), or start the server with `--max-body-mb N` "
            "(LOREFORGE_MAX_BODY_MB)",
        )

    # -- the token cookie -------------------------------------------------------------------------------

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        """`GET /login?token=TOKEN[&next=PATH]`: set the token cookie (HttpOnly, SameSite=Strict) and go on to the
        docs, or to `next` when it is a path of this server (never another site)."""
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = query.get("token", [""])[0]
        wanted = query.get("next", [AFTER_LOGIN])[0]
        after = wanted if wanted.startswith("/") and not wanted.startswith("//") and "\\" not in wanted else AFTER_LOGIN
        if self.token is None:
            response: Response = RedirectResponse(after, status_code=303)
        elif given and hmac.compare_digest(given.encode(), self.token.encode()):
            response = RedirectResponse(after, status_code=303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
        else:
            return await _refuse(Unauthorized("Wrong or missing access token", expected="/login?token=TOKEN",
                                              got="a wrong token" if given else "no token",
                                              hint="Copy the token `loreforge serve` printed at start"),
                                 scope, receive, send)
        await response(scope, receive, send)

    # -- the body limit, while reading -----------------------------------------------------------------

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.settings.max_body_bytes
        state = {"read": 0, "tripped": False, "started": False}

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["read"] += len(message.get("body", b""))
                if state["read"] > limit:
                    state["tripped"] = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if state["tripped"]:
                return  # the app's answer to a broken-off body is replaced by the 413 below
            state["started"] = state["started"] or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not state["tripped"]:
                raise
        if state["tripped"] and not state["started"]:
            await _refuse(self._too_large("a body without Content-Length that went past the limit"), scope, receive, send)


async def _refuse(exc: LoreForgeError, scope: Scope, receive: Receive, send: Send) -> None:
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    await JSONResponse(status_code=exc.http_status, content=exc.to_dict(), headers=headers)(scope, receive, send)


def install(app: Any, settings: ServerSettings) -> None:
    """Put the guard in front of `app` (a FastAPI app); refuses settings that need a token but hold none."""
    from loreforge.errors import ConfigError

    if settings.needs_token and settings.token is None:
        raise ConfigError("A server bound to a non-loopback address needs an access token",
                          got=f"host {settings.host} and no token", hint="Set LOREFORGE_TOKEN, or use ServerSettings.with_token()")
    app.add_middleware(SecurityMiddleware, settings=settings)
