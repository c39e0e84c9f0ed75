"""Domain tag actions: build the two-level tag tree from the project's TOC through an LLM (rebuild / revise
with minimal changes / keep; offline: from the headings), show it, and edit it by hand."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loreforge.errors import Conflict, NotFound, UserError
from loreforge.service.answers import AnswerActions
from loreforge.store.models import Document, Project, Question, Tag
from loreforge.views import Deleted, TagView

CHILDREN_FROM_HEADINGS = 6


class TagActions(AnswerActions):
    def show_tags(self, project: str | int) -> list[TagView]:
        with self.db.session() as session:
            return self._tag_tree(session, self._project(session, project))

    def _tag_tree(self, session: Session, row: Project) -> list[TagView]:
        tags = list(session.scalars(select(Tag).where(Tag.project_id == row.id).order_by(Tag.ordinal, Tag.id)))
        counts = dict(session.execute(select(Question.tag_id, func.count()).where(Question.project_id == row.id).group_by(Question.tag_id)).all())
        views = {t.id: TagView(id=t.id, label=t.label, parent_id=t.parent_id, questions=counts.get(t.id, 0)) for t in tags}
        roots = []
        for t in tags:
            (views[t.parent_id].children if t.parent_id in views else roots).append(views[t.id])
        return roots

    def build_tags(self, project: str | int, mode: str | None = None, model: str | None = None, provider: str | None = None) -> list[TagView]:
        """Turn the project's TOC into a two-level tag tree (one LLM call, logged)."""
        from loreforge.generate.tags import TagNode, clean_tree, toc_text

        with self.db.session() as session:
            row = self._project(session, project)
            settings = self._settings(row, {"tags.mode": mode} if mode else None)
            mode = settings.tags.mode
            existing = [TagNode(label=t.label, children=[c.label for c in t.children]) for t in self._tag_tree(session, row)]
            if mode == "keep" and existing:
                return self._tag_tree(session, row)
            docs = list(session.scalars(select(Document).where(Document.project_id == row.id).order_by(Document.id)))
            if not docs:
                raise UserError(f"Project '{row.name}' has no documents to build tags from", hint="Ingest documents first")
            config = self._provider_config(session, row, model=model, provider=provider)
            toc = [(d.title or d.filename, list(d.toc or [])) for d in docs]
            project_id, language = row.id, settings.language
            system, prompt = self._prompt(row, "system"), self._prompt(row, "tags")
            runner_settings = self._runner_settings(settings)
        if config.provider == "extractive":
            tree = _tags_from_headings(toc)
        else:
            tree = self._llm_tags(config, runner_settings, system, prompt, toc_text(toc), existing, mode, language, project_id)
        tree = clean_tree(tree)
        with self.db.session() as session:
            row = self._project(session, project)
            self._replace_tree(session, row, tree)
            return self._tag_tree(session, row)

    def _llm_tags(self, config: Any, runner_settings: Any, system: Any, prompt: Any, toc: str, existing: list[Any], mode: str, language: str, project_id: int) -> list[Any]:
        from loreforge.generate.runner import CallMeta, Runner
        from loreforge.generate.tags import TagsReply, tag_messages
        from loreforge.providers import make_provider

        messages = tag_messages(system, prompt, toc, existing, mode, language)
        calls: list[Any] = []

        async def go() -> Any:
            provider = make_provider(config)
            try:
                async with Runner(provider, runner_settings, sink=calls.append) as runner:
                    meta = CallMeta("tags", prompt.name, prompt.hash, None, project_id)
                    return await runner.call_json(messages, TagsReply, options=config.options.options(), meta=meta)
            finally:
                await provider.aclose()

        try:
            return list(asyncio.run(go()).value.tags)
        finally:
            self._log_calls(calls)

    @staticmethod
    def _replace_tree(session: Session, row: Project, tree: list[Any]) -> None:
        """Keep rows whose label survives (questions keep their tag), add new ones, drop the rest."""
        old = {(t.parent_id is None, t.label): t for t in session.scalars(select(Tag).where(Tag.project_id == row.id))}
        keep: set[int] = set()
        for i, node in enumerate(tree):
            parent = old.get((True, node.label)) or Tag(project_id=row.id, label=node.label)
            parent.parent_id, parent.ordinal = None, i
            session.add(parent)
            session.flush()
            keep.add(parent.id)
            for j, label in enumerate(node.children):
                child = old.get((False, label)) or Tag(project_id=row.id, label=label)
                child.parent_id, child.ordinal = parent.id, j
                session.add(child)
                session.flush()
                keep.add(child.id)
        for tag in old.values():
            if tag.id not in keep:
                session.delete(tag)

    def _tag(self, session: Session, row: Project, ref: str | int) -> Tag:
        tag = session.scalar(select(Tag).where(Tag.project_id == row.id, Tag.label == str(ref)))
        if tag is None and str(ref).isdigit():
            tag = session.get(Tag, int(ref))
        if tag is None or tag.project_id != row.id:
            raise NotFound(f"No tag '{ref}' in project '{row.name}'", hint=f"See `loreforge tags show {row.name}`")
        return tag

    def add_tag(self, project: str | int, label: str, parent: str | None = None) -> TagView:
        if not label.strip():
            raise UserError("A tag label cannot be empty")
        with self.db.session() as session:
            row = self._project(session, project)
            parent_tag = self._tag(session, row, parent) if parent else None
            if session.scalar(select(Tag).where(Tag.project_id == row.id, Tag.label == label.strip())):
                raise Conflict(f"Tag '{label}' already exists")
            tag = Tag(project_id=row.id, label=label.strip(), parent_id=parent_tag.id if parent_tag else None, ordinal=10_000)
            session.add(tag)
            session.flush()
            return TagView(id=tag.id, label=tag.label, parent_id=tag.parent_id)

    def rename_tag(self, project: str | int, tag: str | int, new_label: str) -> TagView:
        if not new_label.strip():
            raise UserError("A tag label cannot be empty")
        with self.db.session() as session:
            row = self._project(session, project)
            t = self._tag(session, row, tag)
            t.label = new_label.strip()
            return TagView(id=t.id, label=t.label, parent_id=t.parent_id)

    def delete_tag(self, project: str | int, tag: str | int) -> Deleted:
        """Delete a tag (and its children); questions keep their text and lose the tag."""
        with self.db.session() as session:
            row = self._project(session, project)
            t = self._tag(session, row, tag)
            children = session.scalar(select(func.count()).select_from(Tag).where(Tag.parent_id == t.id)) or 0
            session.delete(t)
        return Deleted(deleted=1 + children)


def _tags_from_headings(toc: list[tuple[str, list[dict[str, Any]]]]) -> list[Any]:
    """Offline tag tree: one top-level tag per document, its main section headings as children."""
    from loreforge.generate.tags import TagNode

    tree = []
    for title, nodes in toc:
        sections = nodes[0].get("children", []) if len(nodes) == 1 else nodes
        kids = [str(n.get("title", ""))[:40] for n in sections][:CHILDREN_FROM_HEADINGS]
        tree.append(TagNode(label=title[:40], children=kids))
    return tree
