"""Chunk management: list (paged, filtered), show, edit, merge adjacent chunks, split a chunk at a
position, delete one or many. Questions linked to a changed chunk stay linked and are marked stale."""

from __future__ import annotations

from sqlalchemy import Integer, cast, func, select, update
from sqlalchemy.orm import Session

from loreforge.errors import UserError
from loreforge.service import lookups
from loreforge.filters import ChunkFilter
from loreforge.service.base import ServiceBase
from loreforge.service.selection import chunk_conditions
from loreforge.service.splitting import text_hash, unlink_questions
from loreforge.settings import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from loreforge.store.models import Chunk, DatasetItem, Document, Project, Question
from loreforge.views import ChunkView, Deleted, PageView, from_row


def _check_page(page: int, page_size: int) -> None:
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise UserError(
            "Invalid paging", expected=f"page >= 1 and 1 <= page_size <= {MAX_PAGE_SIZE}", got=f"page={page}, page_size={page_size}"
        )


def chunk_views(session: Session, chunks: list[Chunk]) -> list[ChunkView]:
    """Chunks as views, with their document's name and their (stale) question counts."""
    if not chunks:
        return []
    ids = [c.id for c in chunks]
    q_rows = session.execute(
        select(Question.chunk_id, func.count(), func.sum(cast(Question.stale, Integer)))
        .where(Question.chunk_id.in_(ids))
        .group_by(Question.chunk_id)
    ).all()
    qcount = {cid: (n, int(s or 0)) for cid, n, s in q_rows}
    names = dict(session.execute(select(Document.id, Document.filename).where(Document.id.in_({c.document_id for c in chunks}))).all())
    return [from_row(ChunkView, c, document=names.get(c.document_id, ""), questions=qcount.get(c.id, (0, 0))[0],
                     stale_questions=qcount.get(c.id, (0, 0))[1], cleaned=c.cleaning is not None,
                     flagged=bool((c.cleaning or {}).get("flagged"))) for c in chunks]


def mark_stale(session: Session, chunk_ids: list[int]) -> None:
    session.execute(update(Question).where(Question.chunk_id.in_(chunk_ids)).values(stale=True))
    session.execute(update(DatasetItem).where(DatasetItem.chunk_id.in_(chunk_ids)).values(stale=True))


def move_questions(session: Session, source_id: int, target_id: int) -> None:
    """Move a chunk's questions and items to another chunk; a question the target already holds (same normalised
    text) is kept unlinked and stale instead, so the target never holds one question twice."""
    held = select(Question.norm_text).where(Question.chunk_id == target_id).scalar_subquery()
    clashing = select(Question.id).where(Question.chunk_id == source_id, Question.norm_text.in_(held)).scalar_subquery()
    session.execute(update(DatasetItem).where(DatasetItem.question_id.in_(clashing)).values(chunk_id=None, stale=True))
    session.execute(update(Question).where(Question.id.in_(clashing)).values(chunk_id=None, stale=True)
                    .execution_options(synchronize_session=False))
    session.execute(update(Question).where(Question.chunk_id == source_id).values(chunk_id=target_id))
    session.execute(update(DatasetItem).where(DatasetItem.chunk_id == source_id).values(chunk_id=target_id))


