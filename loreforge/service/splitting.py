"""Split actions: (re-)split one document or all documents of a project with the project's settings or
one-off overrides, writing Chunk rows. A chunk whose text comes out the same keeps its row — its id, questions
and answers — so re-splitting never makes work already done (and paid for) stale; questions on chunks that are
really replaced are kept, unlinked and marked stale."""

from __future__ import annotations

import hashlib
import statistics
from typing import Any

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.orm import Session

from loreforge.errors import Conflict
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.settings import ProjectSettings
from loreforge.store.models import Chunk, DatasetItem, Document, Project, Question
from loreforge.views import ChunkStats, SplitItem, SplitReport

INSERT_BATCH = 2000


def chunk_stats(sizes: list[int]) -> ChunkStats:
    if not sizes:
        return ChunkStats()
    return ChunkStats(
        count=len(sizes),
        total_chars=sum(sizes),
        min=min(sizes),
        max=max(sizes),
        mean=round(statistics.fmean(sizes), 1),
        median=float(statistics.median(sizes)),
    )


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def refuse_if_questions(session: Session, project: Project, docs: list[Document]) -> None:
    for doc in docs:
        n = session.scalar(
            select(func.count())
            .select_from(Question)
            .join(Chunk, Question.chunk_id == Chunk.id)
            .where(Chunk.document_id == doc.id)
        )
        if n:
            raise Conflict(
                f"Document {doc.id} ({doc.filename}) has {n} questions on its chunks; re-splitting would unlink them",
                hint=f"Re-run with --force to keep them unlinked and marked stale (`loreforge split {project.name} "
                f"--document {doc.id} --force`)",
            )

def split_document(
    session: Session, project: Project, doc: Document, markdown: str, settings: ProjectSettings
) -> tuple[int, list[str]]:
    """Split `markdown` and insert the chunks of `doc`; returns (chunk count, warnings)."""
    from loreforge.chunk import split_text

    result = split_text(markdown, settings.split)
    rows: list[dict[str, Any]] = []
    for ordinal, span in enumerate(result.chunks):
        rows.append(_chunk_row(project, doc, ordinal, span))
        if len(rows) >= INSERT_BATCH:
            session.execute(insert(Chunk), rows)
            rows = []
    if rows:
        session.execute(insert(Chunk), rows)
    doc.split_settings = settings.split.model_dump()
    return len(result.chunks), list(result.warnings)


def resplit_document(
    session: Session, project: Project, doc: Document, markdown: str, settings: ProjectSettings
) -> tuple[int, list[str], int, int]:
    """Split `doc` again over its existing chunks: a new chunk with the same text as an old one takes over the old
    row (its questions and answers stay linked); the other old chunks go, their questions kept unlinked and stale.
    Returns (chunk count, warnings, questions unlinked, chunks kept)."""
    from loreforge.chunk import split_text

    result = split_text(markdown, settings.split)
    old: dict[str, list[int]] = {}
    for cid, h in session.execute(select(Chunk.id, Chunk.text_hash).where(Chunk.document_id == doc.id).order_by(Chunk.ordinal)):
        old.setdefault(h, []).append(cid)
    fresh: list[dict[str, Any]] = []
    kept: list[int] = []
    for ordinal, span in enumerate(result.chunks):
        row = _chunk_row(project, doc, ordinal, span)
        reuse = old.get(row["text_hash"])
        if reuse:
            cid = reuse.pop(0)
            kept.append(cid)
            session.execute(update(Chunk).where(Chunk.id == cid).values(**{k: v for k, v in row.items() if k not in ("project_id", "document_id")}))
        else:
            fresh.append(row)
    gone = select(Chunk.id).where(Chunk.document_id == doc.id, Chunk.id.not_in(kept) if kept else Chunk.id.is_not(None))
    unlinked = unlink_questions(session, gone)
    session.execute(delete(Chunk).where(Chunk.document_id == doc.id, Chunk.id.not_in(kept)) if kept else delete(Chunk).where(Chunk.document_id == doc.id))
    for i in range(0, len(fresh), INSERT_BATCH):
        session.execute(insert(Chunk), fresh[i:i + INSERT_BATCH])
    doc.split_settings = settings.split.model_dump()
    return len(result.chunks), list(result.warnings), unlinked, len(kept)


def _chunk_row(project: Project, doc: Document, ordinal: int, span: Any) -> dict[str, Any]:
    return {"project_id": project.id, "document_id": doc.id, "ordinal": ordinal, "text": span.text, "start": span.start,
            "end": span.end, "heading_path": span.heading, "size": span.size, "overlap": span.overlap,
            "carried": span.carried, "edited": False, "text_hash": text_hash(span.text)}


def unlink_questions(session: Session, chunk_ids: Select[Any]) -> int:
    """Detach questions and dataset items from chunks about to go; they are kept and marked stale."""
    ids = chunk_ids.scalar_subquery()
    n = session.execute(
        update(Question).where(Question.chunk_id.in_(ids)).values(chunk_id=None, stale=True)
    ).rowcount
    session.execute(update(DatasetItem).where(DatasetItem.chunk_id.in_(ids)).values(chunk_id=None, stale=True))
    return int(n or 0)


class SplitActions(ServiceBase):
    def split(
        self,
        project: str | int,
        document_id: int | None = None,
        strategy: str | None = None,
        overrides: dict[str, Any] | None = None,
        force: bool = False,
        changed_only: bool = False,
    ) -> SplitReport:
        """Re-split documents. `strategy` and `overrides` (dotted `split.*` keys) apply to this run only.
        `changed_only`: only documents not split yet, or split with other settings. Chunks whose text does not
        change keep their id, questions and answers. Documents where questions would be unlinked (their chunks
        changing) are refused unless `force`, which keeps those questions unlinked and marked stale."""
        extra = dict(overrides or {})
        if strategy:
            extra["split.strategy"] = strategy
        with self.db.session() as session:
            row = lookups.project(session, project)
            settings = lookups.settings(row, extra)
            query = select(Document).where(Document.project_id == row.id).order_by(Document.id)
            docs = [lookups.document(session, row, document_id)] if document_id is not None else list(session.scalars(query))
            total = len(docs)
            if changed_only:
                docs = [d for d in docs if not _split_with(session, d, settings)]
            if not force:
                refuse_if_questions(session, row, docs)
            refs = [d.id for d in docs]
        items: list[SplitItem] = []
        for doc_id in refs:
            with self.db.session() as session:
                row = lookups.project(session, project)
                doc = lookups.document(session, row, doc_id)
                markdown = (lookups.project_dir(self.config, row) / doc.markdown_path).read_text(encoding="utf-8")
                count, warnings, unlinked, kept = resplit_document(session, row, doc, markdown, settings)
                del markdown
                items.append(SplitItem(document_id=doc.id, filename=doc.filename, chunks=count, warnings=warnings,
                                       unlinked_questions=unlinked, kept_chunks=kept))
        with self.db.session() as session:
            ids = [i.document_id for i in items]
            sizes = list(session.scalars(select(Chunk.size).where(Chunk.document_id.in_(ids)))) if ids else []
        return SplitReport(strategy=settings.split.strategy, documents=items, stats=chunk_stats(sizes), unchanged=total - len(items))


def _split_with(session: Session, doc: Document, settings: ProjectSettings) -> bool:
    """Whether `doc` has chunks cut with exactly these split settings."""
    if dict(doc.split_settings or {}) != settings.split.model_dump():
        return False
    return session.scalar(select(func.count()).select_from(Chunk).where(Chunk.document_id == doc.id)) > 0
