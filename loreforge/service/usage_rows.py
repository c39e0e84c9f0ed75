"""What each generation stage made, in rows — so that `loreforge usage` can show calls and tokens per row made
(a question, an answer, a dialogue, a cleaned chunk, a genre–audience pair, a distillation tag, an image QA pair,
a converted PDF page). One table, stage -> how to count its rows; a stage not listed shows no per-row figure."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loreforge.store.models import Chunk, DatasetItem, DistillTag, GaPair, PdfPage, Question


def _count(session: Session, query: object) -> int:
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)  # type: ignore[attr-defined]


def _cleaned(session: Session, project_id: int) -> int:
    return sum(1 for (c,) in session.execute(select(Chunk.cleaning).where(Chunk.project_id == project_id)) if c)


STAGE_ROWS: dict[str, tuple[str, Callable[[Session, int], int]]] = {
    "questions": ("questions", lambda s, p: _count(s, select(Question.id).where(
        Question.project_id == p, Question.prompt_name.in_(("questions", "questions_ga"))))),
    "answers": ("answers", lambda s, p: _count(s, select(DatasetItem.id).where(
        DatasetItem.project_id == p, DatasetItem.kind == "qa", DatasetItem.distilled.is_(False), DatasetItem.question_id.is_not(None),
        DatasetItem.image_id.is_(None)))),
    "clean": ("cleaned chunks", _cleaned),
    "ga_pairs": ("genre–audience pairs", lambda s, p: _count(s, select(GaPair.id).where(GaPair.project_id == p, GaPair.prompt_name == "ga_pairs"))),
    "dialogues": ("dialogues", lambda s, p: _count(s, select(DatasetItem.id).where(DatasetItem.project_id == p, DatasetItem.kind == "dialogue"))),
    "distill_tags": ("distillation tags", lambda s, p: _count(s, select(DistillTag.id).where(
        DistillTag.project_id == p, DistillTag.prompt_name == "distill_tags"))),
    "distill_questions": ("distilled questions", lambda s, p: _count(s, select(Question.id).where(
        Question.project_id == p, Question.source == "distill"))),
    "image_qa": ("image QA pairs", lambda s, p: _count(s, select(DatasetItem.id).where(
        DatasetItem.project_id == p, DatasetItem.image_id.is_not(None)))),
    "pdf_pages": ("PDF pages read by the vision model", lambda s, p: _count(s, select(PdfPage.id).where(
        PdfPage.project_id == p, PdfPage.strategy == "vision"))),
    "distill_answers": ("distilled answers", lambda s, p: _count(s, select(DatasetItem.id).where(
        DatasetItem.project_id == p, DatasetItem.distilled.is_(True), DatasetItem.kind == "qa"))),
}
