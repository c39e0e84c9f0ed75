"""PDF through a vision model or MinerU (issue 15, feature 7): pages rendered and transcribed by the vision model (a
job, one item per page, through the runner) then one call that repairs the heading levels; the MinerU API (upload,
poll with a bounded timeout, download; the token from the secrets store, never in rows) and a local MinerU server's
`file_parse` — against the fake LLM (which answers image content parts) and a fake MinerU on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_llm import FakeLLM, Recorded, Reply
from fake_mineru import FakeMinerU
from fastapi.testclient import TestClient
from test_ingest_formats import make_pdf, text_at

from loreforge.errors import NeedsKey
from loreforge.store.models import LLMCall, PdfPage

TOKEN = "mineru-SECRET-token-0123456789"


def reader(req: Recorded) -> Reply:
    """A vision 'model' reading a page (each page's transcription names its image), and the heading repair."""
    if "headings" in req.prompt and '"level"' in req.prompt:
        ids = re.findall(r"^(\d+)\. #", req.prompt, re.M)
        return Reply(text=json.dumps({"headings": [{"id": int(i), "level": 1 if i == "1" else 2} for i in ids]}))
    assert req.images, "a page must come as an image content part"
    tag = hashlib.sha256(req.images[0].encode()).hexdigest()[:6]
    return Reply(text=f"```markdown\n# 第{tag}页的标题\n\n这一页讲营收，图像编号 {tag}。\n```")


@pytest.fixture()
def fake() -> Iterator[FakeLLM]:
    with FakeLLM(responder=reader) as server:
        yield server


@pytest.fixture()
def pdf(tmp_path: Path) -> Path:
    path = tmp_path / "scan.pdf"
    path.write_bytes(make_pdf([text_at(72, 700, f"Page {i}") for i in range(1, 4)]))
    return path


@pytest.fixture()
def proj(svc, fake: FakeLLM) -> str:  # type: ignore[no-untyped-def]
    svc.create_project("pdf")
    svc.set_setting("pdf", "split.min_length", 10)
    svc.add_model("pdf", "custom", "fake-vl", name="vl", base_url=fake.base_url, type="vision")
    return "pdf"


def test_vision_reads_every_page_then_repairs_the_headings(svc, proj: str, fake: FakeLLM, pdf: Path) -> None:  # type: ignore[no-untyped-def]
    view = svc.convert_pdf(proj, [pdf], strategy="vision")
    assert [j.kind for j in view.jobs] == ["pdf_pages"] and view.jobs[0].total == 3 and view.jobs[0].status == "completed"
    assert len(fake.chat_requests()) == 3 + 1  # a call per page (concurrent, through the runner), one heading repair
    (item,) = view.documents
    assert item.status == "added" and item.chunks >= 1
    text = svc.document_text(proj, item.document_id)
    heads = re.findall(r"^(#+) ", text, re.M)
    assert heads == ["#", "##", "##"] and "```" not in text and text.count("这一页讲营收") == 3  # levels repaired across pages
    assert svc.get_document(proj, item.document_id).pages == 3
    with svc.db.session() as s:
        stages = sorted((c.stage, c.prompt_name) for c in s.query(LLMCall))
        pages = s.query(PdfPage).count()
    assert stages == [("pdf_pages", "pdf_headings")] + [("pdf_pages", "pdf_page")] * 3 and pages == 3
    assert [(r.rows, r.calls) for r in svc.usage(proj).per_row if r.stage == "pdf_pages"] == [(3, 4)]
    fake.reset()
    again = svc.convert_pdf(proj, [pdf], strategy="vision")
    assert again.jobs[0].total == 0 and again.documents[0].status == "duplicate"  # pages kept: nothing read twice
    assert len(fake.chat_requests()) == 1  # only the heading repair ran again


def test_a_scanned_pdf_points_to_the_conversions(svc, proj: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(612, 792)
    scan = tmp_path / "blank-scan.pdf"
    with scan.open("wb") as fh:
        writer.write(fh)
    error = svc.ingest(proj, [scan]).items[0].error or ""
    assert "scanned image" in error and "loreforge pdf convert PROJECT FILE --strategy vision" in error and "mineru-api" in error


def test_mineru_api_upload_poll_download_with_the_stored_token(svc, proj: str, pdf: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with FakeMinerU(token=TOKEN, polls_before_done=2) as mineru:
        svc.set_setting(proj, "pdf.mineru_api_url", mineru.url)
        svc.set_setting(proj, "pdf.mineru_poll_s", 0.05)
        with pytest.raises(NeedsKey, match="No MinerU API token"):
            svc.convert_pdf(proj, [pdf], strategy="mineru-api")
        assert svc.set_mineru_key(proj, TOKEN).stored == "stored (encrypted) ••••••"
        view = svc.convert_pdf(proj, [pdf], strategy="mineru-api")
        assert view.jobs[0].kind == "pdf_mineru" and view.jobs[0].status == "completed", view.jobs[0].failures
        assert view.documents[0].status == "added"
        assert [r[1] for r in mineru.requests].count("/api/v4/extract-results/batch/batch1") == 3  # polled until done
        assert {r[2] for r in mineru.requests if r[1].startswith("/api/")} == {f"Bearer {TOKEN}"}
        assert all(r[2] == "" for r in mineru.requests if not r[1].startswith("/api/"))  # never sent to upload/download URLs
    text = svc.document_text(proj, view.documents[0].document_id)
    assert text.startswith("# scan.pdf 的标题") and "46.8 亿元" in text
    raw = (svc.config.home / "loreforge.db").read_bytes()
    assert TOKEN.encode() not in raw  # encrypted in the secrets store, in no row, job or log
    with sqlite3.connect(svc.config.home / "loreforge.db") as conn:
        assert all(TOKEN not in str(row) for row in conn.execute("SELECT params, error FROM jobs"))


def test_mineru_waits_a_bounded_time_and_local_server_file_parse(svc, proj: str, pdf: Path) -> None:  # type: ignore[no-untyped-def]
    svc.set_mineru_key(proj, TOKEN)
    with FakeMinerU(token=TOKEN, never_done=True) as mineru:
        for key, value in {"pdf.mineru_api_url": mineru.url, "pdf.mineru_poll_s": 0.05, "pdf.mineru_timeout_s": 0.3}.items():
            svc.set_setting(proj, key, value)
        started = time.monotonic()
        view = svc.convert_pdf(proj, [pdf], strategy="mineru-api")
        assert time.monotonic() - started < 10
        assert view.jobs[0].status == "completed_with_failures" and "not done after 0.3 s" in (view.jobs[0].failures[0].error or "")
        assert view.documents[0].status == "failed" and "not converted yet" in (view.documents[0].error or "")
    with FakeMinerU() as local:
        svc.set_setting(proj, "pdf.mineru_local_url", local.url)
        made = svc.convert_pdf(proj, [pdf], strategy="mineru-local")
        assert made.documents[0].status == "added" and local.requests[0][1] == "/file_parse"
    bad = svc.convert_pdf(proj, [pdf.with_name("nope.pdf")], strategy="mineru-local")
    assert bad.jobs == [] and "no such file" in (bad.documents[0].error or "")


def test_pdf_convert_over_the_api(svc, proj: str, pdf: Path) -> None:  # type: ignore[no-untyped-def]
    from loreforge.web.app import create_app

    with FakeMinerU() as local:
        svc.set_setting(proj, "pdf.mineru_local_url", local.url)
        client = TestClient(create_app(svc))
        sent = client.post(f"/api/projects/{proj}/pdf/convert", files=[("files", ("report.pdf", pdf.read_bytes(), "application/pdf"))],
                           data={"strategy": "mineru-local"})
        assert sent.status_code == 202 and sent.json()["started_in_background"]
        for _ in range(200):
            if svc.list_documents(proj):
                break
            time.sleep(0.05)
        assert [d.filename for d in svc.list_documents(proj)] == ["report.pdf"]
        assert client.put(f"/api/projects/{proj}/pdf/mineru-key", json={"key": TOKEN}).json()["stored"].startswith("stored")
