"""Usage: calls, errors, tokens and mean latency per model and per stage from the LLM call log, tokens per
finished QA pair, and calls and tokens per hour (for a chart over time)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, case, func, select
from sqlalchemy.orm import Session

from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.store.models import DatasetItem, LLMCall
from loreforge.service.usage_rows import STAGE_ROWS
from loreforge.views import PerRow, UsagePoint, UsageRow, UsageView

HOURS_SHOWN = 24 * 90  # the chart's last 90 days of hours


def _rows(session: Session, project_id: int, column: Any) -> list[UsageRow]:
    query = (
        select(column, func.count(), func.sum(case((LLMCall.status != "ok", 1), else_=0).cast(Integer)),
               func.sum(LLMCall.tokens_in), func.sum(LLMCall.tokens_out), func.avg(LLMCall.latency_ms))
        .where(LLMCall.project_id == project_id).group_by(column).order_by(column)
    )
    return [UsageRow(key=str(k), calls=n, errors=int(e or 0), tokens_in=int(i or 0), tokens_out=int(o or 0),
                     latency_ms=round(float(lat), 1) if lat is not None else None)
            for k, n, e, i, o, lat in session.execute(query)]


def _hour(session: Session) -> Any:
    """The hour of a call as text, in the database (SQLite or PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.date_trunc("hour", LLMCall.created_at), 'YYYY-MM-DD"T"HH24":00Z"')
    return func.strftime("%Y-%m-%dT%H:00Z", LLMCall.created_at)


def _by_hour(session: Session, project_id: int) -> list[UsagePoint]:
    hour = _hour(session).label("hour")
    query = (select(hour, func.count(), func.sum(LLMCall.tokens_in + LLMCall.tokens_out))
             .where(LLMCall.project_id == project_id).group_by(hour).order_by(hour.desc()).limit(HOURS_SHOWN))
    points = [UsagePoint(hour=str(h), calls=n, tokens=int(t or 0)) for h, n, t in session.execute(query)]
    return points[::-1]


class UsageActions(ServiceBase):
    def usage(self, project: str | int) -> UsageView:
        with self.db.session() as session:
            row = lookups.project(session, project)
            by_model, by_stage = _rows(session, row.id, LLMCall.model), _rows(session, row.id, LLMCall.stage)
            pairs = session.scalar(select(func.count()).select_from(DatasetItem).where(DatasetItem.project_id == row.id)) or 0
            by_hour = _by_hour(session, row.id)
            per_row = [_per_row(r, *STAGE_ROWS[r.key], session, row.id) for r in by_stage if r.key in STAGE_ROWS]
        total = sum(r.tokens_in + r.tokens_out for r in by_stage)
        return UsageView(by_model=by_model, by_stage=by_stage, qa_pairs=pairs, tokens_per_pair=round(total / pairs, 1) if pairs else None,
                         by_hour=by_hour, per_row=per_row)


def _per_row(usage: UsageRow, what: str, count: Any, session: Any, project_id: int) -> PerRow:
    """A stage's calls and tokens per row it made (rows counted in the store now)."""
    made = count(session, project_id)
    tokens = usage.tokens_in + usage.tokens_out
    return PerRow(stage=usage.key, rows=made, what=what, calls=usage.calls, tokens=tokens,
                  calls_per_row=round(usage.calls / made, 3) if made else None, tokens_per_row=round(tokens / made, 1) if made else None)
