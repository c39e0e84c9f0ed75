"""Finding rows for an action, with the error a user can act on when they are not there; and the few facts
derived from a project row (its folder, its settings, its counts). Shared by every action group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loreforge.errors import NotFound
from loreforge.settings import AppConfig, ProjectSettings, build_settings
from loreforge.store.models import Chunk, DatasetItem, Document, Job, ModelConfig, Project, Question, Tag, TrainRun
from loreforge.views import Counts


def project(session: Session, ref: str | int) -> Project:
    """A project by name or numeric id."""
    row = session.scalar(select(Project).where(Project.name == str(ref)))
    if row is None and str(ref).isdigit():
        row = session.get(Project, int(ref))
    if row is None:
        names = session.scalars(select(Project.name).order_by(Project.name).limit(20)).all()
        raise NotFound(
            f"No project named '{ref}'",
            expected="an existing project name or id",
            got=repr(str(ref)),
            hint=("Existing projects: " + ", ".join(names)) if names else "Create one with `loreforge project create NAME`",
        )
    return row


def _in_project(row: Any, owner: Project, what: str, ident: Any, hint: str) -> Any:
    if row is None or row.project_id != owner.id:
        raise NotFound(f"No {what} {ident} in project '{owner.name}'", hint=hint)
    return row


def document(session: Session, owner: Project, document_id: int) -> Document:
    return _in_project(session.get(Document, int(document_id)), owner, "document", document_id,
                       f"List documents with `loreforge documents list {owner.name}`")


def chunk(session: Session, owner: Project, chunk_id: int) -> Chunk:
    return _in_project(session.get(Chunk, int(chunk_id)), owner, "chunk", chunk_id,
                       f"List chunks with `loreforge chunks list {owner.name}`")


def question(session: Session, owner: Project, question_id: int) -> Question:
    return _in_project(session.get(Question, int(question_id)), owner, "question", question_id,
                       f"List questions with `loreforge questions list {owner.name}`")


def dataset_item(session: Session, owner: Project, item_id: int) -> DatasetItem:
    return _in_project(session.get(DatasetItem, int(item_id)), owner, "dataset item", item_id,
                       f"List them with `loreforge dataset list {owner.name}`")


def tag(session: Session, owner: Project, ref: str | int) -> Tag:
    """A tag by label or id."""
    row = session.scalar(select(Tag).where(Tag.project_id == owner.id, Tag.label == str(ref)))
    if row is None and str(ref).isdigit():
        row = session.get(Tag, int(ref))
    if row is None or row.project_id != owner.id:
        raise NotFound(f"No tag '{ref}' in project '{owner.name}'", hint=f"See `loreforge tags show {owner.name}`")
    return row


def tag_id(session: Session, owner: Project, label: str | None) -> int | None:
    """The id of the tag labelled `label` ('' or None: no tag)."""
    return tag(session, owner, label).id if label else None


def job(session: Session, job_id: int) -> Job:
    row = session.get(Job, int(job_id))
    if row is None:
        raise NotFound(f"No job {job_id}", hint="List jobs with `loreforge jobs list`")
    return row


def train_run(session: Session, run_id: int) -> TrainRun:
    row = session.get(TrainRun, int(run_id))
    if row is None:
        raise NotFound(f"No train run {run_id}", hint="List runs with `loreforge runs list`")
    return row


def model_config(session: Session, owner: Project, name: str | None) -> ModelConfig:
    """The config named `name`, or the project's active one."""
    query = select(ModelConfig).where(ModelConfig.project_id == owner.id)
    row = session.scalar(query.where(ModelConfig.name == name) if name else query.where(ModelConfig.active.is_(True)))
    if row is None:
        names = list(session.scalars(select(ModelConfig.name).where(ModelConfig.project_id == owner.id)))
        raise NotFound(
            f"No model config {'named ' + repr(name) if name else 'is active'} in project '{owner.name}'",
            hint=("Known: " + ", ".join(names)) if names else f"Add one with `loreforge models add {owner.name} --provider ...`",
        )
    return row


def project_dir(config: AppConfig, owner: Project) -> Path:
    return config.projects_dir / str(owner.id)


def settings(owner: Project, overrides: dict[str, Any] | None = None) -> ProjectSettings:
    """The project's effective settings, with one-off `overrides` (dotted keys) on top."""
    merged = dict(owner.settings or {})
    merged.update(overrides or {})
    return build_settings(merged)


def counts(session: Session, project_id: int) -> Counts:
    def count(model: Any) -> int:
        return session.scalar(select(func.count()).select_from(model).where(model.project_id == project_id)) or 0

    return Counts(documents=count(Document), chunks=count(Chunk), questions=count(Question), dataset_items=count(DatasetItem))
