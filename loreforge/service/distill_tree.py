"""Distillation trees, as data: a topic (depth 0) and its sub-tags — find or make the topic, the path of a tag, the
leaves, the tree as views; and the actions that edit it by hand (list, add, rename, delete). The stages that fill it
and use it are in `service/distill.py`."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loreforge.errors import Conflict, NotFound, UserError
from loreforge.mode_views import DistillTagView
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.store.models import DatasetItem, DistillTag, Project, Question
from loreforge.views import Deleted, from_row

LABEL_MAX = 300


def tag_row(session: Session, owner: Project, ref: str | int) -> DistillTag:
    """A distillation tag by id, or a topic by its label."""
    ident = lookups.row_id(ref)
    row = session.get(DistillTag, ident) if ident is not None else None
    if row is None:
        row = session.scalar(select(DistillTag).where(DistillTag.project_id == owner.id, DistillTag.parent_id.is_(None),
                                                      DistillTag.label == str(ref)))
    if row is None or row.project_id != owner.id:
        raise NotFound(f"No distillation tag or topic '{lookups.shown(ref)}' in project '{owner.name}'",
                       hint=f"See `loreforge distill tree {owner.name}`")
    return row


def topic_row(session: Session, owner: Project, topic: str) -> DistillTag:
    """The project's topic of that label, made when it is new."""
    label = " ".join(topic.split())[:LABEL_MAX]
    if not label:
        raise UserError("A distillation topic cannot be empty", hint='e.g. `loreforge distill run PROJECT "新能源汽车电池"`')
    row = session.scalar(select(DistillTag).where(DistillTag.project_id == owner.id, DistillTag.parent_id.is_(None), DistillTag.label == label))
    if row is None:
        row = DistillTag(project_id=owner.id, label=label, depth=0, source="manual")
        session.add(row)
        session.flush()
    return row


def all_tags(session: Session, project_id: int) -> dict[int, DistillTag]:
    return {t.id: t for t in session.scalars(select(DistillTag).where(DistillTag.project_id == project_id))}


def path_of(tags: dict[int, DistillTag], tag: DistillTag) -> str:
    parts = [tag.label]
    while tag.parent_id is not None and tag.parent_id in tags:
        tag = tags[tag.parent_id]
        parts.append(tag.label)
    return " > ".join(reversed(parts))


def root_of(tags: dict[int, DistillTag], tag: DistillTag) -> DistillTag:
    while tag.parent_id is not None and tag.parent_id in tags:
        tag = tags[tag.parent_id]
    return tag


def leaves(tags: dict[int, DistillTag], topic_id: int | None) -> list[DistillTag]:
    """Tags without children (a bare topic is not a leaf), of one topic or of all, in tree order."""
    parents = {t.parent_id for t in tags.values() if t.parent_id is not None}
    out = [t for t in tags.values() if t.id not in parents and t.parent_id is not None
           and (topic_id is None or root_of(tags, t).id == topic_id)]
    return sorted(out, key=lambda t: (path_of(tags, t), t.id))


def tree_views(session: Session, owner: Project) -> list[DistillTagView]:
    tags = all_tags(session, owner.id)
    if not tags:
        return []
    mine = Question.distill_tag_id.in_(list(tags))  # through the index on distill_tag_id: never a scan of every question
    counts = dict(session.execute(select(Question.distill_tag_id, func.count()).where(mine).group_by(Question.distill_tag_id)).all())
    answered = dict(session.execute(
        select(Question.distill_tag_id, func.count()).join(DatasetItem, DatasetItem.question_id == Question.id)
        .where(mine, DatasetItem.distilled.is_(True)).group_by(Question.distill_tag_id)).all())
    views = {t.id: from_row(DistillTagView, t, questions=counts.get(t.id, 0), items=answered.get(t.id, 0), children=[])
             for t in sorted(tags.values(), key=lambda t: (t.ordinal, t.id))}
    roots: list[DistillTagView] = []
    for t in sorted(tags.values(), key=lambda t: (t.ordinal, t.id)):
        (views[t.parent_id].children if t.parent_id in views else roots).append(views[t.id])
    return roots


def _free(session: Session, owner: Project, parent_id: int | None, label: str, except_id: int | None = None) -> str:
    text = " ".join(label.split())[:LABEL_MAX]
    if not text:
        raise UserError("A distillation tag cannot be empty")
    query = select(DistillTag.id).where(DistillTag.project_id == owner.id, DistillTag.label == text,
                                        DistillTag.parent_id.is_(None) if parent_id is None else DistillTag.parent_id == parent_id)
    if except_id is not None:
        query = query.where(DistillTag.id != except_id)
    if session.scalar(query) is not None:
        raise Conflict(f"Distillation tag '{text}' already exists there", hint="Choose another label")
    return text


class DistillTreeActions(ServiceBase):
    def list_distill_tags(self, project: str | int) -> list[DistillTagView]:
        """Every distillation tree of the project: topics, their sub-tags, question and item counts."""
        with self.db.session() as session:
            return tree_views(session, lookups.project(session, project))

    def add_distill_tag(self, project: str | int, label: str, parent: str | int | None = None) -> DistillTagView:
        """Add a sub-tag under `parent` (a tag id or a topic's label), or a new topic."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            up = tag_row(session, row, parent) if parent is not None else None
            last = session.scalar(select(func.max(DistillTag.ordinal)).where(
                DistillTag.project_id == row.id, DistillTag.parent_id == up.id if up else DistillTag.parent_id.is_(None)))
            tag = DistillTag(project_id=row.id, parent_id=up.id if up else None, label=_free(session, row, up.id if up else None, label),
                             depth=up.depth + 1 if up else 0, ordinal=(last or 0) + 1, source="manual")
            session.add(tag)
            session.flush()
            return from_row(DistillTagView, tag, children=[])

    def rename_distill_tag(self, project: str | int, tag: str | int, label: str) -> DistillTagView:
        with self.db.session() as session:
            row = lookups.project(session, project)
            t = tag_row(session, row, tag)
            t.label, t.source = _free(session, row, t.parent_id, label, t.id), "manual"
            return from_row(DistillTagView, t, children=[])

    def delete_distill_tag(self, project: str | int, tag: str | int) -> Deleted:
        """Delete a tag (or topic) and everything under it; its questions and items stay, without a tag."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            t = tag_row(session, row, tag)
            tags = all_tags(session, row.id)
            gone = [x for x in tags.values() if x.id == t.id or path_of(tags, x).startswith(path_of(tags, t) + " > ")]
            session.delete(t)
        return Deleted(deleted=len(gone))
