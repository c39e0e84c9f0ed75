"""`loreforge serve` beyond one laptop (docs/security.md): the app a non-loopback serve runs — the token on every
route, Host names, same-origin writes, the body limit while reading (a real uvicorn server and a raw socket),
paths confined to LOREFORGE_HOME with download routes, `api_key_env` only among allowed names (a real echo
server on 127.0.0.1 shows what would leak), `trust_remote_code` refused; stored keys deleted with their last
config and masked in pieces; the port check of `serve`; Swagger UI served from the package."""

from __future__ import annotations

import io
import re
import socket
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from fake_llm import FakeLLM, Reply
from live_server import real_server
from loreforge.secrets import redact
from loreforge.service import Service
from loreforge.settings.server import ServerSettings
from loreforge.store.models import Secret
from loreforge.web import create_app

HOST = "lf.example"  # the name clients use, given with --allowed-host
BASE = f"http://{HOST}:8717"
ITEMS = [{"instruction": f"What is fact {i}?", "output": f"Fact {i} is {i * 7}."} for i in range(6)]


def served(**given: Any) -> ServerSettings:
    """The settings `loreforge serve --host 0.0.0.0 --allowed-host lf.example ...` runs with."""
    return ServerSettings.from_env(host="0.0.0.0", allowed_hosts=(HOST,), **given).with_token()


def auth(settings: ServerSettings) -> dict[str, str]:
    assert settings.token is not None
    return {"Authorization": f"Bearer {settings.token.get_secret_value()}"}


@contextmanager
def client_for(svc: Service, settings: ServerSettings, authorised: bool = True) -> Iterator[TestClient]:
    with TestClient(create_app(svc, settings), base_url=BASE, headers=auth(settings) if authorised else None) as c:
        yield c


@pytest.fixture()
def settings() -> ServerSettings:
    return served()


@pytest.fixture()
def client(svc: Service, settings: ServerSettings) -> Iterator[TestClient]:
    with client_for(svc, settings) as c:
        yield c


def _with_items(svc: Service, tmp_path: Path, project: str = "p") -> None:
    import json

    svc.create_project(project)
    data = tmp_path / "items.json"
    data.write_text(json.dumps(ITEMS), encoding="utf-8")
    svc.import_dataset(project, data)


# -- who may call ---------------------------------------------------------------------------------------

def test_a_non_loopback_serve_has_a_token_and_every_route_needs_it(svc: Service, settings: ServerSettings) -> None:
    assert not settings.loopback and settings.token is not None and len(settings.token.get_secret_value()) >= 32
    app = create_app(svc, settings)
    paths = ["/docs", "/openapi.json", "/static/swagger-ui/swagger-ui.css", "/login"]
    paths += [r.path.replace("{", "").replace("}", "") for r in app.routes if getattr(r, "path", "").startswith("/api")]
    with TestClient(app, base_url=BASE) as anonymous:
        for path in (p for p in paths if p != "/login"):
            for method in ("GET", "POST"):
                response = anonymous.request(method, path, headers={"Authorization": "Bearer wrong"} if method == "POST" else {})
                assert response.status_code == 401, (method, path, response.status_code)
                assert response.json()["error"] == "Unauthorized" and "access token" in response.json()["message"]
        assert anonymous.get("/login?token=wrong").status_code == 401
    with client_for(svc, settings) as c:
        assert c.get("/api/projects").status_code == 200
    token = settings.token.get_secret_value()  # type: ignore[union-attr]
    with TestClient(app, base_url=BASE) as browser:
        login = browser.get(f"/login?token={token}", follow_redirects=False)
        assert login.status_code == 303 and login.headers["location"] == "/docs"
        cookie = login.headers["set-cookie"]
        assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
        browser.cookies.set("loreforge_token", token)
        assert browser.get("/docs").status_code == 200 and browser.get("/api/projects").status_code == 200


