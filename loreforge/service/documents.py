"""Document actions: ingest files (stored beside their Markdown), list/show/delete documents, table of
contents. Reads files from disk or uploads, writes Document rows and their first split (chunks).

Safe under concurrency (several processes, threads or REST requests ingesting into one project): each upload
and each document is prepared in files of its own (loreforge/ingest/storage.py), the store's unique keys
(project, sha256 of the bytes) and (project, sha256 of the Markdown) pick one winner, only the winner
publishes its folder into `documents/`, and a loser is reported as a duplicate of the winner."""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, Callable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loreforge.errors import IngestError, LoreForgeError
from loreforge.ingest import storage
from loreforge.records import LoadedDocument
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.service.splitting import split_document, unlink_questions
from loreforge.settings import IngestSettings, ProjectSettings
from loreforge.store.models import Chunk, Document, Project
from loreforge.views import Deleted, DocumentToc, DocumentView, IngestItem, IngestReport, ProjectToc, TocNode, from_row

log = logging.getLogger(__name__)
MB = 1024 * 1024
ADD_TRIES = 3  # a lost race is retried to find the winner; a winner deleted meanwhile lets the next try add


@dataclass(frozen=True)
class Source:
    """A file to ingest: the user's name for it and where its bytes are now."""

    filename: str
    path: Path


@dataclass(frozen=True)
class Upload:
    """An uploaded file: the user's name for it and a readable binary stream (REST multipart)."""

    filename: str
    stream: BinaryIO


@dataclass(frozen=True)
class _Prepared:
    """A document converted in its staging folder, ready to be added."""

    source: Source
    staged: storage.Staged
    loaded: LoadedDocument
    text_hash: str
    project_dir: Path
    settings: ProjectSettings


def check_upload(filename: str, size: int, limits: IngestSettings) -> None:
    """Refuse unsupported types and oversized files before anything is stored."""
    from loreforge.ingest import check_size, format_for

    format_for(filename)
    check_size(size, filename, limits)


