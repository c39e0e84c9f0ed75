"""Usage: tokens per model and per stage from the LLM call log, and tokens per finished QA pair."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, case, func, select

from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.store.models import DatasetItem, LLMCall
from loreforge.views import UsageRow, UsageView


class UsageActions(ServiceBase):
    def usage(self, project: str | int) -> UsageView:
        with self.db.session() as session:
            row = lookups.project(session, project)

            def rows(column: Any) -> list[UsageRow]:
                query = (
                    select(
                        column,
                        func.count(),
                        func.sum(case((LLMCall.status != "ok", 1), else_=0).cast(Integer)),
                        func.sum(LLMCall.tokens_in),
                        func.sum(LLMCall.tokens_out),
                    )
                    .where(LLMCall.project_id == row.id)
                    .group_by(column)
                    .order_by(column)
                )
                return [UsageRow(key=str(k), calls=n, errors=int(e or 0), tokens_in=int(i or 0), tokens_out=int(o or 0)) for k, n, e, i, o in session.execute(query)]

            by_model, by_stage = rows(LLMCall.model), rows(LLMCall.stage)
            pairs = session.scalar(select(func.count()).select_from(DatasetItem).where(DatasetItem.project_id == row.id)) or 0
        total = sum(r.tokens_in + r.tokens_out for r in by_stage)
        return UsageView(by_model=by_model, by_stage=by_stage, qa_pairs=pairs, tokens_per_pair=round(total / pairs, 1) if pairs else None)