def test_loopback_needs_no_token_unless_one_is_set(svc: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    local = ServerSettings.from_env().with_token()
    assert local.loopback and local.token is None
    with TestClient(create_app(svc, local), base_url="http://127.0.0.1:8717") as c:
        assert c.get("/api/projects").status_code == 200
    monkeypatch.setenv("LOREFORGE_TOKEN", "a-token-set-by-the-operator")
    guarded = ServerSettings.from_env()
    with TestClient(create_app(svc, guarded), base_url="http://localhost:8717") as c:
        assert c.get("/api/projects").status_code == 401
        assert c.get("/api/projects", headers={"Authorization": "Bearer a-token-set-by-the-operator"}).status_code == 200


def test_unknown_host_names_are_refused_even_with_the_token(svc: Service, settings: ServerSettings) -> None:
    """DNS rebinding: a page on attacker.example whose name now points at this server."""
    with client_for(svc, settings) as c:
        for host in ("attacker.example", "attacker.example:8717", "lf.example.attacker.example"):
            refused = c.get("/api/projects", headers={"Host": host})
            assert refused.status_code == 403 and "host name" in refused.json()["message"], host
        for host in ("lf.example:8717", "LF.EXAMPLE", "localhost:8717", "127.0.0.1", "[::1]:8717"):
            assert c.get("/api/projects", headers={"Host": host}).status_code == 200, host
    local = ServerSettings.from_env()
    with TestClient(create_app(svc, local), base_url="http://localhost:8717") as c:
        assert c.get("/api/projects", headers={"Host": "attacker.example"}).status_code == 403


def test_cross_site_form_posts_change_nothing(svc: Service, client: TestClient, tmp_path: Path) -> None:
    svc.create_project("p")
    upload = {"files": ("a.md", b"# A\n\nSome text about apples.\n")}
    cross = [{"Origin": "http://attacker.example"}, {"Origin": "null"}, {"Referer": "http://attacker.example/x"},
             {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site", "Origin": BASE}]
    for headers in cross:
        refused = client.post("/api/projects/p/documents", files=upload, headers=headers)
        assert refused.status_code == 403 and "Cross-site" in refused.json()["message"], headers
        imported = client.post("/api/projects/p/dataset/import", files={"file": ("a.json", b"[]")}, headers=headers)
        assert imported.status_code == 403, headers
    assert svc.list_documents("p") == []
    assert client.get("/api/projects/p/documents", headers={"Origin": "http://attacker.example"}).status_code == 200
    for headers in ({"Origin": BASE, "Sec-Fetch-Site": "same-origin"}, {}):  # its own page; a script
        assert client.post("/api/projects/p/documents", files=upload, headers=headers).status_code == 200
    assert len(svc.list_documents("p")) == 1


# -- the body limit, while reading ----------------------------------------------------------------------

def _response(sock: socket.socket, first: bytes = b"") -> tuple[int, str]:
    """Status and body of the (Content-Length framed) answer on `sock`."""
    data = first
    while True:
        head, sep, body = data.partition(b"\r\n\r\n")
        length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        if sep and length and len(body) >= int(length.group(1)):
            return int(head.split()[1]), body.decode("utf-8", "replace")
        block = sock.recv(65536)
        assert block, f"the server closed the connection without a whole answer: {data[:300]!r}"
        data += block


def test_a_body_over_the_limit_is_refused_while_reading(svc: Service, tmp_path: Path) -> None:
    settings = served(max_body_mb=1)
    svc.create_project("p")
    head = (f"POST /api/projects/p/documents HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer "
            f"{settings.token.get_secret_value()}\r\n"  # type: ignore[union-attr]
            "Content-Type: multipart/form-data; boundary=XX\r\n")
    part = b"--XX\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.md\"\r\n\r\n"
    with real_server(create_app(svc, settings)) as port:
        # A declared 1 GB body: refused from the headers alone, not one byte of it sent.
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.sendall((head + f"Content-Length: {1 << 30}\r\n\r\n").encode())
            status, body = _response(sock)
        assert status == 413 and "at most 1 MB" in body and f"Content-Length {1 << 30} bytes (1024.0 MB)" in body
        # A chunked body without a length: the 413 comes while the client is still sending.
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.sendall((head + "Transfer-Encoding: chunked\r\n\r\n").encode())
            chunk = part + b"x" * (64 * 1024 - len(part))
            sent = 0
            sock.settimeout(0.05)
            answered = b""
            while sent < 64 * 1024 * 1024 and not answered:
                try:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
                    chunk = b"x" * len(chunk)
                    answered = sock.recv(65536)
                except TimeoutError:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    break
            sock.settimeout(20)
            status, body = _response(sock, answered)
        assert status == 413 and "at most 1 MB" in body and "without Content-Length" in body
        assert sent < 64 * 1024 * 1024, "the server read the whole body before answering"
        assert not re.search(r"\d+\.\d MB", body.replace("1024.0 MB", "")), body  # never the bytes read so far
    assert svc.list_documents("p") == []


def test_a_declared_body_within_the_limit_still_works(svc: Service) -> None:
    settings = served(max_body_mb=1)
    svc.create_project("p")
    with client_for(svc, settings) as c:
        ok = c.post("/api/projects/p/documents", files={"files": ("a.md", b"# A\n\n" + b"text " * 50_000)})
        assert ok.status_code == 200 and ok.json()["items"][0]["status"] == "added"
        big = c.post("/api/projects/p/documents", files={"files": ("b.md", b"x" * (2 * 1024 * 1024))})
        assert big.status_code == 413 and big.json()["error"] == "TooLarge"


# -- paths the server writes ----------------------------------------------------------------------------

def test_export_paths_stay_in_the_project_and_come_back_as_downloads(svc: Service, client: TestClient, tmp_path: Path) -> None:
    _with_items(svc, tmp_path)
    outside = tmp_path / "outside"
    exports = Path(svc.get_project("p").path) / "exports"
    exports.mkdir(parents=True)
    (exports / "link").symlink_to(tmp_path, target_is_directory=True)
    for out in (str(outside), "../../../outside", "a/../../../../outside", "link/escaped", "/etc"):
        refused = client.post("/api/projects/p/export", json={"out": out, "include_all": True, "format": "alpaca"})
        assert refused.status_code == 403 and "--allow-path" in refused.json()["message"], out
    assert not outside.exists() and not (tmp_path / "escaped").exists()
    made = client.post("/api/projects/p/export", json={"out": "first", "include_all": True}).json()
    assert made["folder"] == str((exports / "first").resolve())
    assert client.get("/api/projects/p/exports").json() == ["first", "link"]
    archive = client.get("/api/projects/p/exports/first/zip")
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert "dataset_info.json" in names and "train_lora.yaml" in names
    info = client.get("/api/projects/p/exports/first/files/dataset_info.json")
    assert info.status_code == 200 and info.json()
    for bad in ("/api/projects/p/exports/first/files/../../../../loreforge.db", "/api/projects/p/exports/link/zip",
                "/api/projects/p/exports/..%2F..%2F..%2F/zip"):
        assert client.get(bad).status_code in (403, 404), bad


def test_allow_path_lets_the_operator_open_a_folder(svc: Service, tmp_path: Path) -> None:
    _with_items(svc, tmp_path)
    shared = tmp_path / "shared-disk"
    with client_for(svc, served(allow_paths=(shared,))) as c:
        ok = c.post("/api/projects/p/export", json={"out": str(shared / "x"), "include_all": True})
        assert ok.status_code == 200 and (shared / "x" / "dataset_info.json").exists()
        assert c.post("/api/projects/p/export", json={"out": str(tmp_path / "elsewhere"), "include_all": True}).status_code == 403


def test_training_and_model_folders_are_confined_and_remote_code_refused(svc: Service, client: TestClient, tmp_path: Path) -> None:
    _with_items(svc, tmp_path)
    outside = str(tmp_path / "outside")
    base = {"model_name_or_path": str(tmp_path / "no-model"), "dataset": "x", "dataset_dir": str(tmp_path)}
    for config in ({**base, "output_dir": outside}, {**base, "output_dir": "../../x"}, {**base, "logging_dir": outside},
                   {**base, "output_dir": "ok", "cache_dir": "/tmp"}):
        refused = client.post("/api/train", json={"config": config, "project": "p"})
        assert refused.status_code == 403, (config, refused.json())
    remote = client.post("/api/train", json={"config": {**base, "output_dir": "ok", "trust_remote_code": True}})
    assert remote.status_code == 403 and "--allow-remote-code" in remote.json()["message"]
    assert client.post("/api/train", json={"config": {**base, "trust_remote_code": "true"}}).status_code == 403
    over = client.post("/api/projects/p/train", json={"model": "m", "overrides": {"output_dir": outside}})
    assert over.status_code == 403
    assert client.post("/api/projects/p/train", json={"model": "m", "overrides": {"trust_remote_code": True}}).status_code == 403
    assert client.post("/api/tiny-model", json={"out": outside}).status_code == 403
    assert client.post("/api/export-model", json={"base_model": "m", "adapter": "a", "out": outside}).status_code == 403
    assert svc.list_runs() == [] and not Path(outside).exists()
    with client_for(svc, served(allow_remote_code=True)) as trusting:  # passes this check; the config check follows
        later = trusting.post("/api/train", json={"config": {"trust_remote_code": True}})
        assert later.status_code == 422 and "model_name_or_path" in later.json()["message"]


def test_a_relative_model_folder_lands_under_home(svc: Service, client: TestClient) -> None:
    made = client.post("/api/tiny-model", json={"out": "tiny", "shape": {"hidden_size": 32}})
    assert made.status_code == 200, made.json()
    assert made.json()["path"] == str((svc.config.home / "models" / "tiny").resolve())


def test_a_run_output_folder_downloads(svc: Service, client: TestClient, tmp_path: Path) -> None:
    from loreforge.store.models import Job, TrainRun

    folder = svc.config.home / "runs" / "r1"
    (folder / "checkpoint-1").mkdir(parents=True)
    (folder / "adapter_config.json").write_text('{"r": 8}', encoding="utf-8")
    (folder / "checkpoint-1" / "state.json").write_text("{}", encoding="utf-8")
    (folder / "leak").symlink_to(tmp_path)
    with svc.db.session() as session:
        run = TrainRun(job=Job(kind="train", status="completed", params={}, total=0, progress={}), name="r1",
                       base_model="m", finetuning_type="lora", config={}, output_dir=str(folder))
        session.add(run)
        session.flush()
        run_id = run.id
    names = zipfile.ZipFile(io.BytesIO(client.get(f"/api/runs/{run_id}/zip").content)).namelist()
    assert sorted(names) == ["adapter_config.json", "checkpoint-1/state.json"]
    assert client.get(f"/api/runs/{run_id}/files/adapter_config.json").json() == {"r": 8}
    assert client.get(f"/api/runs/{run_id}/files/leak/items.json").status_code == 403


# -- keys -----------------------------------------------------------------------------------------------

def test_api_key_env_names_only_allowed_variables(svc: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_PASSWORD", "hunter2-database-password")
    monkeypatch.setenv("ECHO_API_KEY", "sk-echo-allowed-key-0123456789")
    svc.create_project("p")
    with FakeLLM() as echo:
        with client_for(svc, served()) as c:
            for name in ("DATABASE_PASSWORD", "LOREFORGE_HOME", "env:DATABASE_PASSWORD", "echo_api_key"):
                refused = c.post("/api/projects/p/models", json={"provider": "custom", "model": "m", "name": "leak",
                                                                 "base_url": echo.base_url, "api_key_env": name})
                assert refused.status_code == 403 and "*_API_KEY" in refused.json()["message"], name
                assert c.post("/api/projects/p/models/leak/test").status_code == 404
            allowed = c.post("/api/projects/p/models", json={"provider": "custom", "model": "m", "name": "ok",
                                                             "base_url": echo.base_url, "api_key_env": "ECHO_API_KEY"})
            assert allowed.status_code == 201
            assert c.post("/api/projects/p/models/ok/test").json()["ok"] is True
        with client_for(svc, served(allowed_key_envs=("DATABASE_*",))) as c:  # the operator's choice
            assert c.post("/api/projects/p/models", json={"provider": "custom", "model": "m", "name": "db",
                                                          "base_url": echo.base_url, "api_key_env": "DATABASE_PASSWORD"}).status_code == 201
        seen = [r.headers.get("Authorization", "") for r in echo.requests]
    assert seen == ["Bearer sk-echo-allowed-key-0123456789"]  # the echo server saw the allowed key, nothing else
    assert not any("hunter2" in s or str(svc.config.home) in s for s in seen)


def test_a_stored_key_goes_with_its_last_config(svc: Service, client: TestClient) -> None:
    def stored() -> list[str]:
        with svc.db.session() as session:
            return list(session.scalars(select(Secret.name)))

    client.post("/api/projects", json={"name": "a"})
    client.post("/api/projects/a/models", json={"provider": "custom", "model": "m", "name": "k",
                                                "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-literal-1234567890"})
    client.post("/api/projects", json={"name": "b", "copy_from": "a"})  # the copy refers to the same stored key
    assert len(stored()) == 1
    assert client.delete("/api/projects/a/models/k").status_code == 200
    assert len(stored()) == 1
    assert client.delete("/api/projects/b/models/k").status_code == 200
    assert stored() == []
    client.post("/api/projects/a/models", json={"provider": "custom", "model": "m", "name": "k2",
                                                "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-literal-abcdefghij"})
    assert len(stored()) == 1
    assert client.delete("/api/projects/a").status_code == 200
    assert stored() == []


def test_pieces_of_a_key_echoed_by_a_provider_are_masked(svc: Service, client: TestClient) -> None:
    key = "sk-proj-Zq81xWv3Lr6NtY0pKd4H"
    client.post("/api/projects", json={"name": "p"})
    with FakeLLM() as fake:
        client.post("/api/projects/p/models", json={"provider": "custom", "model": "m", "name": "k",
                                                    "base_url": fake.base_url, "api_key": key})
        fake.script(Reply(status=401, error=f"Incorrect API key provided: {key[:12]}****{key[-10:]}; key={key}"))
        result = client.post("/api/projects/p/models/k/test").json()
    assert result["ok"] is False and "Incorrect API key" in result["error"]
    for start in range(len(key) - 7):
        assert key[start:start + 8] not in result["error"], key[start:start + 8]


@pytest.mark.parametrize(("text", "expected"), [
    ("the key sk-abcdefgh12345678 leaked", "the key *** leaked"),
    ("prefix sk-abcdefgh… suffix 12345678", "prefix ***… suffix ***"),
    ("short sk-abcd and 5678 stay", "short sk-abcd and 5678 stay"),
    ("twice sk-abcdefgh12345678sk-abcdefgh12345678", "twice ***"),
    ("nothing here", "nothing here"),
])
def test_redact_masks_the_key_and_pieces_of_eight_or_more(text: str, expected: str) -> None:
    assert redact(text, "sk-abcdefgh12345678") == expected
    assert redact("a short key abc", "abc") == "a short key ***"
    assert redact("no key", None) == "no key"


# -- serve itself ---------------------------------------------------------------------------------------

def test_serve_on_a_port_in_use_says_so_before_announcing(home: Path) -> None:
    from loreforge.cli import cli

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--port", str(port)])
    assert result.exit_code == 1, result.output
    assert f"port {port} is in use — pick another with --port" in result.output
    assert "LoreForge API on" not in result.output


def test_serve_beyond_loopback_prints_a_token_that_the_app_requires(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from loreforge.cli import cli

    started: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(app=app, **kw))
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", str(port), "--allowed-host", HOST])
    assert result.exit_code == 0, result.output
    assert "reachable from other machines" in result.output and started["host"] == "0.0.0.0"
    token = re.search(r"Access token \(generated[^)]*\): (\S+)", result.output).group(1)  # type: ignore[union-attr]
    with TestClient(started["app"], base_url=BASE) as c:
        assert c.get("/api/projects").status_code == 401
        assert c.get("/api/projects", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert c.post("/api/projects/x/export", json={"out": "/tmp/x"}, headers={"Authorization": f"Bearer {token}"}).status_code in (403, 404)


def test_docs_are_served_from_the_package(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"(?:src|href)=\"([^\"]+)\"", page.text)
    assert urls and all(u.startswith("/static/swagger-ui/") for u in urls), urls
    assert "cdn" not in page.text.lower() and "validatorUrl\": null" in page.text
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 500, url
    assert "SwaggerUIBundle" in client.get("/static/swagger-ui/swagger-ui-bundle.js").text
