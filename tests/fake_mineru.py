"""A small fake of MinerU for tests, on 127.0.0.1: its cloud API (v4: ask for an upload URL, PUT the file, poll the
batch, download the result zip holding `full.md`) and a local MinerU server's `POST /file_parse`.

    with FakeMinerU(token="t0k", polls_before_done=2) as mineru:
        ... settings pdf.mineru_api_url = mineru.url, pdf.mineru_local_url = mineru.url ...
        mineru.requests  # (method, path, Authorization header) of each request

`never_done` keeps the task running (to test the bounded wait); `fail` makes it fail with a message.
"""

from __future__ import annotations

import asyncio
import io
import threading
import zipfile
from typing import Any

from aiohttp import web


def markdown_of(name: str, data: bytes) -> str:
    return f"# {name} 的标题\n\n## 第一节\n\n这份 PDF 有 {len(data)} 个字节，MinerU 把它转成了 Markdown。营收 46.8 亿元。\n"


class FakeMinerU:
    def __init__(self, token: str = "mineru-secret-token", polls_before_done: int = 1, never_done: bool = False, fail: str = "") -> None:
        self.token, self.polls_before_done, self.never_done, self.fail = token, polls_before_done, never_done, fail
        self.requests: list[tuple[str, str, str]] = []
        self.files: dict[str, tuple[str, bytes]] = {}
        self.polls: dict[str, int] = {}
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 2**20, middlewares=[self._record])
        app.router.add_post("/api/v4/file-urls/batch", self._batch)
        app.router.add_put("/upload/{batch}", self._upload)
        app.router.add_get("/api/v4/extract-results/batch/{batch}", self._status)
        app.router.add_get("/download/{batch}.zip", self._download)
        app.router.add_post("/file_parse", self._file_parse)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path, request.headers.get("Authorization", "")))
        return await handler(request)

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    async def _batch(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"code": -1, "msg": "token invalid"}, status=401)
        body = await request.json()
        batch = f"batch{len(self.files) + 1}"
        self.files[batch] = (body["files"][0]["name"], b"")
        return web.json_response({"code": 0, "data": {"batch_id": batch, "file_urls": [f"{self.url}/upload/{batch}"]}})

    async def _upload(self, request: web.Request) -> web.Response:
        batch = request.match_info["batch"]
        self.files[batch] = (self.files[batch][0], await request.read())
        return web.Response(status=200)

    async def _status(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"code": -1, "msg": "token invalid"}, status=401)
        batch = request.match_info["batch"]
        self.polls[batch] = self.polls.get(batch, 0) + 1
        name = self.files[batch][0]
        if self.fail:
            result = {"file_name": name, "state": "failed", "err_msg": self.fail}
        elif self.never_done or self.polls[batch] <= self.polls_before_done:
            result = {"file_name": name, "state": "running"}
        else:
            result = {"file_name": name, "state": "done", "full_zip_url": f"{self.url}/download/{batch}.zip"}
        return web.json_response({"code": 0, "data": {"batch_id": batch, "extract_result": [result]}})

    async def _download(self, request: web.Request) -> web.Response:
        name, data = self.files[request.match_info["batch"]]
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            z.writestr("full.md", markdown_of(name, data))
            z.writestr("layout.json", "{}")
        return web.Response(body=out.getvalue(), content_type="application/zip")

    async def _file_parse(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form["files"]
        data = upload.file.read()  # type: ignore[union-attr]
        name = upload.filename  # type: ignore[union-attr]
        return web.json_response({"backend": "pipeline", "results": {name.rsplit(".", 1)[0]: {"md_content": markdown_of(name, data)}}})

    def __enter__(self) -> FakeMinerU:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def start() -> None:
            self._runner = web.AppRunner(self.app(), access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = self._runner.addresses[0][1]

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(start())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-mineru", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._runner is not None
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
