"""Document actions: ingest files (stored beside their Markdown), list/show/delete documents, table of
contents. Reads files from disk or uploads, writes Document rows and their first split (chunks)."""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loreforge.errors import IngestError, LoreForgeError
from loreforge.records import LoadedDocument
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.service.splitting import split_document, unlink_questions
from loreforge.settings import IngestSettings
from loreforge.store.models import Chunk, Document, Project
from loreforge.views import Deleted, DocumentToc, DocumentView, IngestItem, IngestReport, ProjectToc, TocNode, from_row

log = logging.getLogger(__name__)
COPY_BLOCK = 1 << 20


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


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()  # streamed: a large file is never held in memory to hash it
    with path.open("rb") as fh:
        while block := fh.read(COPY_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def check_upload(filename: str, size: int, limits: IngestSettings) -> None:
    """Refuse unsupported types and oversized files before anything is stored."""
    from loreforge.ingest import check_size, format_for

    format_for(filename)
    check_size(size, filename, limits)


def save_stream(stream: BinaryIO, dest: Path, filename: str, limits: IngestSettings) -> int:
    """Copy an upload stream to `dest`, refusing it as soon as it passes the size limit."""
    limit = int(limits.max_file_mb * 1024 * 1024)
    written = 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("wb") as out:
        while block := stream.read(COPY_BLOCK):
            written += len(block)
            if written > limit:
                out.close()
                dest.unlink(missing_ok=True)
                check_upload(filename, written, limits)
            out.write(block)
    return written


class DocumentActions(ServiceBase):
    def ingest(self, project: str | int, files: Iterable[str | Path | Source | Upload], split: bool = True) -> IngestReport:
        """Add files (paths, or uploads with a stream) to a project. Each file is converted, stored and (by
        default) split; a bad file is reported and the rest of the batch goes on."""
        with self.db.session() as session:
            lookups.project(session, project)  # a missing project stops the batch before any file is read
        items: list[IngestItem] = []
        for entry in files:
            if isinstance(entry, Upload):
                items.append(self._ingest_upload(project, entry.filename, entry.stream, split))
                continue
            source = entry if isinstance(entry, Source) else Source(filename=Path(entry).name, path=Path(entry))
            items.append(self._ingest_guarded(project, source, split))
        return IngestReport(
            items=items,
            added=sum(i.status == "added" for i in items),
            duplicates=sum(i.status == "duplicate" for i in items),
            failed=sum(i.status == "failed" for i in items),
        )

    def _ingest_upload(self, project: str | int, filename: str, stream: BinaryIO, split: bool) -> IngestItem:
        """Ingest one upload (REST multipart): streamed to a temporary file under the project, then ingested."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            limits = lookups.settings(row).ingest
            tmp_dir = lookups.project_dir(self.config, row) / "tmp"
        from loreforge.ingest import safe_filename

        tmp = tmp_dir / f"upload-{hashlib.sha1(filename.encode('utf-8', 'replace')).hexdigest()[:8]}-{safe_filename(filename)}"
        try:
            check_upload(filename, 0, limits)
            save_stream(stream, tmp, filename, limits)
            return self._ingest_guarded(project, Source(filename=filename, path=tmp), split)
        except IngestError as exc:
            return IngestItem(filename=filename, status="failed", error=str(exc))
        finally:
            tmp.unlink(missing_ok=True)

    def _ingest_guarded(self, project: str | int, source: Source, split: bool) -> IngestItem:
        try:
            return self._ingest_one(project, source, split)
        except IngestError as exc:
            return IngestItem(filename=source.filename, status="failed", error=str(exc))
        except LoreForgeError:
            raise  # project missing, bad settings: the whole batch cannot go on
        except OSError as exc:
            return IngestItem(
                filename=source.filename,
                status="failed",
                error=f"{source.filename}: cannot read the file ({exc.strerror or exc}). Check the path and permissions.",
            )
        except Exception as exc:  # noqa: BLE001 - one broken file must not stop the batch
            log.exception("unexpected error while ingesting %s", source.filename)
            return IngestItem(
                filename=source.filename,
                status="failed",
                error=f"{source.filename}: unexpected error while reading it ({type(exc).__name__}: {exc}). "
                "Please report this with the file if you can.",
            )

    def _ingest_one(self, project_ref: str | int, source: Source, split: bool) -> IngestItem:
        from loreforge.ingest import safe_filename

        with self.db.session() as session:
            project = lookups.project(session, project_ref)
            settings = lookups.settings(project)
            project_dir = lookups.project_dir(self.config, project)
            if not source.path.is_file():
                raise IngestError(source.filename, "no such file", hint="Check the path")
            check_upload(source.filename, source.path.stat().st_size, settings.ingest)
            digest = _hash_file(source.path)
            existing = self._find_duplicate(session, project.id, content_hash=digest)
            if existing is not None:
                return self._duplicate_item(session, source.filename, existing)
        folder = project_dir / "documents" / digest[:16]
        stored = folder / safe_filename(source.filename)
        try:
            loaded = self._store_and_load(source, stored, settings.ingest)
            text_hash = hashlib.sha256(loaded.markdown.encode("utf-8", "surrogatepass")).hexdigest()
            markdown_path = folder / "content.md"
            markdown_path.write_text(loaded.markdown, encoding="utf-8", newline="\n")
            with self.db.session() as session:
                project = lookups.project(session, project_ref)
                existing = self._find_duplicate(session, project.id, content_hash=digest, text_hash=text_hash)
                if existing is not None:
                    if existing.stored_path != str(stored.relative_to(project_dir)):
                        shutil.rmtree(folder, ignore_errors=True)
                    return self._duplicate_item(session, source.filename, existing)
                doc = self._add_document(session, project, source, loaded, digest, text_hash, stored, markdown_path)
                chunks, warnings = (split_document(session, project, doc, loaded.markdown, settings) if split else (0, []))
                return IngestItem(
                    filename=source.filename,
                    status="added",
                    document_id=doc.id,
                    chunks=chunks,
                    warnings=list(loaded.warnings) + list(warnings),
                )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    @staticmethod
    def _store_and_load(source: Source, stored: Path, limits: IngestSettings) -> LoadedDocument:
        from loreforge.ingest import load

        stored.parent.mkdir(parents=True, exist_ok=True)
        if source.path.resolve() != stored.resolve():
            shutil.copyfile(source.path, stored)
        return load(stored, filename=source.filename, limits=limits)

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

    def _add_document(
        self,
        session: Session,
        project: Project,
        source: Source,
        loaded: LoadedDocument,
        digest: str,
        text_hash: str,
        stored: Path,
        markdown_path: Path,
    ) -> Document:
        from loreforge.chunk import extract_toc

        project_dir = lookups.project_dir(self.config, project)
        doc = Document(
            project_id=project.id,
            filename=source.filename,
            stored_path=str(stored.relative_to(project_dir)),
            markdown_path=str(markdown_path.relative_to(project_dir)),
            format=loaded.format,
            title=loaded.title,
            content_hash=digest,
            text_hash=text_hash,
            size_bytes=stored.stat().st_size,
            char_count=len(loaded.markdown),
            pages=loaded.pages,
            encoding=loaded.encoding,
            toc=[entry.to_dict() for entry in extract_toc(loaded.markdown)],
            warnings=list(loaded.warnings),
            meta=_json_safe(loaded.meta),
        )
        session.add(doc)
        session.flush()
        return doc

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
