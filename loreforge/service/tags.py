"""Domain tag actions: build the two-level tag tree from the project's TOC through the generation strategy (an
LLM: rebuild / revise with minimal changes / keep; offline: from the headings), show it, and edit it by hand."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loreforge.errors import Conflict, UserError
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.service.llm import run_sync, with_strategy
from loreforge.service.model_configs import generation
from loreforge.service.prompts import load_prompts
from loreforge.store.models import Document, Project, Question, Tag
from loreforge.views import Deleted, TagView, from_row


def ensure_label_free(session: Session, row: Project, label: str, except_id: int | None = None) -> None:
    """Refuse `label` when another tag of the project has it (labels are unique per project)."""
    query = select(Tag.id).where(Tag.project_id == row.id, Tag.label == label)
    if except_id is not None:
        query = query.where(Tag.id != except_id)
    if session.scalar(query) is not None:
        raise Conflict(f"Tag '{label}' already exists", hint="Choose another label, or delete that tag first")


def _flush_label(session: Session, label: str) -> None:
    """Write a new or renamed tag now: another process that took the label since `ensure_label_free` looked
    loses to the store's unique (project, label), as a Conflict, not a database error."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"Tag '{label}' already exists", hint="Choose another label, or delete that tag first") from exc


def tag_tree(session: Session, row: Project) -> list[TagView]:
    tags = list(session.scalars(select(Tag).where(Tag.project_id == row.id).order_by(Tag.ordinal, Tag.id)))
    counts = dict(session.execute(select(Question.tag_id, func.count()).where(Question.project_id == row.id).group_by(Question.tag_id)).all())
    views = {t.id: from_row(TagView, t, questions=counts.get(t.id, 0), children=[]) for t in tags}
    roots = []
    for t in tags:
        (views[t.parent_id].children if t.parent_id in views else roots).append(views[t.id])
    return roots


def replace_tree(session: Session, row: Project, tree: list[Any]) -> None:
    """Keep rows whose label survives (questions keep their tag; a tag may move between levels), add new ones, drop
    the rest. Labels are unique in a project (`clean_tree` makes them so in a tree)."""
    old = {t.label: t for t in session.scalars(select(Tag).where(Tag.project_id == row.id))}
    keep: set[int] = set()
    for i, node in enumerate(tree):
        parent = old.get(node.label) or Tag(project_id=row.id, label=node.label)
        parent.parent_id, parent.ordinal = None, i
        session.add(parent)
        session.flush()
        keep.add(parent.id)
        for j, label in enumerate(node.children):
            child = old.get(label) or Tag(project_id=row.id, label=label)
            child.parent_id, child.ordinal = parent.id, j
            session.add(child)
            session.flush()
            keep.add(child.id)
    for tag in old.values():
        if tag.id not in keep:
            session.delete(tag)


class TagActions(ServiceBase):
    def show_tags(self, project: str | int) -> list[TagView]:
        with self.db.session() as session:
            return tag_tree(session, lookups.project(session, project))

    async def abuild_tags(self, project: str | int, mode: str | None = None, model: str | None = None,
                          provider: str | None = None) -> list[TagView]:
        """Turn the project's TOC into a two-level tag tree (one LLM call, logged; offline: from the headings)."""
        from loreforge.generate.strategies import StageContext
        from loreforge.generate.tags import TagNode, clean_tree

        with self.db.session() as session:
            row = lookups.project(session, project)
            gen = generation(self.secrets, session, row, model, provider, {"tags.mode": mode} if mode else None)
            mode = gen.settings.tags.mode
            existing = [TagNode(label=t.label, children=[c.label for c in t.children]) for t in tag_tree(session, row)]
            if mode == "keep" and existing:
                return tag_tree(session, row)
            docs = list(session.scalars(select(Document).where(Document.project_id == row.id).order_by(Document.id)))
            if not docs:
                raise UserError(f"Project '{row.name}' has no documents to build tags from", hint="Ingest documents first")
            toc = [(d.title or d.filename, list(d.toc or [])) for d in docs]
            ctx = StageContext("tags", row.id, None, gen.settings, load_prompts(self.config, row, "system", "tags"), gen.config.options.options())
        tree = clean_tree(await with_strategy(self.db, gen, lambda strategy: strategy.tags(ctx, toc, existing, mode)))
        with self.db.session() as session:
            row = lookups.project(session, project)
            replace_tree(session, row, tree)
            return tag_tree(session, row)

    def build_tags(self, project: str | int, mode: str | None = None, model: str | None = None, provider: str | None = None) -> list[TagView]:
        """The blocking twin of `abuild_tags`."""
        return run_sync(self.abuild_tags(project, mode, model, provider))

    def add_tag(self, project: str | int, label: str, parent: str | None = None) -> TagView:
        if not label.strip():
            raise UserError("A tag label cannot be empty")
        with self.db.session() as session:
            row = lookups.project(session, project)
            parent_tag = lookups.tag(session, row, parent) if parent else None
            ensure_label_free(session, row, label.strip())
            tag = Tag(project_id=row.id, label=label.strip(), parent_id=parent_tag.id if parent_tag else None, ordinal=10_000)
            session.add(tag)
            _flush_label(session, label.strip())
            return from_row(TagView, tag, questions=0, children=[])

    def rename_tag(self, project: str | int, tag: str | int, new_label: str) -> TagView:
        if not new_label.strip():
            raise UserError("A tag label cannot be empty")
        with self.db.session() as session:
            row = lookups.project(session, project)
            t = lookups.tag(session, row, tag)
            label = new_label.strip()
            ensure_label_free(session, row, label, t.id)
            t.label = label
            _flush_label(session, label)
            return from_row(TagView, t, questions=0, children=[])

    def delete_tag(self, project: str | int, tag: str | int) -> Deleted:
        """Delete a tag (and its children); questions keep their text and lose the tag."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            t = lookups.tag(session, row, tag)
            children = session.scalar(select(func.count()).select_from(Tag).where(Tag.parent_id == t.id)) or 0
            session.delete(t)
        return Deleted(deleted=1 + children)
