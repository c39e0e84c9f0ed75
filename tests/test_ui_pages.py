"""The web UI's pages at the HTTP level (httpx through the app, no browser): every page renders in both
languages, every string is in both message files, HTML is escaped, errors show the CLI's text where they happen,
select-all actions take the filter, the SSE progress stream, the language switch, and the server's guard (token,
same origin) in front of the pages. The browser flow is tests/test_ui_browser.py."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from loreforge.filters import DatasetFilter
from loreforge.service import Service
from loreforge.settings import AppConfig
from loreforge.web.app import create_app
from tests.conftest import examples

UI = Path(__file__).resolve().parent.parent / "loreforge" / "web" / "ui"
HX = {"HX-Request": "true"}
P = "/ui/p/facts"


@pytest.fixture(scope="module")
def app_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Service]]:
    """One project with the example documents taken through the whole dataset half offline (extractive)."""
    service = Service(AppConfig.from_env(tmp_path_factory.mktemp("ui-home")))
    service.create_project("facts")
    service.ingest("facts", examples())
    service.build_tags("facts")
    service.generate_questions("facts")
    service.generate_answers("facts")
    service.check_dataset("facts")
    with TestClient(create_app(service)) as client:
        yield client, service
    service.close()


@pytest.fixture()
def client(app_service: tuple[TestClient, Service]) -> TestClient:
    client = app_service[0]
    client.cookies.clear()
    return client


def pages(service: Service) -> list[str]:
    chunk = service.list_chunks("facts", page_size=1).items[0].id
    item = service.list_dataset("facts", page_size=1).items[0].id
    document = service.list_documents("facts")[0].id
    job = service.list_jobs("facts")[0].id
    return ["/ui", P, f"{P}/documents", f"{P}/documents/{document}", f"{P}/chunks", f"{P}/chunks?min_size=100&has_questions=true",
            f"{P}/chunks/{chunk}", f"{P}/questions", f"{P}/questions?view=tree", f"{P}/questions?view=tree&untagged=1",
            f"{P}/dataset", f"{P}/dataset?grounding_failed=true&sort=-score&min_rating=0", f"{P}/dataset/{item}?pos=1",
            f"{P}/export", f"{P}/jobs", "/ui/jobs", f"/ui/jobs/{job}", f"{P}/usage", f"{P}/settings", f"{P}/prompts/questions"]


# -- messages ------------------------------------------------------------------------------------------------

def _used_keys() -> set[str]:
    """Every message key the templates and page routes name, the dynamic ones expanded from their vocabularies."""
    from loreforge.defaults import DATASET_SORTS
    from loreforge.jobs.status import ACTIVE, FINAL
    from loreforge.service.kinds import KINDS
    from loreforge.web.ui import pages_documents, pages_export, pages_questions

    found: set[str] = set()
    for path in UI.rglob("*"):
        if path.suffix in (".html", ".py"):
            text = path.read_text(encoding="utf-8")
            found |= set(re.findall(r"""\bt\(\s*["']([a-zA-Z0-9_.\-]+)["']""", text))
            found |= set(re.findall(r"""\)\(\s*"([a-z_]+\.[a-z_\-]+)\"""", text))
            found |= set(re.findall(r""""([a-z]+\.[a-z_]+)"(?= if | else|\n|$)""", text))
    found = {k for k in found if not k.endswith((".", "_")) and "." in k and not k.endswith(".html")}
    dynamic = {"status": [*ACTIVE, *FINAL, "interrupted"], "kind": [*KINDS, "probe_reword", "pipeline"], "sort": DATASET_SORTS,
               "nav": ["documents", "chunks", "questions", "dataset", "export", "jobs", "usage", "settings"],
               "tags.mode_": pages_documents.TAG_MODES, "questions.mode_": pages_questions.MODES, "export.cot_": pages_export.COT_MODES,
               "settings.lang_": ["zh", "en"]}
    for prefix, values in dynamic.items():
        found |= {f"{prefix}{'' if prefix.endswith('_') else '.'}{v}" for v in values}
    return found


def test_every_message_is_in_both_languages() -> None:
    en = json.loads((UI / "messages" / "en.json").read_text(encoding="utf-8"))
    zh = json.loads((UI / "messages" / "zh-CN.json").read_text(encoding="utf-8"))
    assert set(en) == set(zh), f"only in en: {set(en) - set(zh)}; only in zh-CN: {set(zh) - set(en)}"
    used = _used_keys()
    assert not used - set(en), f"keys missing from the message files: {sorted(used - set(en))}"
    for key in en:  # the same {fields} in both, so a message never fails to format in one language
        assert set(re.findall(r"\{(\w+)", en[key])) == set(re.findall(r"\{(\w+)", zh[key])), key


def test_every_page_renders_in_both_languages(app_service: tuple[TestClient, Service]) -> None:
    client, service = app_service
    for lang, word in (("en", "Dataset"), ("zh-CN", "数据集")):
        client.cookies.set("loreforge_lang", lang)
        for url in pages(service):
            response = client.get(url)
            assert response.status_code == 200, (url, response.text[:500])
            assert f'<html lang="{lang}">' in response.text and "LoreForge" in response.text, url
            if url.startswith(P):
                assert word in response.text and 'class="twin" href="/api/' in response.text, url  # nav, JSON twin
            assert not re.search(r"\b(?:nav|list|jobs|dataset|chunks)\.[a-z_]+\b(?![\w/.-]*\.(?:js|css|json))", _visible(response.text)), url
    client.cookies.clear()


def _visible(html: str) -> str:
    """The page's text outside tags, attributes and scripts (where a missing key would show)."""
    html = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_root_sends_a_browser_to_the_ui_and_the_static_files_are_served(client: TestClient) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/ui"
    for name in ("vendor/htmx.min.js", "vendor/htmx-ext-sse.js", "vendor/uPlot.iife.min.js", "app.js", "app.css"):
        assert client.get(f"/ui/static/{name}").status_code == 200, name
    assert "htmx.org      2.0.11" in (UI / "static/vendor/VERSIONS").read_text()  # pinned 2.0.x, vendored


def test_package_data_covers_every_ui_file() -> None:
    import fnmatch
    import tomllib

    root = UI.parent.parent
    patterns = tomllib.loads((root.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["loreforge"]
    for path in UI.rglob("*"):
        if path.is_file() and path.suffix != ".py" and "__pycache__" not in path.parts:
            relative = path.relative_to(root).as_posix()
            assert any(fnmatch.fnmatch(relative, p) and relative.count("/") == p.count("/") for p in patterns), relative


# -- safety --------------------------------------------------------------------------------------------------

def test_html_in_data_renders_as_text(app_service: tuple[TestClient, Service]) -> None:
    client, service = app_service
    item = service.list_dataset("facts", page_size=1).items[0]
    evil = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    service.edit_dataset_item("facts", item.id, question=evil, note=evil, tag=evil)
    try:
        for url in (f"{P}/dataset", f"{P}/dataset/{item.id}", f"{P}/dataset?text=script"):
            text = client.get(url).text
            assert "&lt;script&gt;alert(" in text, url
            assert "<script>alert(" not in text and "<img src=x" not in text, url
    finally:
        service.edit_dataset_item("facts", item.id, question=item.question, note="", tag=item.tag)
    named = service.create_project("<b>bold<b>")
    try:
        text = client.get("/ui").text
        assert "&lt;b&gt;bold&lt;b&gt;" in text and "<b>bold<b>" not in text
        assert client.get("/ui/p/%3Cb%3Ebold%3Cb%3E/chunks").status_code == 200
    finally:
        service.delete_project(named.id)


def test_errors_show_the_cli_text_where_they_happen(client: TestClient) -> None:
    from loreforge.errors import UserError

    from loreforge.service.projects import _check_name

    with pytest.raises(UserError) as raised:
        _check_name("123")
    expected = str(raised.value)
    answer = client.post(f"{P}/rename", data={"name": "123"}, headers=HX)
    assert answer.status_code == 400 and 'class="msg error"' in answer.text
    assert _unescaped(answer.text).count(expected) == 1 and "<html" not in answer.text  # a fragment for the form's slot
    page = client.get("/ui/p/no-such-project/chunks")
    assert page.status_code == 404 and "No project named &#39;no-such-project&#39;" in page.text and "<html" in page.text
    bad = client.get(f"{P}/chunks?min_size=-3")
    assert bad.status_code == 400 and "min_size" in bad.text


def _unescaped(html: str) -> str:
    import html as markup

    return markup.unescape(html)


def test_a_served_ui_keeps_the_token_and_same_origin_rules(tmp_path: Path) -> None:
    from loreforge.settings.server import ServerSettings

    service = Service(AppConfig.from_env(tmp_path))
    service.create_project("p")
    settings = ServerSettings(token="s3cret-token-value")  # type: ignore[arg-type]
    with TestClient(create_app(service, settings), base_url="http://127.0.0.1:8717") as browser:
        assert browser.get("/ui").status_code == 401
        login = browser.get("/login?token=s3cret-token-value&next=/ui/p/p/chunks", follow_redirects=False)
        assert login.status_code == 303 and login.headers["location"] == "/ui/p/p/chunks"
        assert browser.get("/login?token=s3cret-token-value&next=//evil.example/x", follow_redirects=False).headers["location"] == "/docs"
        assert browser.get("/ui/p/p/chunks").status_code == 200
        cross = browser.post("/ui/projects", data={"name": "x"}, headers={"Origin": "http://evil.example", **HX})
        assert cross.status_code == 403 and "Cross-site" in cross.text
        same = browser.post("/ui/projects", data={"name": "x"}, headers={"Origin": "http://127.0.0.1:8717", "Sec-Fetch-Site": "same-origin", **HX})
        assert same.status_code == 204 and same.headers["HX-Redirect"] == "/ui/p/x/documents"
    service.close()


def test_the_language_switch_remembers_and_stays_on_this_server(client: TestClient) -> None:
    switched = client.get("/ui/lang?set=zh-CN&next=/ui/p/facts/chunks", follow_redirects=False)
    assert switched.headers["location"] == "/ui/p/facts/chunks" and "loreforge_lang=zh-CN" in switched.headers["set-cookie"]
    assert "文本块" in client.get("/ui/p/facts/chunks").text
    assert client.get("/ui/lang?set=en&next=https://evil.example", follow_redirects=False).headers["location"] == "/ui"
    client.cookies.clear()
    assert "<h1>项目</h1>" in client.get("/ui", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text  # no cookie: the browser's wish
    assert "<h1>Projects</h1>" in client.get("/ui", headers={"Accept-Language": "fr"}).text


# -- actions -------------------------------------------------------------------------------------------------

def test_select_all_matching_hands_the_filter_to_the_job(app_service: tuple[TestClient, Service]) -> None:
    client, service = app_service
    document = service.list_documents("facts")[0].id
    matching = service.list_chunks("facts", document_id=document, page_size=1).total
    answer = client.post(f"{P}/chunks/batch", headers=HX, data={"action": "questions", "all": "1", "force": "on", "f_document_id": str(document)})
    assert answer.status_code == 200 and "sse-connect" in answer.text, answer.text[:300]
    job = service.list_jobs("facts", kind="questions")[0]
    assert job.params["filter"] == {"document_id": document} and job.total == matching < service.list_chunks("facts").total
    assert client.post(f"{P}/chunks/batch", headers=HX, data={"action": "questions"}).text.count("Nothing selected") == 1


def test_dataset_batch_on_everything_matching_and_on_a_selection(app_service: tuple[TestClient, Service]) -> None:
    client, service = app_service
    failed = DatasetFilter(grounding_failed=False)
    total = service.list_dataset("facts", failed).total
    answer = client.post(f"{P}/dataset/batch", headers=HX, data={"action": "confirm", "all": "1", "f_grounding_failed": "false"})
    assert answer.status_code == 200 and f"({total} matched)" in answer.text and answer.headers["HX-Trigger"] == "lf-changed"
    assert service.list_dataset("facts", DatasetFilter(confirmed=True)).total == total
    first = service.list_dataset("facts", page_size=2).items
    client.post(f"{P}/dataset/batch", headers=HX, data={"action": "unconfirm", "ids": [str(i.id) for i in first]})
    assert all(not service.show_dataset_item("facts", i.id).confirmed for i in first)
    client.post(f"{P}/dataset/batch", headers=HX, data={"action": "unconfirm", "all": "1"})
    assert service.list_dataset("facts", DatasetFilter(confirmed=True)).total == 0


def test_review_actions_edit_rate_and_confirm_one_item(app_service: tuple[TestClient, Service]) -> None:
    client, service = app_service
    item = service.list_dataset("facts", page_size=1).items[0]
    url = f"{P}/dataset/{item.id}"
    assert client.post(f"{url}/edit", headers=HX, data={"question": item.question, "answer": item.answer + " (edited)", "cot": "",
                                                        "tag": item.tag, "note": "checked by hand", "labels": "a, b"}).status_code == 200
    client.post(f"{url}/rate", headers=HX, data={"rating": "4"})
    client.post(f"{url}/confirm", headers=HX, data={"confirmed": "true"})
    view = service.show_dataset_item("facts", item.id)
    assert view.answer.endswith("(edited)") and view.note == "checked by hand" and view.labels == ["a", "b"]
    assert view.rating == 4 and view.confirmed
    plain = client.post(f"{url}/confirm", data={"confirmed": "false"}, follow_redirects=False)  # a form post without htmx
    assert plain.status_code == 303 and plain.headers["location"] == url


def test_the_job_stream_renders_progress_as_html(app_service: tuple[TestClient, Service]) -> None:
    client, service = app_service
    job = service.list_jobs("facts", kind="answers")[0]
    with client.stream("GET", f"/ui/jobs/{job.id}/events") as stream:
        body = "".join(stream.iter_text())
    events = [block for block in body.split("\n\n") if block.strip()]
    assert events[0].startswith("event: progress\ndata: ") and events[-1].startswith("event: end\ndata: ")
    assert f'data-job="{job.id}"' in events[-1] and 'data-status="completed"' in events[-1]
    indicator = client.get("/ui/jobs/indicator").text
    assert 'id="jobs-indicator"' in indicator and "no jobs running" in indicator


def test_import_lists_bad_lines_and_export_gives_the_folder(app_service: tuple[TestClient, Service]) -> None:
    client, service = app_service
    lines = b'{"instruction": "Q1?", "output": "A1"}\nnot json\n{"instruction": "Q2?", "output": "A2"}\n'
    bad = client.post(f"{P}/dataset/import", headers=HX, files={"file": ("pairs.jsonl", lines)}, data={"format": "alpaca"})
    assert bad.status_code == 422 and "<td class=\"num\">2</td>" in bad.text
    good = client.post(f"{P}/dataset/import", headers=HX, files={"file": ("pairs.jsonl", lines)},
                       data={"format": "alpaca", "keep_good_lines": "on"})
    assert good.status_code == 200 and "2 items imported" in good.text
    client.post(f"{P}/dataset/batch", headers=HX, data={"action": "confirm", "all": "1"})
    done = client.post(f"{P}/export", headers=HX, data={"format": "llamafactory", "out": "ui-bundle", "val_size": "0.2", "force": "on"})
    assert done.status_code == 200 and "dataset_info.json" in done.text, done.text[:400]
    folder = Path(re.search(r'id="export-path" value="([^"]+)"', done.text).group(1))
    assert (folder / "dataset_info.json").is_file() and folder.name == "ui-bundle"
    zipped = client.get(f"/api/projects/{service.get_project('facts').id}/exports/ui-bundle/zip")
    assert zipped.status_code == 200 and zipped.content[:2] == b"PK"
