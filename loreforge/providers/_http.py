"""HTTP plumbing shared by the OpenAI-compatible and Ollama providers.

One aiohttp `ClientSession` per provider instance, created lazily inside the running event loop, with a
connection pool sized by `HttpSettings.max_connections`. Request bodies are serialised and replies parsed
with the standard `json` module by hand (cheaper than SDK response models at high concurrency). HTTP and
transport failures become `ProviderError`s whose text never contains the API key.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import aiohttp
from multidict import CIMultiDictProxy

from loreforge.errors import ProviderError
from loreforge.providers.base import RetryableProviderError
from loreforge.settings.engine import HttpSettings

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({408, 409, 425, 429})
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")
_STATUS_HINTS = {
    401: "Check the API key configured for this provider",
    403: "Check the API key and that the account may use this model",
    404: "Check the model name and the base URL",
}
_MESSAGE_KEYS = ("message", "msg", "detail", "error_msg", "error")


def parse_retry_after(headers: CIMultiDictProxy[str] | dict[str, str]) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `Retry-After` as seconds or an HTTP date; None if absent."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_message(body: bytes, limit: int) -> str:
    """The provider's own error text from a JSON error body (OpenAI, Ollama, FastAPI shapes), else the body."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data: Any = json.loads(text)
    except ValueError:
        return text[:limit] or "(empty body)"
    for _ in range(3):
        if isinstance(data, dict):
            found = next((data[k] for k in _MESSAGE_KEYS if data.get(k)), None)
            if found is None:
                break
            data = found
        else:
            break
    out = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return out[:limit]


class HttpProvider:
    """Base of the HTTP providers: session, headers, secret redaction and error mapping."""

    name: str
    model: str
    endpoint: str

    def __init__(self, *, name: str, model: str, base_url: str, api_key: str | None, http: HttpSettings,
                 key_env: str | None = None) -> None:
        self.name = name
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.endpoint = self.base_url
        self._key = api_key or None
        self._key_env = key_env
        self._http = http
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._key:
            self._headers["Authorization"] = f"Bearer {self._key}"
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        key = "set" if self._key else "none"
        return f"{type(self).__name__}(name={self.name!r}, model={self.model!r}, base_url={self.base_url!r}, key={key})"

    def redact(self, text: str) -> str:
        """Remove the API key, any piece of it (`loreforge.secrets.redact`) and any bearer token from text that may
        reach a user or a log."""
        from loreforge.secrets import redact

        return _BEARER.sub(r"\1***", redact(text, self._key))

    def _get_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            connector = aiohttp.TCPConnector(limit=self._http.max_connections, limit_per_host=0, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector, read_bufsize=2**18)
            self._session_loop = loop
        return self._session

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed and self._session_loop is asyncio.get_running_loop():
            await session.close()

    async def _request(self, method: str, path: str, body: dict[str, Any] | None, timeout_s: float,
                       read: Callable[[aiohttp.ClientResponse], Awaitable[T]]) -> T:
        """Send one request; `read` turns a 2xx response into the result. Maps every failure to ProviderError."""
        session = self._get_session()
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=self._http.connect_timeout_s)
        url = self.base_url + path
        try:
            async with session.request(method, url, data=data, headers=self._headers, timeout=timeout) as resp:
                if resp.status >= 400:
                    raise self._status_error(resp.status, await resp.read(), resp.headers)
                return await read(resp)
        except ProviderError:
            raise
        except TimeoutError:
            raise RetryableProviderError(
                f"{self._who()} did not answer within {timeout_s:g} s", hint="Raise the timeout or lower concurrency"
            ) from None
        except aiohttp.ClientPayloadError as exc:
            raise RetryableProviderError(self.redact(f"{self._who()} cut the reply short: {exc}")) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise RetryableProviderError(
                self.redact(f"{self._who()} could not be reached at {url}: {type(exc).__name__}: {exc}"),
                hint="Check that the server is running and the base URL is right",
            ) from None
        except ValueError as exc:  # a reply that is not JSON where JSON is required
            raise RetryableProviderError(self.redact(f"{self._who()} sent an unreadable reply: {exc}")) from None

    def _who(self) -> str:
        return f"Provider '{self.name}' (model {self.model})"

    def _status_error(self, status: int, body: bytes, headers: CIMultiDictProxy[str]) -> ProviderError:
        detail = self.redact(error_message(body, self._http.error_body_chars))
        message = f"{self._who()} answered HTTP {status}: {detail}"
        if status in RETRYABLE_STATUS or status >= 500:
            return RetryableProviderError(message, status=status, retry_after=parse_retry_after(headers))
        hint = _STATUS_HINTS.get(status)
        if status in (401, 403) and self._key_env:
            hint = f"{hint} (environment variable {self._key_env})"
        return ProviderError(message, retryable=False, status=status, hint=hint)

    def _fail(self, message: str) -> RetryableProviderError:
        return RetryableProviderError(self.redact(f"{self._who()}: {message}"))


async def read_json(resp: aiohttp.ClientResponse) -> Any:
    """A whole JSON reply, parsed by hand."""
    return json.loads(await resp.read())
