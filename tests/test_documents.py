"""Ingest, duplicates, re-splitting and TOC through the service layer (real files, real SQLite)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from conftest import FORMATS, financial, write
from loreforge.errors import Conflict, NotFound
from loreforge.service import Service, Source, Upload
from loreforge.service.demo import example_documents
from loreforge.store.models import Chunk, Question

SAMPLE = "# 标题\n\n## 第一节\n\n" + "第一节的内容。" * 60 + "\n\n## 第二节\n\n" + "第二节的内容！" * 60 + "\n"


def _chunks(svc: Service, project: str, document_id: int | None = None) -> list:
    return svc.list_chunks(project, document_id=document_id, page_size=1000).items


def test_ingest_the_financial_corpus(svc: Service, project: str) -> None:
    report = svc.ingest(project, financial())
    assert (report.added, report.duplicates, report.failed) == (5, 0, 0)
    docs = svc.list_documents(project)
    assert len(docs) == 5
    for doc in docs:
        assert doc.chunks > 0
        assert Path(doc.original_path).is_file() and Path(doc.markdown_path).is_file()
        assert Path(doc.original_path).parent == Path(doc.markdown_path).parent  # Markdown beside the original
        text = svc.document_text(project, doc.id)
        chunks = _chunks(svc, project, doc.id)
        assert all(c.text.strip() for c in chunks)
        assert all(c.size <= 1500 for c in chunks)
        joined = "".join(text[c.start : c.end] for c in chunks)
        assert "".join(joined.split()) == "".join(text.split())  # nothing lost
    counts = svc.get_project(project).counts
    assert counts.documents == 5 and counts.chunks == sum(d.chunks for d in docs)


def test_same_content_twice_is_not_duplicated(svc: Service, project: str, tmp_path: Path) -> None:
    a = write(tmp_path / "a.md", SAMPLE)
    b = write(tmp_path / "copy-of-a.md", SAMPLE)
    c = write(tmp_path / "a-gbk.txt", SAMPLE, encoding="gb18030")  # same text, other bytes
    report = svc.ingest(project, [a, b, c])
    assert [i.status for i in report.items] == ["added", "duplicate", "duplicate"]
    assert report.items[1].document_id == report.items[0].document_id
    assert "same content" in report.items[1].warnings[0]
    assert len(svc.list_documents(project)) == 1
    again = svc.ingest(project, [a])
    assert again.items[0].status == "duplicate"


def test_batch_with_bad_files_goes_on(svc: Service, project: str, tmp_path: Path) -> None:
    good = write(tmp_path / "good.md", SAMPLE)
    empty = write(tmp_path / "empty.txt", "")
    binary = tmp_path / "binary.md"
    binary.write_bytes(bytes(range(256)) * 40)
    unsupported = write(tmp_path / "sheet.xlsx", "x")
    missing = tmp_path / "missing.md"
    encrypted = FORMATS / "pdf-r4-user-password.pdf"
    report = svc.ingest(project, [empty, binary, good, unsupported, missing, encrypted])
    status = {i.filename: i.status for i in report.items}
    assert status == {
        "empty.txt": "failed",
        "binary.md": "failed",
        "good.md": "added",
        "sheet.xlsx": "failed",
        "missing.md": "failed",
        "pdf-r4-user-password.pdf": "failed",
    }
    errors = {i.filename: i.error or "" for i in report.items}
    assert "empty.txt" in errors["empty.txt"] and "empty" in errors["empty.txt"]
    assert "binary.md" in errors["binary.md"]
    assert ".xlsx" in errors["sheet.xlsx"] and ".pdf" in errors["sheet.xlsx"]
    assert "password" in errors["pdf-r4-user-password.pdf"]
    assert report.failed == 5 and report.added == 1
    # nothing of the failed files is left behind
    docs = svc.list_documents(project)
    assert [d.filename for d in docs] == ["good.md"]
    folder = Path(svc.get_project(project).path) / "documents"
    assert len(list(folder.iterdir())) == 1


def test_upload_limit(svc: Service, project: str, tmp_path: Path) -> None:
    svc.set_setting(project, "ingest.max_file_mb", "0.001")
    big = write(tmp_path / "big.md", "长" * 2000)
    report = svc.ingest(project, [big])
    assert report.failed == 1
    assert "too large" in (report.items[0].error or "") and "ingest.max_file_mb" in (report.items[0].error or "")
    item = svc.ingest(project, [Upload("big.md", io.BytesIO(("长" * 2000).encode()))]).items[0]
    assert item.status == "failed" and "ingest.max_file_mb" in (item.error or "")


@pytest.mark.parametrize("name", ["../../etc/evil.md", "/abs/path/evil.md", "..\\..\\win.md", "sub/../../x.md"])
def test_upload_names_are_stored_safely(svc: Service, project: str, name: str) -> None:
    item = svc.ingest(project, [Upload(name, io.BytesIO(SAMPLE.encode()))]).items[0]
    assert item.status == "added", item.error
    doc = svc.get_document(project, item.document_id)
    root = Path(svc.get_project(project).path).resolve()
    stored = Path(doc.original_path).resolve()
    assert root in stored.parents
    assert doc.filename == name  # the user's name is kept as data
    svc.delete_document(project, doc.id)


def test_resplit_one_document_leaves_others(svc: Service, project: str, tmp_path: Path) -> None:
    a = write(tmp_path / "a.md", SAMPLE)
    b = write(tmp_path / "b.md", SAMPLE.replace("第", "甲"))
    report = svc.ingest(project, [a, b])
    id_a, id_b = (i.document_id for i in report.items)
    before_b = [(c.id, c.text) for c in _chunks(svc, project, id_b)]
    out = svc.split(project, document_id=id_a, strategy="fixed", overrides={"split.chunk_size": 200, "split.min_length": 50, "split.max_length": 300})
    assert out.strategy == "fixed" and [d.document_id for d in out.documents] == [id_a]
    assert all(c.size <= 300 for c in _chunks(svc, project, id_a))
    assert len(_chunks(svc, project, id_a)) > 2
    assert [(c.id, c.text) for c in _chunks(svc, project, id_b)] == before_b
    assert svc.get_document(project, id_a).split_settings["strategy"] == "fixed"
    assert svc.get_document(project, id_b).split_settings["strategy"] == "markdown"
    # project settings were not changed by a one-off split
    assert {r.key: r.value for r in svc.show_settings(project)}["split.strategy"] == "markdown"


def test_resplit_with_questions_needs_force(svc: Service, project: str, tmp_path: Path) -> None:
    doc_id = svc.ingest(project, [write(tmp_path / "a.md", SAMPLE)]).items[0].document_id
    chunk = _chunks(svc, project, doc_id)[0]
    with svc.db.session() as s:
        s.add(Question(project_id=chunk.project_id, chunk_id=chunk.id, text="第一节讲了什么？"))
    small = {"split.chunk_size": 200, "split.min_length": 50, "split.max_length": 300}
    with pytest.raises(Conflict, match="--force"):
        svc.split(project, document_id=doc_id, strategy="fixed", overrides=small)
    out = svc.split(project, document_id=doc_id, strategy="fixed", overrides=small, force=True)
    assert out.documents[0].unlinked_questions == 1
    with svc.db.session() as s:
        q = s.query(Question).one()
        assert q.chunk_id is None and q.stale  # kept, not lost


def test_resplit_keeps_the_chunks_whose_text_is_unchanged(svc: Service, project: str, tmp_path: Path) -> None:
    """A chunk that comes out of a new split with the same text keeps its row: its id, its questions (linked, not
    stale) — so the work done on it is not redone; `changed_only` leaves documents split with these settings."""
    doc_id = svc.ingest(project, [write(tmp_path / "a.md", SAMPLE)]).items[0].document_id
    before = _chunks(svc, project, doc_id)
    with svc.db.session() as s:
        s.add(Question(project_id=before[0].project_id, chunk_id=before[0].id, text="第一节讲了什么？"))
    out = svc.split(project, document_id=doc_id, strategy="recursive", force=True)
    after = _chunks(svc, project, doc_id)
    same = {c.text: c.id for c in before}.items() & {c.text: c.id for c in after}.items()
    assert out.documents[0].kept_chunks == len(same) >= 1 and out.documents[0].unlinked_questions == 0
    with svc.db.session() as s:
        q = s.query(Question).one()
        assert q.chunk_id == before[0].id and not q.stale
    assert svc.split(project, strategy="recursive", changed_only=True).unchanged == 1  # split so just now
    assert [d.document_id for d in svc.split(project, changed_only=True, force=True).documents] == [doc_id]  # markdown
    again = svc.split(project, changed_only=True)
    assert again.documents == [] and again.unchanged == 1


def test_toc_per_document_and_project(svc: Service, project: str) -> None:
    svc.ingest(project, example_documents())
    toc = svc.toc(project)
    assert len(toc.documents) == 2
    md = next(d for d in toc.documents if d.filename.endswith(".md"))
    assert md.toc[0].title.startswith("星河精密制造")
    sections = [n.title for n in md.toc[0].children]
    assert "二、分业务表现" in sections
    sub = next(n for n in md.toc[0].children if n.title == "二、分业务表现").children
    assert [n.title for n in sub][:1] == ["2.1 精密减速器"]
    one = svc.toc(project, document_id=md.document_id)
    assert [d.document_id for d in one.documents] == [md.document_id]
    html = next(d for d in toc.documents if d.filename.endswith(".html"))
    assert any("Products" == n.title for n in html.toc[0].children)


def test_heading_paths_recorded(svc: Service, project: str) -> None:
    svc.ingest(project, example_documents())
    paths = [c.heading_path for c in _chunks(svc, project)]
    assert any(p.startswith("星河精密制造 2025年上半年经营报告 > ") for p in paths)


def test_delete_document_keeps_questions(svc: Service, project: str, tmp_path: Path) -> None:
    doc_id = svc.ingest(project, [write(tmp_path / "a.md", SAMPLE)]).items[0].document_id
    chunk = _chunks(svc, project, doc_id)[0]
    with svc.db.session() as s:
        s.add(Question(project_id=chunk.project_id, chunk_id=chunk.id, text="q?"))
    folder = Path(svc.get_document(project, doc_id).original_path).parent
    out = svc.delete_document(project, doc_id)
    assert out.detail["unlinked_questions"] == 1
    assert not folder.exists()
    with pytest.raises(NotFound):
        svc.get_document(project, doc_id)
    with svc.db.session() as s:
        assert s.query(Chunk).count() == 0 and s.query(Question).count() == 1


def test_no_split_then_split(svc: Service, project: str, tmp_path: Path) -> None:
    report = svc.ingest(project, [Source("notes.md", write(tmp_path / "n.md", SAMPLE))], split=False)
    assert report.items[0].chunks == 0
    assert svc.split(project).stats.count > 0
