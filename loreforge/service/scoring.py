"""The AI quality score as a job: a judge prompt scores each matching dataset item 0-5 through the runner,
with a one-line reason; `min_score` confirms items at or above it and unconfirms those below."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loreforge.errors import UserError
from loreforge.service.dataset import DatasetActions, DatasetFilter
from loreforge.service.engine import Progress, StagePlan
from loreforge.service.stage_common import done_keys, input_hash, model_key
from loreforge.store.models import Chunk, DatasetItem, Project
from loreforge.views import JobView

STAGE = "score"


@dataclass(frozen=True)
class SPayload:
    item_id: int
    chunk: str
    question: str
    answer: str


@dataclass(frozen=True)
class SResult:
    score: float
    reason: str
    detail: dict[str, float]


class ScoringActions(DatasetActions):
    def score_dataset(
        self,
        project: str | int,
        filter: DatasetFilter | None = None,
        model: str | None = None,
        min_score: float | None = None,
        force: bool = False,
        background: bool = False,
        on_progress: Progress | None = None,
    ) -> JobView:
        """Score matching items 0-5 with the judge prompt (items already scored with the same prompt and
        model are skipped unless `force`)."""
        if min_score is not None and not 0 <= min_score <= 5:
            raise UserError("Invalid --min-score", expected="0 to 5", got=str(min_score))
        with self.db.session() as session:
            row = self._project(session, project)
            plan = self._score_plan(session, row, filter, model, min_score, force)
        return self._launch(plan, background=background, on_progress=on_progress)

    def _score_plan(self, session: Session, row: Project, f: DatasetFilter | None, model: str | None, min_score: float | None, force: bool) -> StagePlan:
        config = self._provider_config(session, row, model=model)
        if config.provider == "extractive":
            raise UserError("Scoring needs an LLM", hint=f"Add one with `loreforge models add {row.name} --provider ...`")
        system, prompt = self._prompt(row, "system"), self._prompt(row, "judge")
        items = self._labelled(session.scalars(self._items(session, row, f).order_by(DatasetItem.id)), f)
        chunks = dict(session.execute(select(Chunk.id, Chunk.text).where(Chunk.id.in_({i.chunk_id for i in items if i.chunk_id}))).all())
        skip = set() if force else done_keys(session, row.id, STAGE)
        todo: list[tuple[str, Any]] = []
        for item in items:
            source = chunks.get(item.chunk_id, "") if item.chunk_id else ""
            h = input_hash(STAGE, item.question, item.answer, source, system.hash, prompt.hash, model_key(config))
            key = f"item:{item.id}:{h[:16]}"
            if key not in skip:
                todo.append((key, SPayload(item.id, source, item.question, item.answer)))

        def make_worker(_provider: Any, runner: Any, job_id: int) -> Any:
            from loreforge.generate.judge import JudgeReply, judge_messages
            from loreforge.generate.runner import CallMeta

            options = config.options.options()

            async def work(p: SPayload) -> SResult:
                meta = CallMeta(STAGE, prompt.name, prompt.hash, job_id, row.id, f"item:{p.item_id}")
                reply = (await runner.call_json(judge_messages(system, prompt, p.chunk, p.question, p.answer), JudgeReply, options=options, meta=meta)).value
                detail = {k: getattr(reply, k) for k in ("question_quality", "accuracy", "relevance", "consistency")}
                return SResult(reply.overall, reply.reason.strip(), detail)

            return work

        def store(s: Session, _job_id: int, p: SPayload, r: SResult) -> None:
            item = s.get(DatasetItem, p.item_id)
            if item is None:
                return
            item.score, item.score_reason = r.score, r.reason
            if min_score is not None:
                item.confirmed = r.score >= min_score

        params = {"filter": f.model_dump(exclude_none=True) if f else {}, "model": model, "min_score": min_score, "force": force}
        return StagePlan(STAGE, row.id, config, self._runner_settings(self._settings(row)), todo, params, make_worker, store)