class DocumentActions(ServiceBase):
    def ingest(self, project: str | int, files: Iterable[str | Path | Source | Upload], split: bool = True) -> IngestReport:
        """Add files (paths, or uploads with a stream) to a project. Each file is converted, stored and (by
        default) split; a bad file is reported and the rest of the batch goes on. Safe to run in parallel
        with other ingests: the same content is stored once and the others are reported as duplicates."""
        with self.db.session() as session:
            lookups.project(session, project)  # a missing project stops the batch before any file is read
        items: list[IngestItem] = []
        for entry in files:
            if isinstance(entry, Upload):
                items.append(self._guarded(entry.filename, partial(self._ingest_upload, project, entry, split)))
                continue
            source = entry if isinstance(entry, Source) else Source(filename=Path(entry).name, path=Path(entry))
            items.append(self._guarded(source.filename, partial(self._ingest_one, project, source, split)))
        return IngestReport(
            items=items,
            added=sum(i.status == "added" for i in items),
            duplicates=sum(i.status == "duplicate" for i in items),
            failed=sum(i.status == "failed" for i in items),
        )

    def _ingest_upload(self, project: str | int, upload: Upload, split: bool) -> IngestItem:
        """Ingest one upload (REST multipart): streamed into a temporary file of its own under the project
        (cut off once it passes the size limit), then ingested (the temporary file moves into staging)."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            limits = lookups.settings(row).ingest
            tmp_dir = lookups.project_dir(self.config, row) / "tmp"
        check_upload(upload.filename, 0, limits)
        tmp, size = storage.receive(upload.stream, tmp_dir, int(limits.max_file_mb * MB))
        try:
            check_upload(upload.filename, size, limits)
            return self._ingest_one(project, Source(filename=upload.filename, path=tmp), split, owned=True)
        finally:
            tmp.unlink(missing_ok=True)

    @staticmethod
    def _guarded(filename: str, ingest_one: Callable[[], IngestItem]) -> IngestItem:
        try:
            return ingest_one()
        except IngestError as exc:
            return IngestItem(filename=filename, status="failed", error=str(exc))
        except LoreForgeError:
            raise  # project missing, bad settings: the whole batch cannot go on
        except OSError as exc:
            return IngestItem(
                filename=filename,
                status="failed",
                error=f"{filename}: cannot read the file ({exc.strerror or exc}). Check the path and permissions.",
            )
        except Exception as exc:  # noqa: BLE001 - one broken file must not stop the batch
            log.exception("unexpected error while ingesting %s", filename)
            return IngestItem(
                filename=filename,
                status="failed",
                error=f"{filename}: unexpected error while reading it ({type(exc).__name__}: {exc}). "
                "Please report this with the file if you can.",
            )

    def _ingest_one(self, project_ref: str | int, source: Source, split: bool, owned: bool = False,
                    converted: LoadedDocument | None = None) -> IngestItem:
        """Check, stage, convert and add one file. `owned`: the source is this ingest's own temporary file
        (moved into staging instead of copied). `converted`: the file's conversion made elsewhere (a PDF read by a
        vision model or MinerU), used instead of the format's loader."""
        from loreforge.ingest import load, safe_filename

        with self.db.session() as session:
            project = lookups.project(session, project_ref)
            settings = lookups.settings(project)
            project_dir = lookups.project_dir(self.config, project)
            if not source.path.is_file():
                raise IngestError(source.filename, "no such file", hint="Check the path")
            check_upload(source.filename, source.path.stat().st_size, settings.ingest)
            existing = self._find_duplicate(session, project.id, content_hash=storage.file_sha256(source.path))
            if existing is not None:  # the common re-ingest: known bytes are neither copied nor converted
                return self._duplicate_item(session, source.filename, existing)
        staged = storage.stage(source.path, project_dir / "tmp", safe_filename(source.filename), move=owned)
        item: IngestItem | None = None
        try:
            loaded = converted or load(staged.original, filename=source.filename, limits=settings.ingest)
            staged.markdown.write_text(loaded.markdown, encoding="utf-8", newline="\n")
            text_hash = hashlib.sha256(loaded.markdown.encode("utf-8", "surrogatepass")).hexdigest()
            prepared = _Prepared(source, staged, loaded, text_hash, project_dir, settings)
            for _ in range(ADD_TRIES):
                item = self._add_once(project_ref, prepared, split)
                if item is not None:
                    break
        finally:
            if item is None or item.status != "added":  # an added document's folder was renamed into documents/
                storage.discard(staged.folder)
        if item is not None:
            return item
        raise IngestError(source.filename, "was being added by other ingests at the same time and could not be stored",
                          hint="Ingest it again")

    def _add_once(self, project_ref: str | int, prepared: _Prepared, split: bool) -> IngestItem | None:
        """One try to add the prepared document: a duplicate's report, the added document's, or None when a
        parallel ingest took one of the unique keys first (the next try finds it)."""
        published: Path | None = None
        try:
            with self.db.session() as session:
                project = lookups.project(session, project_ref)
                existing = self._find_duplicate(session, project.id, prepared.staged.sha256, prepared.text_hash)
                if existing is not None:
                    return self._duplicate_item(session, prepared.source.filename, existing)
                doc = self._add_document(session, project, prepared)  # flushed: the unique keys pick one winner
                published = storage.publish(prepared.staged, prepared.project_dir / "documents")
                self._set_paths(doc, prepared, published)
                chunks, warnings = (
                    split_document(session, project, doc, prepared.loaded.markdown, prepared.settings) if split else (0, [])
                )
                return IngestItem(
                    filename=prepared.source.filename,
                    status="added",
                    document_id=doc.id,
                    chunks=chunks,
                    warnings=list(prepared.loaded.warnings) + list(warnings),
                )
        except IntegrityError:
            if published is not None:
                storage.discard(published)
                raise  # not a lost race: the document row was already in
            return None
        except BaseException:
            if published is not None:
                storage.discard(published)  # never committed: the folder is this ingest's alone
            raise

    @staticmethod
    def _find_duplicate(session: Session, project_id: int, content_hash: str, text_hash: str | None = None) -> Document | None:
        query = select(Document).where(Document.project_id == project_id)
        doc = session.scalar(query.where(Document.content_hash == content_hash))
        if doc is None and text_hash is not None:
            doc = session.scalar(query.where(Document.text_hash == text_hash))
        return doc

    @staticmethod
    def _duplicate_item(session: Session, filename: str, existing: Document) -> IngestItem:
        chunks = session.scalar(select(func.count()).select_from(Chunk).where(Chunk.document_id == existing.id)) or 0
        return IngestItem(
            filename=filename,
            status="duplicate",
            document_id=existing.id,
            chunks=chunks,
            warnings=[f"same content as document {existing.id} ({existing.filename}); not added again"],
        )

    @staticmethod
    def _add_document(session: Session, project: Project, prepared: _Prepared) -> Document:
        """Insert the document row (paths still in staging until it is published) and flush it."""
        from loreforge.chunk import extract_toc

        loaded = prepared.loaded
        doc = Document(
            project_id=project.id,
            filename=prepared.source.filename,
            format=loaded.format,
            title=loaded.title,
            content_hash=prepared.staged.sha256,
            text_hash=prepared.text_hash,
            size_bytes=prepared.staged.size,
            char_count=len(loaded.markdown),
            pages=loaded.pages,
            encoding=loaded.encoding,
            toc=[entry.to_dict() for entry in extract_toc(loaded.markdown)],
            warnings=list(loaded.warnings),
            meta=_json_safe(loaded.meta),
        )
        DocumentActions._set_paths(doc, prepared, prepared.staged.folder)
        session.add(doc)
        session.flush()
        return doc

    @staticmethod
    def _set_paths(doc: Document, prepared: _Prepared, folder: Path) -> None:
        staged, base = prepared.staged, prepared.project_dir
        doc.stored_path = str(storage.moved(staged, folder, staged.original).relative_to(base))
        doc.markdown_path = str(storage.moved(staged, folder, staged.markdown).relative_to(base))

    # -- documents -----------------------------------------------------------------------------------
    def _document_view(self, session: Session, project: Project, doc: Document) -> DocumentView:
        base = lookups.project_dir(self.config, project)
        chunks = session.scalar(select(func.count()).select_from(Chunk).where(Chunk.document_id == doc.id)) or 0
        return from_row(DocumentView, doc, chunks=chunks, warnings=list(doc.warnings or []), original_path=str(base / doc.stored_path),
                        markdown_path=str(base / doc.markdown_path), split_settings=dict(doc.split_settings or {}))

    def list_documents(self, project: str | int) -> list[DocumentView]:
        with self.db.session() as session:
            row = lookups.project(session, project)
            docs = session.scalars(select(Document).where(Document.project_id == row.id).order_by(Document.id)).all()
            return [self._document_view(session, row, d) for d in docs]

    def get_document(self, project: str | int, document_id: int) -> DocumentView:
        with self.db.session() as session:
            row = lookups.project(session, project)
            return self._document_view(session, row, lookups.document(session, row, document_id))

    def document_text(self, project: str | int, document_id: int) -> str:
        """The document's Markdown as stored."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            doc = lookups.document(session, row, document_id)
            path = lookups.project_dir(self.config, row) / doc.markdown_path
        return path.read_text(encoding="utf-8")

    def delete_document(self, project: str | int, document_id: int) -> Deleted:
        """Delete a document with its chunks and files; its questions and dataset items are kept, unlinked."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            doc = lookups.document(session, row, document_id)
            unlinked = unlink_questions(session, select(Chunk.id).where(Chunk.document_id == doc.id))
            chunks = session.scalar(select(func.count()).select_from(Chunk).where(Chunk.document_id == doc.id)) or 0
            folder = (lookups.project_dir(self.config, row) / doc.stored_path).parent
            session.delete(doc)
        shutil.rmtree(folder, ignore_errors=True)
        return Deleted(deleted=1, detail={"chunks": chunks, "unlinked_questions": unlinked})

    def toc(self, project: str | int, document_id: int | None = None) -> ProjectToc:
        """The table of contents (headings tree) of one document or of the whole project."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            if document_id is not None:
                docs = [lookups.document(session, row, document_id)]
            else:
                docs = list(session.scalars(select(Document).where(Document.project_id == row.id).order_by(Document.id)))
            return ProjectToc(
                project=row.name,
                documents=[
                    DocumentToc(
                        document_id=d.id,
                        filename=d.filename,
                        title=d.title,
                        toc=[TocNode.model_validate(n) for n in d.toc or []],
                    )
                    for d in docs
                ],
            )


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
