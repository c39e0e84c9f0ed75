"""Usage: tokens per model and per stage from the LLM call log, and tokens per finished QA pair."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, case, func, select

from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.store.models import DatasetItem, LLMCall
from loreforge.service.usage_rows import STAGE_ROWS
from loreforge.views import PerRow, UsageRow, UsageView


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
            per_row = [_per_row(r, *STAGE_ROWS[r.key], session, row.id) for r in by_stage if r.key in STAGE_ROWS]
        total = sum(r.tokens_in + r.tokens_out for r in by_stage)
        return UsageView(by_model=by_model, by_stage=by_stage, qa_pairs=pairs, tokens_per_pair=round(total / pairs, 1) if pairs else None,
                         per_row=per_row)


def _per_row(usage: UsageRow, what: str, count: Any, session: Any, project_id: int) -> PerRow:
    """A stage's calls and tokens per row it made (rows counted in the store now)."""
    made = count(session, project_id)
    tokens = usage.tokens_in + usage.tokens_out
    return PerRow(stage=usage.key, rows=made, what=what, calls=usage.calls, tokens=tokens,
                  calls_per_row=round(usage.calls / made, 3) if made else None, tokens_per_row=round(tokens / made, 1) if made else None)
