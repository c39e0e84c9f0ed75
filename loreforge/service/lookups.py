"""Finding rows for an action, with the error a user can act on when they are not there; and the few facts
derived from a project row (its folder, its settings, its counts). Shared by every action group."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loreforge.errors import Conflict, NotFound
from loreforge.service.text_input import printable
from loreforge.settings import AppConfig, ProjectSettings, build_settings
from loreforge.store.models import Chunk, DatasetItem, Document, Job, LLMCall, ModelConfig, Project, Question, Tag, TrainRun
from loreforge.views import Counts


_ID = re.compile(r"[0-9]{1,19}")  # ASCII digits only: '²'.isdigit() is true, but int('²') fails
_MAX_ID = 2**63 - 1  # the store's integer keys; a larger number names no row (SQLite cannot even take it)


def row_id(ref: object) -> int | None:
    """`ref` as a row id when it is one (an int, or a string of ASCII digits) in the store's range, else None."""
    if isinstance(ref, bool):
        return None
    if isinstance(ref, int):
        number = ref
    elif isinstance(ref, str) and _ID.fullmatch(ref):
        number = int(ref)
    else:
        return None
    return number if 0 <= number <= _MAX_ID else None


def _get(session: Session, model: Any, ref: object) -> Any:
    ident = row_id(ref)
    return None if ident is None else session.get(model, ident)


def shown(ref: object, limit: int = 60) -> str:
    """`ref` as an error message shows it: at most `limit` characters, surrogates and NUL escaped."""
    text = str(ref)
    return printable(text[:limit]) + ("…" if len(text) > limit else "")


def project(session: Session, ref: str | int) -> Project:
    """A project by id (a plain number) or by name. Names cannot be all digits; a store made before that rule
    may hold one: it is found by that number when no project has it as its id, and a number that is both one
    project's id and another's name is refused, with how to rename."""
    text = str(ref)
    row = session.scalar(select(Project).where(Project.name == text))
    by_id = _get(session, Project, ref)
    if by_id is not None and row is not None and row.id != by_id.id:
        raise Conflict(
            f"'{text}' is both the id of project '{shown(by_id.name)}' and the name of project {row.id}",
            hint=f"Names cannot be all digits (a number means an id): rename project {row.id} with "
                 f"`loreforge project rename {row.id} NEW-NAME` (or PATCH /api/projects/{row.id})",
        )
    row = by_id or row
    if row is None:
        names = session.scalars(select(Project.name).order_by(Project.name).limit(20)).all()
        raise NotFound(
            f"No project named '{shown(ref)}'",
            expected="an existing project name or id",
            got=repr(shown(ref)),
            hint=("Existing projects: " + ", ".join(map(shown, names))) if names
            else "Create one with `loreforge project create NAME`",
        )
    return row


def _in_project(row: Any, owner: Project, what: str, ident: Any, hint: str) -> Any:
    if row is None or row.project_id != owner.id:
        raise NotFound(f"No {what} {ident} in project '{owner.name}'", hint=hint)
    return row


def document(session: Session, owner: Project, document_id: int) -> Document:
    return _in_project(_get(session, Document, document_id), owner, "document", document_id,
                       f"List documents with `loreforge documents list {owner.name}`")


def chunk(session: Session, owner: Project, chunk_id: int) -> Chunk:
    return _in_project(_get(session, Chunk, chunk_id), owner, "chunk", chunk_id,
                       f"List chunks with `loreforge chunks list {owner.name}`")


def question(session: Session, owner: Project, question_id: int) -> Question:
    return _in_project(_get(session, Question, question_id), owner, "question", question_id,
                       f"List questions with `loreforge questions list {owner.name}`")


def dataset_item(session: Session, owner: Project, item_id: int) -> DatasetItem:
    return _in_project(_get(session, DatasetItem, item_id), owner, "dataset item", item_id,
                       f"List them with `loreforge dataset list {owner.name}`")


def tag(session: Session, owner: Project, ref: str | int) -> Tag:
    """A tag by label or id."""
    row = session.scalar(select(Tag).where(Tag.project_id == owner.id, Tag.label == str(ref)))
    if row is None:
        row = _get(session, Tag, ref)
    if row is None or row.project_id != owner.id:
        raise NotFound(f"No tag '{shown(ref)}' in project '{shown(owner.name)}'", hint=f"See `loreforge tags show {owner.name}`")
    return row


def tag_id(session: Session, owner: Project, label: str | None) -> int | None:
    """The id of the tag labelled `label` ('' or None: no tag)."""
    return tag(session, owner, label).id if label else None


def job(session: Session, job_id: int) -> Job:
    row = _get(session, Job, job_id)
    if row is None:
        raise NotFound(f"No job {job_id}", hint="List jobs with `loreforge jobs list`")
    return row


def train_run(session: Session, run_id: int) -> TrainRun:
    row = _get(session, TrainRun, run_id)
    if row is None:
        raise NotFound(f"No train run {run_id}", hint="List runs with `loreforge runs list`")
    return row


def model_config(session: Session, owner: Project, name: str | None, type: str = "text") -> ModelConfig:
    """The config named `name`, or the project's active one of `type` (text, or vision)."""
    query = select(ModelConfig).where(ModelConfig.project_id == owner.id)
    row = session.scalar(query.where(ModelConfig.name == name) if name else
                         query.where(ModelConfig.active.is_(True), ModelConfig.type == type))
    if row is None:
        names = list(session.scalars(select(ModelConfig.name).where(ModelConfig.project_id == owner.id)))
        what = "named " + repr(name) if name else ("is active" if type == "text" else f"of type {type} is active")
        add = f"loreforge models add {owner.name} --provider ..." + (f" --type {type}" if type != "text" else "")
        raise NotFound(f"No model config {what} in project '{owner.name}'",
                       hint=("Known: " + ", ".join(names) + f"; or add one with `{add}`") if names else f"Add one with `{add}`")
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

    tokens = session.scalar(select(func.sum(LLMCall.tokens_in + LLMCall.tokens_out)).where(LLMCall.project_id == project_id)) or 0
    return Counts(documents=count(Document), chunks=count(Chunk), questions=count(Question), dataset_items=count(DatasetItem),
                  tokens=int(tokens))
