"""What each way of making data (issue 15) has made in a project, counted in the database in a few aggregate
queries: dataset items made in a genre–audience pair, dialogues, distilled items, image QA, items with a chain of
thought; cleaned and flagged chunks; templates, images, pairs, distillation topics and PDF conversions. The web UI's
More data page shows it; `loreforge project modes PROJECT` and `GET /api/projects/{p}/modes` give it."""

from __future__ import annotations

from sqlalchemy import Integer, func, select
from sqlalchemy.sql import ColumnElement

from loreforge.mode_views import ModeSummaryView
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.store.models import Chunk, DatasetItem, DistillTag, GaPair, Image, Job, QuestionTemplate

PDF_KINDS = ("pdf_pages", "pdf_mineru")


def _sum(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(condition.cast(Integer)), 0)


class ModeSummaryActions(ServiceBase):
    def mode_summary(self, project: str | int) -> ModeSummaryView:
        """How many rows each way of making data has made in the project (one scan of its dataset items)."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            items = session.execute(select(
                _sum(DatasetItem.ga_pair_id.is_not(None)), _sum(DatasetItem.kind == "dialogue"), _sum(DatasetItem.distilled.is_(True)),
                _sum(DatasetItem.image_id.is_not(None)), _sum(DatasetItem.cot != ""),
            ).where(DatasetItem.project_id == row.id)).one()
            flagged = Chunk.cleaning["flagged"].as_boolean().is_(True)
            chunks = session.execute(select(_sum(Chunk.original_text.is_not(None)), _sum(flagged)).where(Chunk.project_id == row.id)).one()

            def count(model: type, *where: ColumnElement[bool]) -> int:
                return int(session.scalar(select(func.count()).select_from(model).where(model.project_id == row.id, *where)) or 0)  # type: ignore[attr-defined]

            return ModeSummaryView(
                ga_items=int(items[0]), dialogues=int(items[1]), distilled_items=int(items[2]), image_items=int(items[3]),
                cot_items=int(items[4]), cleaned_chunks=int(chunks[0]), flagged_chunks=int(chunks[1]),
                templates=count(QuestionTemplate), images=count(Image), ga_pairs=count(GaPair),
                active_ga_pairs=count(GaPair, GaPair.active.is_(True)), distill_topics=count(DistillTag, DistillTag.parent_id.is_(None)),
                pdf_jobs=count(Job, Job.kind.in_(PDF_KINDS)),
                cot_setting=lookups.settings(row).answers.cot,
            )
