"""Shared plumbing of the service layer: the database, project lookup, per-project folders and settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loreforge.errors import NotFound
from loreforge.settings import AppConfig, ProjectSettings, build_settings
from loreforge.store import Database
from loreforge.store.models import Chunk, DatasetItem, Document, Project, Question
from loreforge.views import Counts


class ServiceBase:
    """Holds the configuration and the database; the action mixins build on it."""

    def __init__(self, config: AppConfig | None = None) -> None:
        self.config = config or AppConfig.from_env()
        self._db: Database | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            self.config.home.mkdir(parents=True, exist_ok=True)
            self._db = Database(self.config.database_url)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
            self._db = None

    # -- lookups -------------------------------------------------------------------------------------
    def _project(self, session: Session, ref: str | int) -> Project:
        """Find a project by name or numeric id."""
        project = session.scalar(select(Project).where(Project.name == str(ref)))
        if project is None and str(ref).isdigit():
            project = session.get(Project, int(ref))
        if project is None:
            names = session.scalars(select(Project.name).order_by(Project.name).limit(20)).all()
            raise NotFound(
                f"No project named '{ref}'",
                expected="an existing project name or id",
                got=repr(str(ref)),
                hint=("Existing projects: " + ", ".join(names)) if names else "Create one with `loreforge project create NAME`",
            )
        return project

    def _document(self, session: Session, project: Project, document_id: int) -> Document:
        doc = session.get(Document, int(document_id))
        if doc is None or doc.project_id != project.id:
            raise NotFound(
                f"No document {document_id} in project '{project.name}'",
                hint=f"List documents with `loreforge documents list {project.name}`",
            )
        return doc

    def _chunk(self, session: Session, project: Project, chunk_id: int) -> Chunk:
        chunk = session.get(Chunk, int(chunk_id))
        if chunk is None or chunk.project_id != project.id:
            raise NotFound(
                f"No chunk {chunk_id} in project '{project.name}'",
                hint=f"List chunks with `loreforge chunks list {project.name}`",
            )
        return chunk

    def _project_dir(self, project: Project) -> Path:
        return self.config.projects_dir / str(project.id)

    @staticmethod
    def _settings(project: Project, overrides: dict[str, Any] | None = None) -> ProjectSettings:
        merged = dict(project.settings or {})
        merged.update(overrides or {})
        return build_settings(merged)

    @staticmethod
    def _counts(session: Session, project_id: int) -> Counts:
        def count(model: Any) -> int:
            return session.scalar(select(func.count()).select_from(model).where(model.project_id == project_id)) or 0

        return Counts(
            documents=count(Document), chunks=count(Chunk), questions=count(Question), dataset_items=count(DatasetItem)
        )
