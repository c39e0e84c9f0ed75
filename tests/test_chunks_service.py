"""Chunk management through the service layer: list, show, edit, merge, split, delete."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import write
from loreforge.errors import NotFound, UserError
from loreforge.service import Service
from loreforge.store.models import Question

PARAS = "\n\n".join(f"Paragraph {i} talks about topic {i}. It has a second sentence about item {i}." for i in range(40))


@pytest.fixture()
def doc(svc: Service, project: str, tmp_path: Path) -> int:
    svc.set_setting(project, "split.min_length", "100")
    svc.set_setting(project, "split.max_length", "400")
    return svc.ingest(project, [write(tmp_path / "doc.md", "# Title\n\n" + PARAS + "\n")]).items[0].document_id or 0


def _all(svc: Service, project: str) -> list:
    return svc.list_chunks(project, page_size=1000).items


def test_list_pages_and_filters(svc: Service, project: str, doc: int) -> None:
    total = len(_all(svc, project))
    assert total > 5
    page1 = svc.list_chunks(project, page=1, page_size=2)
    page2 = svc.list_chunks(project, page=2, page_size=2)
    assert page1.total == total and len(page1.items) == 2
    assert page1.items[-1].ordinal < page2.items[0].ordinal
    hits = svc.list_chunks(project, text="topic 17.")
    assert hits.total == 1 and "topic 17." in hits.items[0].text
    assert svc.list_chunks(project, text="100%_literal").total == 0  # LIKE wildcards escaped
    assert svc.list_chunks(project, document_id=doc).total == total
    with pytest.raises(NotFound):
        svc.list_chunks(project, document_id=999)
    with pytest.raises(UserError, match="paging"):
        svc.list_chunks(project, page=0)


def test_show_and_wrong_project(svc: Service, project: str, doc: int) -> None:
    first = _all(svc, project)[0]
    shown = svc.get_chunk(project, first.id)
    assert shown.text == first.text and shown.heading_path.startswith("Title")
    svc.create_project("other")
    with pytest.raises(NotFound):
        svc.get_chunk("other", first.id)


def test_edit_marks_questions_stale(svc: Service, project: str, doc: int) -> None:
    first = _all(svc, project)[0]
    with svc.db.session() as s:
        s.add(Question(project_id=first.project_id, chunk_id=first.id, text="What is topic 0?"))
    edited = svc.edit_chunk(project, first.id, "New text about topic zero.")
    assert edited.edited and edited.size == len("New text about topic zero.")
    assert edited.questions == 1 and edited.stale_questions == 1  # still linked, flagged
    with pytest.raises(UserError, match="empty"):
        svc.edit_chunk(project, first.id, "   ")


def test_merge_adjacent(svc: Service, project: str, doc: int) -> None:
    chunks = _all(svc, project)
    text = svc.document_text(project, doc)
    a, b = chunks[1], chunks[2]
    with svc.db.session() as s:
        s.add(Question(project_id=a.project_id, chunk_id=b.id, text="q on b"))
    merged = svc.merge_chunks(project, [b.id, a.id])
    assert merged.id == a.id
    assert merged.text == text[a.start : b.end]
    assert (merged.start, merged.end) == (a.start, b.end)
    assert merged.questions == 1
    assert len(_all(svc, project)) == len(chunks) - 1
    with pytest.raises(UserError, match="adjacent"):
        svc.merge_chunks(project, [chunks[0].id, chunks[3].id])
    with pytest.raises(UserError, match="at least two"):
        svc.merge_chunks(project, [a.id])


def test_split_at_position_keeps_offsets(svc: Service, project: str, doc: int) -> None:
    text = svc.document_text(project, doc)
    target = _all(svc, project)[2]
    pos = target.text.index("\n\n") + 1
    first, second = svc.split_chunk(project, target.id, pos)
    assert first.text == target.text[:pos].rstrip() and second.text == target.text[pos:].lstrip()
    assert text[first.start : first.end] == first.text
    assert text[second.start : second.end] == second.text
    ordinals = [c.ordinal for c in _all(svc, project)]
    assert ordinals == sorted(ordinals) and len(set(ordinals)) == len(ordinals)
    ids = [c.id for c in _all(svc, project)]
    assert ids.index(second.id) == ids.index(first.id) + 1
    for bad in (0, len(target.text) + 5, -1):
        with pytest.raises(UserError, match="Cannot split"):
            svc.split_chunk(project, first.id, bad)


def test_delete_batch_keeps_questions(svc: Service, project: str, doc: int) -> None:
    chunks = _all(svc, project)
    with svc.db.session() as s:
        s.add(Question(project_id=chunks[0].project_id, chunk_id=chunks[0].id, text="q"))
    out = svc.delete_chunks(project, [chunks[0].id, chunks[1].id])
    assert out.deleted == 2 and out.detail["unlinked_questions"] == 1
    assert len(_all(svc, project)) == len(chunks) - 2
    with pytest.raises(NotFound):
        svc.delete_chunks(project, [chunks[0].id])
    with svc.db.session() as s:
        assert s.query(Question).one().stale
