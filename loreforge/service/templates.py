"""Question template actions: add, list, edit, delete, and apply a template — its fixed question put to every
chunk (or image) of the project as a question linked to the template. Answering is the answers stage's (for
chunks) or the image stage's (for images): they tell the model the template's answer type and enforce it
(`loreforge/generate/templates.py`)."""

from __future__ import annotations

from sqlalchemy import Integer, delete, func, select
from sqlalchemy.orm import Session

from loreforge.errors import NotFound, UserError
from loreforge.mode_views import TemplateApplied, TemplateView
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.store.models import Chunk, Project, Question, QuestionTemplate
from loreforge.views import Deleted, from_row


def template_row(session: Session, owner: Project, template_id: int) -> QuestionTemplate:
    row = session.get(QuestionTemplate, lookups.row_id(template_id) or 0)
    if row is None or row.project_id != owner.id:
        raise NotFound(f"No question template {template_id} in project '{owner.name}'",
                       hint=f"List them with `loreforge templates list {owner.name}`")
    return row


def _view(session: Session, t: QuestionTemplate) -> TemplateView:
    counts = session.execute(select(func.count(), func.sum(Question.answered.cast(Integer)))
                             .where(Question.template_id == t.id)).one()
    return from_row(TemplateView, t, labels=list(t.labels or []), questions=counts[0] or 0, answered=int(counts[1] or 0))


def _check(question: str, source: str, answer_type: str, labels: list[str], json_format: str) -> tuple[str, list[str], str]:
    from loreforge.generate.strategies import QUESTION_MAX_CHARS
    from loreforge.generate.templates import SOURCES, check_template

    text = " ".join(question.split())
    if not text:
        raise UserError("A template's question cannot be empty")
    if len(text) > QUESTION_MAX_CHARS:
        raise UserError("The template's question is too long", expected=f"at most {QUESTION_MAX_CHARS} characters", got=str(len(text)))
    if source not in SOURCES:
        raise UserError("Unknown template source", expected=", ".join(SOURCES), got=repr(source))
    clean_labels, fmt = check_template(answer_type, labels, json_format)
    return text, clean_labels, fmt


class TemplateActions(ServiceBase):
    def add_template(self, project: str | int, question: str, answer_type: str = "text", labels: list[str] | None = None,
                     json_format: str = "", description: str = "", source: str = "text") -> TemplateView:
        """A fixed question for every chunk (`source` text) or image, with its answer type: text, label (one of
        `labels`, else "other") or json (shaped like the example value `json_format`, checked now)."""
        text, clean, fmt = _check(question, source, answer_type, labels or [], json_format)
        with self.db.session() as session:
            row = lookups.project(session, project)
            last = session.scalar(select(func.max(QuestionTemplate.ordinal)).where(QuestionTemplate.project_id == row.id))
            t = QuestionTemplate(project_id=row.id, question=text, source=source, answer_type=answer_type, description=description.strip(),
                                 labels=clean, json_format=fmt, ordinal=(last or 0) + 1)
            session.add(t)
            session.flush()
            return _view(session, t)

    def list_templates(self, project: str | int) -> list[TemplateView]:
        with self.db.session() as session:
            row = lookups.project(session, project)
            query = select(QuestionTemplate).where(QuestionTemplate.project_id == row.id).order_by(QuestionTemplate.ordinal, QuestionTemplate.id)
            return [_view(session, t) for t in session.scalars(query)]

    def edit_template(self, project: str | int, template_id: int, question: str | None = None, answer_type: str | None = None,
                      labels: list[str] | None = None, json_format: str | None = None, description: str | None = None) -> TemplateView:
        """Change a template. Its questions keep their text (apply it again for sources without one); the answer type
        is read when they are answered, so a change applies to those not answered yet."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            t = template_row(session, row, template_id)
            text, clean, fmt = _check(question if question is not None else t.question, t.source, answer_type or t.answer_type,
                                      labels if labels is not None else list(t.labels or []),
                                      json_format if json_format is not None else t.json_format)
            t.question, t.answer_type, t.labels, t.json_format = text, answer_type or t.answer_type, clean, fmt
            if description is not None:
                t.description = description.strip()
            return _view(session, t)

    def delete_template(self, project: str | int, template_id: int) -> Deleted:
        """Delete a template and its questions not answered yet (answered ones stay, as plain questions)."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            t = template_row(session, row, template_id)
            session.execute(delete(Question).where(Question.template_id == t.id, Question.answered.is_(False)))
            session.delete(t)
        return Deleted(deleted=1)

    def apply_template(self, project: str | int, template_id: int, chunk_ids: list[int] | None = None) -> TemplateApplied:
        """Put the template's question to every chunk (or the given ones) — or, for an image template, every image —
        that does not have it yet. No model is called: answer them with `answers generate` (images: `images qa`, which
        answers them in its one call per image)."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            t = template_row(session, row, template_id)
            return _apply_to_images(session, row, t) if t.source == "image" else _apply_to_chunks(session, row, t, chunk_ids)


def _apply_to_images(session: Session, row: Project, t: QuestionTemplate) -> TemplateApplied:
    from loreforge.service.questions import norm_text
    from loreforge.store.models import Image

    images = list(session.scalars(select(Image.id).where(Image.project_id == row.id).order_by(Image.id)))
    have = set(session.scalars(select(Question.image_id).where(Question.template_id == t.id, Question.image_id.is_not(None))))
    new = [i for i in images if i not in have]
    session.add_all(Question(project_id=row.id, chunk_id=None, image_id=i, text=t.question, norm_text=norm_text(t.question),
                             template_id=t.id, source="template", prompt_name="template") for i in new)
    return TemplateApplied(template_id=t.id, created=len(new), existing=len(images) - len(new))


def _apply_to_chunks(session: Session, row: Project, t: QuestionTemplate, chunk_ids: list[int] | None) -> TemplateApplied:
    from loreforge.service.questions import norm_text

    query = select(Chunk.id).where(Chunk.project_id == row.id).order_by(Chunk.document_id, Chunk.ordinal)
    if chunk_ids:
        query = query.where(Chunk.id.in_(chunk_ids))
    chunks = list(session.scalars(query))
    if chunk_ids and len(chunks) != len(set(chunk_ids)):
        raise NotFound(f"No chunk {sorted(set(chunk_ids) - set(chunks))} in project '{row.name}'")
    norm = norm_text(t.question)
    have = set(session.scalars(select(Question.chunk_id).where(
        Question.project_id == row.id, Question.chunk_id.in_(chunks),
        (Question.template_id == t.id) | (Question.norm_text == norm))))
    new = [c for c in chunks if c not in have]
    session.add_all(Question(project_id=row.id, chunk_id=c, text=t.question, norm_text=norm, template_id=t.id, source="template",
                             prompt_name="template") for c in new)
    return TemplateApplied(template_id=t.id, created=len(new), existing=len(chunks) - len(new))
