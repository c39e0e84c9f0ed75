"""MinerU clients: a PDF to Markdown through the MinerU cloud API (upload, poll with a bounded timeout, download the
result zip and take its `full.md`) or a local MinerU server (`POST /file_parse`). Fed by the PDF conversion stage
(`service/pdf_convert.py`); the token comes from the secrets store or an environment variable, is sent only as the
bearer header and never written anywhere.

MinerU API v4 (mineru.net): `POST /api/v4/file-urls/batch` {"files": [{"name", "data_id"}], "model_version"} →
{"data": {"batch_id", "file_urls": [url]}}; `PUT url` with the bytes; `GET /api/v4/extract-results/batch/{batch_id}` →
{"data": {"extract_result": [{"state": pending|running|converting|done|failed, "full_zip_url", "err_msg"}]}}.
A local server (`mineru-api`) answers `POST /file_parse` (multipart `files`, `return_md=true`) with
{"results": {name: {"md_content"}}} (or, older, {"md_content"}).
"""

from __future__ import annotations

import asyncio
import io
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from loreforge.errors import ProviderError, UserError

DONE, FAILED = "done", "failed"


@dataclass(frozen=True)
class MineruResult:
    markdown: str
    task: str  # the batch id (API) or "local"
    seconds: float


def _fail(what: str, detail: str, hint: str, retryable: bool = False) -> ProviderError:
    return ProviderError(f"MinerU {what}: {detail}", retryable=retryable, hint=hint)


async def _json(resp: aiohttp.ClientResponse, what: str) -> Any:
    text = await resp.text()
    if resp.status == 401 or resp.status == 403:
        raise _fail(what, f"the token was refused (HTTP {resp.status})", "Store a valid token with `loreforge pdf mineru-key PROJECT`")
    if resp.status >= 400:
        raise _fail(what, f"HTTP {resp.status}: {text[:300]}", "Check the MinerU URL (pdf.mineru_api_url / pdf.mineru_local_url)",
                    retryable=resp.status >= 500 or resp.status == 429)
    try:
        return await resp.json(content_type=None)
    except ValueError:
        raise _fail(what, f"the reply is not JSON: {text[:200]!r}", "Check that the URL is a MinerU server") from None


async def convert_api(path: Path, name: str, base_url: str, token: str, model: str, timeout_s: float, poll_s: float) -> MineruResult:
    """Upload one PDF (`name`: the user's name for it) to the MinerU API, wait for it (at most `timeout_s`), and
    return its Markdown."""
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {token}"}
    base = base_url.rstrip("/")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=max(60.0, timeout_s))) as http:
        body = {"files": [{"name": name, "data_id": path.stem[:100]}], "model_version": model}
        async with http.post(f"{base}/api/v4/file-urls/batch", json=body, headers=headers) as resp:
            data = await _json(resp, "upload request")
        batch, urls = _upload_target(data)
        async with http.put(urls[0], data=path.read_bytes()) as resp:
            if resp.status >= 400:
                raise _fail("upload", f"HTTP {resp.status}", "Try again later", retryable=True)
        while True:
            async with http.get(f"{base}/api/v4/extract-results/batch/{batch}", headers=headers) as resp:
                result = _first_result(await _json(resp, "status"))
            state = str(result.get("state", ""))
            if state == DONE:
                async with http.get(str(result.get("full_zip_url", ""))) as resp:
                    if resp.status >= 400:
                        raise _fail("download", f"HTTP {resp.status}", "Retry the item", retryable=True)
                    markdown = full_markdown(await resp.read())
                return MineruResult(markdown, batch, time.monotonic() - started)
            if state == FAILED:
                raise _fail("conversion", str(result.get("err_msg") or "the task failed"), "Check the PDF opens; retry the item")
            if time.monotonic() - started + poll_s > timeout_s:
                raise _fail("conversion", f"not done after {timeout_s:g} s (last state '{state}', task {batch})",
                            "Raise pdf.mineru_timeout_s, or retry the item later (`loreforge jobs retry JOB`)", retryable=True)
            await asyncio.sleep(poll_s)


def _upload_target(data: Any) -> tuple[str, list[str]]:
    inner = data.get("data") if isinstance(data, dict) else None
    if not isinstance(inner, dict) or not inner.get("batch_id") or not inner.get("file_urls"):
        message = data.get("msg") if isinstance(data, dict) else None
        raise _fail("upload request", f"unexpected reply {str(message or data)[:200]!r}", "Check pdf.mineru_api_url and the token")
    return str(inner["batch_id"]), [str(u) for u in inner["file_urls"]]


def _first_result(data: Any) -> dict[str, Any]:
    inner = data.get("data") if isinstance(data, dict) else None
    results = inner.get("extract_result") if isinstance(inner, dict) else None
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        raise _fail("status", f"unexpected reply {str(data)[:200]!r}", "Check pdf.mineru_api_url")
    return results[0]


def full_markdown(archive: bytes) -> str:
    """`full.md` of MinerU's result zip (else its only .md file)."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as z:
            names = [n for n in z.namelist() if n.endswith(".md")]
            name = next((n for n in names if n.rsplit("/", 1)[-1] == "full.md"), names[0] if len(names) == 1 else None)
            if name is None:
                raise _fail("download", f"the result holds no full.md (files: {z.namelist()[:10]})", "Retry the item")
            return z.read(name).decode("utf-8")
    except zipfile.BadZipFile:
        raise _fail("download", "the result is not a zip archive", "Retry the item", retryable=True) from None


async def convert_local(path: Path, name: str, url: str, timeout_s: float) -> MineruResult:
    """One PDF (`name`: the user's name for it) through a local MinerU server's `file_parse`."""
    started = time.monotonic()
    form = aiohttp.FormData()
    form.add_field("files", path.read_bytes(), filename=name, content_type="application/pdf")
    form.add_field("return_md", "true")
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as http:
            async with http.post(url.rstrip("/") + "/file_parse", data=form) as resp:
                data = await _json(resp, "file_parse")
    except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as exc:
        raise _fail("file_parse", f"cannot reach {url} ({type(exc).__name__})",
                    "Start it (`mineru-api --host 127.0.0.1 --port 8000`) or set pdf.mineru_local_url", retryable=True) from None
    markdown = _local_markdown(data)
    if not markdown.strip():
        raise UserError(f"{name}: MinerU returned no text for it", hint="Check the PDF opens, or try the vision strategy")
    return MineruResult(markdown, "local", time.monotonic() - started)


def _local_markdown(data: Any) -> str:
    if isinstance(data, dict) and isinstance(data.get("results"), dict):
        parts = [r.get("md_content", "") for r in data["results"].values() if isinstance(r, dict)]
        return "\n\n".join(str(p) for p in parts if p)
    if isinstance(data, dict) and "md_content" in data:
        return str(data["md_content"] or "")
    raise _fail("file_parse", f"unexpected reply {str(data)[:200]!r}", "Check that pdf.mineru_local_url is a MinerU server")
