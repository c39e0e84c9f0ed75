"""Ingest is safe under concurrency: parallel processes (released together by a barrier) and parallel REST uploads
into one project store every distinct file once with its own bytes, report every other copy as a duplicate of
the winner, and never fail with a store conflict, a missing file or an empty one — on SQLite and on PostgreSQL
(LOREFORGE_TEST_DATABASE_URL; skipped without it). Migration 0005 removes the duplicates an old store holds."""

from __future__ import annotations

import hashlib
import io
import logging
import multiprocessing
import os
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from loreforge.ingest import storage
from loreforge.service import Service
from loreforge.settings import AppConfig
from loreforge.store.db import Database, alembic_config

PG = os.environ.get("LOREFORGE_TEST_DATABASE_URL")
WORKERS = 6
NOW = datetime(2026, 11, 1, tzinfo=timezone.utc).isoformat(sep=" ")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'home' / 'loreforge.db'}"
        return
    if not PG:
        pytest.skip("no PostgreSQL server (set LOREFORGE_TEST_DATABASE_URL; CI does)")
    from sqlalchemy.engine import make_url

    name = f"lf_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _markdown(title: str, paragraphs: int) -> bytes:
    body = "".join(f"## Part {i}\n\n{title} paragraph {i}: " + "words and more words. " * 30 + "\n\n" for i in range(paragraphs))
    return f"# {title}\n\n{body}".encode()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _ingest_worker(home: str, url: str, files: list[str], barrier: Any, results: Any) -> None:
    """One process: open the store, wait for the others, ingest `files`, send back the report."""
    svc = Service(AppConfig(home=Path(home), database_url=url))
    try:
        barrier.wait(60)
        report = svc.ingest("p", files)
        results.put(report.model_dump(mode="json"))
    finally:
        svc.close()


def _variants(text: str) -> list[bytes]:
    """Different bytes with the same Markdown: line endings, a BOM, UTF-16."""
    crlf = text.replace("\n", "\r\n")
    return [text.encode(), crlf.encode(), text.replace("\n", "\r").encode(), b"\xef\xbb\xbf" + text.encode(),
            b"\xef\xbb\xbf" + crlf.encode(), text.encode("utf-16")]


def _check_store(svc: Service, items: list[dict[str, Any]], groups: list[list[bytes]]) -> None:
    """Each group (files with the same Markdown; the first one LF UTF-8) stored once, as one of its files with its
    own bytes and its text readable; every other file reported as a duplicate of that document; nothing failed;
    no staging or temporary files left behind."""
    assert [i for i in items if i["status"] not in ("added", "duplicate")] == []  # no conflict, no missing/empty file
    docs = svc.list_documents("p")
    assert len(docs) == len(groups)
    for doc in docs:
        original = Path(doc.original_path).read_bytes()
        assert _sha(original) == doc.content_hash  # the stored original is this document's own bytes
        group = next(g for g in groups if original in g)
        assert svc.document_text("p", doc.id) == group[0].decode()  # its text is there, and is its own
        assert doc.chunks > 0
        groups = [g for g in groups if g is not group]  # no two documents for one group
    added = [i for i in items if i["status"] == "added"]
    assert sorted(i["document_id"] for i in added) == sorted(d.id for d in docs)  # each document added once
    names = {d.id: d.filename for d in docs}
    for item in items:
        if item["status"] == "duplicate":
            assert item["warnings"] == [f"same content as document {item['document_id']} ({names[item['document_id']]}); not added again"]
    project_dir = Path(docs[0].original_path).parents[2]
    assert list((project_dir / "tmp").iterdir()) == []  # losers cleaned up their own staging, nothing else
    assert len(list((project_dir / "documents").iterdir())) == len(docs)


