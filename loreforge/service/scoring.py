"""The AI quality score as a job: a judge prompt scores each matching dataset item 0-5 through the strategy,
with a one-line reason; `min_score` confirms items at or above it and unconfirms those below."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loreforge.errors import UserError
from loreforge.secrets import SecretBox
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.service.dataset import DatasetFilter, matching
from loreforge.service.model_configs import generation
from loreforge.service.prompts import load_prompts
from loreforge.service.stage_common import input_hash
from loreforge.service.stages import Progress, StagePlan, Stored, alaunch, launch, not_done
from loreforge.settings import AppConfig
from loreforge.store.models import Chunk, DatasetItem, Project
from loreforge.views import JobView

STAGE = "score"


@dataclass(frozen=True)
class SPayload:
    item_id: int
    chunk: str
    question: str
    answer: str


def score_plan(config: AppConfig, secrets: SecretBox, session: Session, row: Project, f: DatasetFilter | None,
               model: str | None, min_score: float | None, force: bool, provider: str | None = None) -> StagePlan:
    from loreforge.generate.strategies import ScoreTask, StageContext

    if min_score is not None and not 0 <= min_score <= 5:
        raise UserError("Invalid --min-score", expected="0 to 5", got=str(min_score))
    gen = generation(secrets, session, row, model, provider)
    gen.check(STAGE)
    prompts = load_prompts(config, row, "system", "judge")
    items = matching(session, row, f)
    chunks = dict(session.execute(select(Chunk.id, Chunk.text).where(Chunk.id.in_({i.chunk_id for i in items if i.chunk_id}))).all())
    todo: list[tuple[str, Any]] = []
    for item in items:
        source = chunks.get(item.chunk_id, "") if item.chunk_id else ""
        h = input_hash(STAGE, item.question, item.answer, source, prompts["system"].hash, prompts["judge"].hash, gen.model_key)
        todo.append((f"item:{item.id}:{h[:16]}", SPayload(item.id, source, item.question, item.answer)))

    def context(job_id: int) -> StageContext:
        return StageContext(STAGE, row.id, job_id, gen.settings, prompts, gen.config.options.options())

    async def work(strategy: Any, ctx: StageContext, p: SPayload) -> Any:
        return await strategy.score(ctx, ScoreTask(p.item_id, p.chunk, p.question, p.answer))

    def store(s: Session, _job_id: int, p: SPayload, draft: Any) -> Stored:
        item = s.get(DatasetItem, p.item_id)
        if item is None:
            return Stored(f"dataset item {p.item_id} was deleted while it was being scored")
        item.score, item.score_reason = draft.score, draft.reason
        if min_score is not None:
            item.confirmed = draft.score >= min_score
        return Stored()

    params = {"filter": f.model_dump(exclude_none=True) if f else {}, "model": model, "min_score": min_score, "force": force}
    todo = not_done(session, row.id, STAGE, todo, force)
    return StagePlan(STAGE, gen, todo, params, context, work, store, force=force)


class ScoringActions(ServiceBase):
    def _score_plan(self, project: str | int, filter: DatasetFilter | None, model: str | None, min_score: float | None,
                    force: bool, provider: str | None) -> StagePlan:
        with self.db.session() as session:
            return score_plan(self.config, self.secrets, session, lookups.project(session, project), filter, model, min_score,
                              force, provider)

    async def ascore_dataset(
        self, project: str | int, filter: DatasetFilter | None = None, model: str | None = None, min_score: float | None = None,
        force: bool = False, background: bool = False, on_progress: Progress | None = None, provider: str | None = None,
    ) -> JobView:
        """Score matching items 0-5 with the judge prompt (items already scored with the same prompt and
        model are skipped unless `force`). `model` names a model config; `provider` an offline strategy, as for
        generation (the extractive one cannot judge: a clear error before any work)."""
        plan = self._score_plan(project, filter, model, min_score, force, provider)
        return await alaunch(self.db, plan, background=background, on_progress=on_progress)

    def score_dataset(
        self, project: str | int, filter: DatasetFilter | None = None, model: str | None = None, min_score: float | None = None,
        force: bool = False, background: bool = False, on_progress: Progress | None = None, provider: str | None = None,
    ) -> JobView:
        """The blocking twin of `ascore_dataset`."""
        return launch(self.db, self._score_plan(project, filter, model, min_score, force, provider), background=background,
                      on_progress=on_progress)