class ChunkActions(ServiceBase):
    def list_chunks(
        self,
        project: str | int,
        document_id: int | None = None,
        text: str | None = None,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
        min_size: int | None = None,
        max_size: int | None = None,
        has_questions: bool | None = None,
        cleaned: bool | None = None,
        flagged: bool | None = None,
    ) -> PageView[ChunkView]:
        """Chunks in document order, filtered (`ChunkFilter`: document, text, length range, with or without
        questions, cleaned, flagged by their cleaning), counted and paged in the database."""
        _check_page(page, page_size)
        f = ChunkFilter(document_id=document_id, text=text, min_size=min_size, max_size=max_size, has_questions=has_questions,
                        cleaned=cleaned, flagged=flagged)
        with self.db.session() as session:
            row = lookups.project(session, project)
            if document_id is not None:
                lookups.document(session, row, document_id)
            query = chunk_conditions(select(Chunk).where(Chunk.project_id == row.id), f)
            total = session.scalar(select(func.count()).select_from(query.with_only_columns(Chunk.id).subquery())) or 0
            rows = session.scalars(
                query.order_by(Chunk.document_id, Chunk.ordinal, Chunk.id).offset((page - 1) * page_size).limit(page_size)
            ).all()
            return PageView[ChunkView](items=chunk_views(session, list(rows)), total=total, page=page, page_size=page_size)

    def get_chunk(self, project: str | int, chunk_id: int) -> ChunkView:
        with self.db.session() as session:
            row = lookups.project(session, project)
            return chunk_views(session, [lookups.chunk(session, row, chunk_id)])[0]

    def edit_chunk(self, project: str | int, chunk_id: int, text: str) -> ChunkView:
        """Replace a chunk's text. Its questions stay linked and are marked possibly stale."""
        if not text.strip():
            raise UserError("A chunk cannot be empty", hint="Delete the chunk instead with `loreforge chunks delete`")
        with self.db.session() as session:
            row = lookups.project(session, project)
            chunk = lookups.chunk(session, row, chunk_id)
            if text != chunk.text:
                chunk.text, chunk.size, chunk.edited, chunk.text_hash = text, len(text), True, text_hash(text)
                mark_stale(session, [chunk.id])
            session.flush()
            return chunk_views(session, [chunk])[0]

    def merge_chunks(self, project: str | int, chunk_ids: list[int]) -> ChunkView:
        """Merge adjacent chunks of one document into the first; questions move to the merged chunk."""
        if len(set(chunk_ids)) < 2:
            raise UserError("Merging needs at least two chunk ids", got=str(chunk_ids))
        with self.db.session() as session:
            row = lookups.project(session, project)
            chunks = sorted((lookups.chunk(session, row, i) for i in set(chunk_ids)), key=lambda c: (c.ordinal, c.id))
            self._check_adjacent(session, row, chunks)
            first = chunks[0]
            markdown = self._markdown_if_needed(row, session, chunks)
            for nxt in chunks[1:]:
                self._absorb(first, nxt, markdown)
                move_questions(session, nxt.id, first.id)
                session.delete(nxt)
            first.size, first.text_hash = len(first.text), text_hash(first.text)
            first.original_text, first.cleaning = None, None  # a merged text has no one original to restore
            session.flush()
            return chunk_views(session, [first])[0]

    def _check_adjacent(self, session: Session, project: Project, chunks: list[Chunk]) -> None:
        if len({c.document_id for c in chunks}) != 1:
            raise UserError("Only chunks of the same document can be merged", got=str([c.id for c in chunks]))
        ordinals = list(
            session.scalars(
                select(Chunk.id)
                .where(Chunk.document_id == chunks[0].document_id, Chunk.ordinal >= chunks[0].ordinal, Chunk.ordinal <= chunks[-1].ordinal)
                .order_by(Chunk.ordinal, Chunk.id)
            )
        )
        if ordinals != [c.id for c in chunks]:
            raise UserError(
                "Only adjacent chunks can be merged",
                expected=f"consecutive chunks, e.g. {ordinals[:3]}",
                got=str([c.id for c in chunks]),
                hint=f"List them with `loreforge chunks list {project.name} --document {chunks[0].document_id}`",
            )

    def _markdown_if_needed(self, project: Project, session: Session, chunks: list[Chunk]) -> str | None:
        if any(c.edited for c in chunks):
            return None
        doc = session.get(Document, chunks[0].document_id)
        assert doc is not None
        return (lookups.project_dir(self.config, project) / doc.markdown_path).read_text(encoding="utf-8")

    @staticmethod
    def _absorb(first: Chunk, nxt: Chunk, markdown: str | None) -> None:
        own = nxt.text[len(nxt.carried):][nxt.overlap:] if not nxt.edited else nxt.text
        if markdown is not None and first.end <= nxt.start + nxt.overlap:
            gap = markdown[first.end : nxt.start + nxt.overlap]
            first.text = first.text + gap + own
        else:
            first.text = first.text.rstrip() + "\n\n" + own.lstrip()
            first.edited = True
        first.end = max(first.end, nxt.end)

    def split_chunk(self, project: str | int, chunk_id: int, position: int) -> list[ChunkView]:
        """Split a chunk in two at a character position of its text; questions stay with the first half,
        marked stale."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            chunk = lookups.chunk(session, row, chunk_id)
            head, tail = chunk.text[:position].rstrip(), chunk.text[position:].lstrip()
            if not (0 < position < len(chunk.text)) or not head.strip() or not tail.strip():
                raise UserError(
                    f"Cannot split chunk {chunk_id} at position {position}",
                    expected=f"a position between 1 and {len(chunk.text) - 1} leaving text on both sides",
                    got=str(position),
                )
            session.execute(
                update(Chunk)
                .where(Chunk.document_id == chunk.document_id, Chunk.ordinal > chunk.ordinal)
                .values(ordinal=Chunk.ordinal + 1)
            )
            cut = self._doc_offset(chunk, position)
            second = Chunk(
                project_id=chunk.project_id,
                document_id=chunk.document_id,
                ordinal=chunk.ordinal + 1,
                text=tail,
                start=cut + (len(chunk.text[position:]) - len(tail)) if cut is not None else chunk.end,
                end=chunk.end,
                heading_path=chunk.heading_path,
                size=len(tail),
                overlap=0,
                carried="",
                edited=chunk.edited,
                text_hash=text_hash(tail),
            )
            chunk.text, chunk.size, chunk.text_hash = head, len(head), text_hash(head)
            chunk.original_text, chunk.cleaning = None, None  # a half has no one original to restore
            if cut is not None:
                chunk.end = cut - (position - len(head))
            session.add(second)
            mark_stale(session, [chunk.id])
            session.flush()
            return chunk_views(session, [chunk, second])

    @staticmethod
    def _doc_offset(chunk: Chunk, position: int) -> int | None:
        """Document offset of a position in an unedited chunk's text (None when it cannot be known)."""
        if chunk.edited or position < len(chunk.carried):
            return None
        return chunk.start + position - len(chunk.carried)

    def delete_chunks(self, project: str | int, chunk_ids: list[int]) -> Deleted:
        """Delete chunks; their questions and dataset items are kept, unlinked and marked stale."""
        if not chunk_ids:
            raise UserError("No chunk ids given", hint="Pass one or more ids, e.g. `loreforge chunks delete P 12 13`")
        with self.db.session() as session:
            row = lookups.project(session, project)
            chunks = [lookups.chunk(session, row, i) for i in dict.fromkeys(chunk_ids)]
            unlinked = unlink_questions(session, select(Chunk.id).where(Chunk.id.in_([c.id for c in chunks])))
            for chunk in chunks:
                session.delete(chunk)
        return Deleted(deleted=len(chunks), detail={"unlinked_questions": unlinked})