def test_parallel_processes_store_each_file_once(tmp_path: Path, database_url: str) -> None:
    """Six processes at once, each ingesting one shared file, its own different file of the same name, and its own
    encoding of one more text (same Markdown, different bytes)."""
    home = tmp_path / "home"
    svc = Service(AppConfig(home=home, database_url=database_url))
    svc.create_project("p")
    shared = _write(tmp_path / "handbook.md", _markdown("Shared handbook", 40))
    variants = _variants(_markdown("One text, six encodings", 15).decode())
    files: list[list[str]] = []
    for n in range(WORKERS):
        (tmp_path / f"w{n}").mkdir()
        own = _write(tmp_path / f"w{n}" / "samename.md", _markdown(f"Worker {n} notes", 20 + n))
        encoded = _write(tmp_path / f"w{n}" / f"encoded-{n}.txt", variants[n])
        files.append([str(shared), str(own), str(encoded)])
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(WORKERS), ctx.Queue()
    procs = [ctx.Process(target=_ingest_worker, args=(str(home), database_url, files[n], barrier, results)) for n in range(WORKERS)]
    for p in procs:
        p.start()
    reports = [results.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    items = [i for r in reports for i in r["items"]]
    assert len(items) == 3 * WORKERS
    _check_store(svc, items, [[shared.read_bytes()], variants] + [[Path(f[1]).read_bytes()] for f in files])
    assert sum(i["status"] == "duplicate" for i in items) == 2 * (WORKERS - 1)  # the shared file and the text, all but a winner
    svc.close()


def test_parallel_rest_uploads_store_each_file_once(tmp_path: Path) -> None:
    """Ten uploads of one file and eight different files all named samename.md, all at once."""
    from fastapi.testclient import TestClient

    from loreforge.web import create_app

    home = tmp_path / "home"
    svc = Service(AppConfig(home=home, database_url=f"sqlite:///{home / 'loreforge.db'}"))
    svc.create_project("p")
    same = _markdown("One file", 30)
    different = [_markdown(f"Different file {n}", 10 + n) for n in range(8)]
    uploads = [same] * 10 + different
    barrier = threading.Barrier(len(uploads))
    with TestClient(create_app(svc)) as client:
        def upload(body: bytes) -> dict[str, Any]:
            barrier.wait(60)
            reply = client.post("/api/projects/p/documents", files={"files": ("samename.md", io.BytesIO(body), "text/markdown")})
            assert reply.status_code == 200, reply.text
            return dict(reply.json()["items"][0])

        with ThreadPoolExecutor(len(uploads)) as pool:
            items = list(pool.map(upload, uploads))
        for doc in client.get("/api/projects/p/documents").json():
            assert client.get(f"/api/projects/p/documents/{doc['id']}/text").status_code == 200
    _check_store(svc, items, [[same]] + [[d] for d in different])
    assert [i["status"] for i in items[:10]].count("added") == 1
    assert all(i["status"] == "added" for i in items[10:])
    svc.close()


def test_a_left_over_folder_is_never_reused_or_removed(tmp_path: Path) -> None:
    """A folder already at the content's name (a crash, a deleted document) stays as it is; the document gets
    a folder of its own."""
    home = tmp_path / "home"
    svc = Service(AppConfig(home=home, database_url=f"sqlite:///{home / 'loreforge.db'}"))
    project = svc.create_project("p")
    data = _markdown("Left over", 3)
    source = tmp_path / "left.md"
    source.write_bytes(data)
    orphan = home / "projects" / str(project.id) / "documents" / _sha(data)[:16]
    orphan.mkdir(parents=True)
    (orphan / "someone-else.txt").write_text("keep me")
    item = svc.ingest("p", [source]).items[0]
    assert item.status == "added"
    doc = svc.get_document("p", item.document_id or 0)
    assert Path(doc.original_path).parent != orphan and Path(doc.original_path).read_bytes() == data
    assert [p.name for p in orphan.iterdir()] == ["someone-else.txt"]
    svc.delete_document("p", doc.id)
    assert (orphan / "someone-else.txt").read_text() == "keep me"
    svc.close()


def test_an_original_named_content_md_keeps_its_own_bytes(tmp_path: Path) -> None:
    """The Markdown is written beside the original, never over it (CRLF text: its Markdown differs)."""
    home = tmp_path / "home"
    svc = Service(AppConfig(home=home, database_url=f"sqlite:///{home / 'loreforge.db'}"))
    svc.create_project("p")
    data = b"# Title\r\n\r\nBody line one.\r\nBody line two.\r\n"
    source = tmp_path / "content.md"
    source.write_bytes(data)
    doc = svc.get_document("p", svc.ingest("p", [source]).items[0].document_id or 0)
    assert Path(doc.original_path).read_bytes() == data and doc.content_hash == _sha(data)
    assert svc.document_text("p", doc.id) == "# Title\n\nBody line one.\nBody line two.\n"
    svc.close()


def test_publish_takes_a_free_name_and_receive_is_private(tmp_path: Path) -> None:
    a = storage.stage(_write(tmp_path / "a.md", b"alpha"), tmp_path / "tmp", "x.md")
    b = storage.stage(_write(tmp_path / "b.md", b"alpha"), tmp_path / "tmp", "x.md")
    assert a.folder != b.folder and a.sha256 == b.sha256 == _sha(b"alpha")
    first, second = storage.publish(a, tmp_path / "docs"), storage.publish(b, tmp_path / "docs")
    assert first.name == _sha(b"alpha")[:16] and second.name.startswith(first.name + "-")
    assert (first / "x.md").read_bytes() == (second / "x.md").read_bytes() == b"alpha"
    one, n1 = storage.receive(io.BytesIO(b"one"), tmp_path / "tmp", 10)
    two, n2 = storage.receive(io.BytesIO(b"two"), tmp_path / "tmp", 10)
    assert one != two and (one.read_bytes(), two.read_bytes(), n1, n2) == (b"one", b"two", 3, 3)
    _, big = storage.receive(io.BytesIO(b"x" * (3 << 20)), tmp_path / "tmp", 10)
    assert 10 < big <= storage.COPY_BLOCK  # stopped after the first block past the limit


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- migration 0005 ----------------------------------------------------------------------------------------
def _store_at_0004(url: str) -> None:
    """Documents 1 and 3 have the same Markdown (3 came from a parallel ingest), 2 is different; document 3's
    chunk has a question and a dataset item."""
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
        run = conn.execute
        run(text("INSERT INTO projects (id, name, description, settings, created_at, updated_at) VALUES (1, 'p', '', '{}', :t, :t)"), {"t": NOW})
        for did, content, body in ((1, "c1", "same"), (2, "c2", "other"), (3, "c3", "same")):
            run(text("INSERT INTO documents (id, project_id, filename, stored_path, markdown_path, format, content_hash, text_hash, "
                     "size_bytes, char_count, toc, warnings, meta, split_settings, created_at, updated_at) VALUES (:id, 1, :f, :s, :m, 'md', "
                     ":c, :h, 1, 1, '[]', '[]', '{}', '{}', :t, :t)"),
                {"id": did, "f": f"d{did}.md", "s": f"documents/{content}/d{did}.md", "m": f"documents/{content}/content.md",
                 "c": content, "h": _sha(body.encode()), "t": NOW})
            run(text("INSERT INTO chunks (id, project_id, document_id, ordinal, text, start, \"end\", heading_path, size, overlap, carried, "
                     "edited, text_hash, created_at, updated_at) VALUES (:id, 1, :id, 0, :b, 0, 1, '', 1, 0, '', false, 'h', :t, :t)"),
                {"id": did, "b": body, "t": NOW})
        run(text("INSERT INTO questions (id, project_id, chunk_id, text, norm_text, stale, answered, source, tokens_in, tokens_out, "
                 "created_at, updated_at) VALUES (9, 1, 3, 'q?', 'q', false, true, 'llm', 0, 0, :t, :t)"), {"t": NOW})
        run(text("INSERT INTO dataset_items (id, project_id, question_id, chunk_id, question, answer, cot, tag, confirmed, score_reason, "
                 "grounding, labels, note, stale, source, tokens_in, tokens_out, system, created_at, updated_at) VALUES "
                 "(19, 1, 9, 3, 'q?', 'a', '', '', true, '', '{}', '[]', '', false, 'llm', 0, 0, '', :t, :t)"), {"t": NOW})
    engine.dispose()


def test_migration_removes_duplicate_documents_keeping_the_oldest(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "home").mkdir()
    _store_at_0004(database_url)
    with caplog.at_level(logging.WARNING, logger="loreforge.store"):
        db = Database(database_url)
    with db.engine.connect() as conn:
        docs = conn.execute(text("SELECT id FROM documents ORDER BY id")).scalars().all()
        chunks = conn.execute(text("SELECT id FROM chunks ORDER BY id")).scalars().all()
        question = conn.execute(text("SELECT chunk_id, stale FROM questions WHERE id = 9")).one()
        item = conn.execute(text("SELECT chunk_id, stale, confirmed FROM dataset_items WHERE id = 19")).one()
    assert docs == [1, 2] and chunks == [1, 2]  # document 3 repeated document 1's text: it goes with its chunk
    assert (question.chunk_id, bool(question.stale)) == (None, True)  # its question and item are kept, unlinked
    assert (item.chunk_id, bool(item.stale), bool(item.confirmed)) == (None, True, True)
    assert "removed 1 duplicate document(s): 3 (same as 1)" in caplog.text
    assert "1 question(s) of their chunks were kept" in caplog.text and "1/documents/c3" in caplog.text
    with pytest.raises(IntegrityError), db.engine.begin() as conn:  # the text is unique in a project from now on
        conn.execute(text("INSERT INTO documents (project_id, filename, stored_path, markdown_path, format, content_hash, text_hash, "
                          "size_bytes, char_count, toc, warnings, meta, split_settings, created_at, updated_at) SELECT project_id, "
                          "filename, stored_path, markdown_path, format, 'c4', text_hash, size_bytes, char_count, toc, warnings, meta, "
                          "split_settings, created_at, updated_at FROM documents WHERE id = 1"))
    db.dispose()


def test_migration_leaves_a_store_without_duplicates_alone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'clean.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
    engine.dispose()
    with caplog.at_level(logging.WARNING, logger="loreforge.store"):
        Database(url).dispose()
    assert "duplicate document" not in caplog.text
