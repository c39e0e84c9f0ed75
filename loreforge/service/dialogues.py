"""Dialogue actions: from questions and their chunks, multi-turn conversations between a user role and an assistant
role as a job (kind `dialogues`: one item per question, the whole dialogue in one call where the model allows).
Each dialogue is a dataset item of kind `dialogue` — reviewed, scored, exported and trained like QA pairs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loreforge.errors import NotFound
from loreforge.filters import QuestionFilter
from loreforge.secrets import SecretBox
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.service.model_configs import generation
from loreforge.service.prompts import load_prompts
from loreforge.service.selection import question_conditions
from loreforge.service.stage_common import input_hash
from loreforge.service.stages import Progress, StagePlan, Stored, alaunch, launch, not_done
from loreforge.settings import AppConfig
from loreforge.store.models import Chunk, DatasetItem, Project, Question, Tag
from loreforge.views import JobView

STAGE = "dialogues"
KIND = "dialogue"
OPTIONS = ("rounds", "mode", "user_role", "assistant_role", "scenario", "system_prompt")


@dataclass(frozen=True)
class DPayload:
    question_id: int
    chunk_id: int | None
    chunk: str
    question: str
    tag: str
    ga_pair_id: int | None
    input_hash: str


def _questions(session: Session, row: Project, question_ids: list[int] | None, force: bool,
               question_filter: QuestionFilter | None = None) -> list[tuple[Question, Chunk | None, str]]:
    """(question, its chunk or None for a distilled one, tag label) to make dialogues of — those matching
    `question_filter`; without `force` only questions that have no dialogue yet. Questions whose chunk is gone (not
    distilled) are left out."""
    query = (select(Question, Chunk, Tag.label).outerjoin(Chunk, Chunk.id == Question.chunk_id).outerjoin(Tag, Tag.id == Question.tag_id)
             .where(Question.project_id == row.id).order_by(Question.id))
    query = question_conditions(query, row, question_filter)
    if question_ids is not None:
        query = query.where(Question.id.in_(question_ids))
    if not force:
        has = select(DatasetItem.question_id).where(DatasetItem.project_id == row.id, DatasetItem.kind == KIND, DatasetItem.question_id.is_not(None))
        query = query.where(Question.id.not_in(has))
    rows = [(q, c, label or "") for q, c, label in session.execute(query) if c is not None or q.source == "distill"]
    if question_ids and question_filter is None:
        found = {q.id for q, _c, _l in rows} | set(session.scalars(select(Question.id).where(Question.id.in_(question_ids),
                                                                                            Question.project_id == row.id)))
        missing = sorted(set(question_ids) - found)
        if missing:
            raise NotFound(f"No question {missing} in project '{row.name}'", hint=f"List them with `loreforge questions list {row.name}`")
    return rows


def dialogues_plan(config: AppConfig, secrets: SecretBox, session: Session, row: Project, question_ids: list[int] | None,
                   overrides: dict[str, Any], model: str | None, provider: str | None, force: bool,
                   question_filter: QuestionFilter | None = None) -> StagePlan:
    """The dialogue stage over `question_ids` (None: every question without a dialogue) that match `question_filter`.
    `overrides`: one-off `dialogues.*` settings (rounds, mode, roles, scenario, system prompt)."""
    from loreforge.generate.dialogues import DialogueTask, llm_dialogue, offline_dialogue
    from loreforge.generate.strategies import StageContext, StageWork

    gen = generation(secrets, session, row, model, provider, {f"dialogues.{k}": v for k, v in overrides.items() if v is not None})
    gen.check(STAGE)
    d = gen.settings.dialogues
    prompts = load_prompts(config, row, "system", "dialogue", "dialogue_turn")
    items: list[tuple[str, Any]] = []
    if question_filter is not None and question_filter.is_empty():
        question_filter = None
    for q, chunk, tag in _questions(session, row, question_ids, force, question_filter):
        h = input_hash(STAGE, q.text, chunk.text_hash if chunk else "-", d.model_dump(), prompts["system"].hash, prompts["dialogue"].hash,
                       prompts["dialogue_turn"].hash, gen.model_key)
        items.append((f"question:{q.id}:{h[:16]}", DPayload(q.id, chunk.id if chunk else None, chunk.text if chunk else "", q.text,
                                                             tag, q.ga_pair_id, h)))
    work_def = StageWork(STAGE, llm_dialogue, offline_dialogue)

    def context(job_id: int) -> StageContext:
        return StageContext(STAGE, row.id, job_id, gen.settings, prompts, gen.config.options.options())

    async def work(strategy: Any, ctx: StageContext, p: DPayload) -> Any:
        return await strategy.do(ctx, work_def, DialogueTask(p.question_id, p.chunk, p.question, d.rounds, d.user_role,
                                                             d.assistant_role, d.scenario))

    def store(s: Session, _job_id: int, p: DPayload, draft: Any) -> Stored:
        if not draft.turns:
            return Stored("the reply held no usable dialogue")
        *history, (last_user, last_answer) = draft.turns
        prompt = "dialogue" if draft.whole_rounds or not draft.turn_calls else "dialogue_turn"
        fields = dict(
            chunk_id=p.chunk_id, question=last_user, answer=last_answer, cot="", tag=p.tag, history=[list(t) for t in history],
            system=d.system_prompt, ga_pair_id=p.ga_pair_id, distilled=not p.chunk, source=gen.source, provider=gen.config.provider,
            model=draft.model or gen.config.model, prompt_name=prompt, prompt_hash=prompts[prompt].hash, input_hash=p.input_hash,
            tokens_in=draft.tokens_in, tokens_out=draft.tokens_out,
            meta={"rounds": len(draft.turns), "asked_rounds": d.rounds, "user_role": d.user_role, "assistant_role": d.assistant_role,
                  "scenario": d.scenario, "calls": draft.calls, "whole_rounds": draft.whole_rounds, "distilled": not p.chunk},
        )
        put_dialogue(s, row.id, p.question_id, fields)
        counts = {"turn_calls": int(draft.turn_calls), "short": int(len(draft.turns) < d.rounds)}
        return Stored(counts={k: n for k, n in counts.items() if n})

    params = {"questions": question_ids if question_ids is not None else "without a dialogue", "model": model,
              "provider": gen.config.provider, "force": force, **{k: v for k, v in overrides.items() if v is not None}}
    if question_filter is not None:
        params["filter"] = question_filter.model_dump(exclude_none=True)
    items = not_done(session, row.id, STAGE, items, force)
    return StagePlan(STAGE, gen, items, params, context, work, store, force=force, notes={
        "turn_calls": "{n} dialogue(s) were made round by round (the whole-dialogue reply could not be used, or stopped early)",
        "short": "{n} dialogue(s) have fewer rounds than asked (the chunk held too few facts)"})


def put_dialogue(s: Session, project_id: int, question_id: int, fields: dict[str, Any]) -> None:
    """The question's one dialogue item: new, or made again (`force`) in place with its review reset."""
    from loreforge.service.answers import REVIEW_RESET

    item = s.scalar(select(DatasetItem).where(DatasetItem.question_id == question_id, DatasetItem.kind == KIND))
    if item is None:
        s.add(DatasetItem(project_id=project_id, question_id=question_id, kind=KIND, **fields))
        s.flush()
        return
    for name, value in {**fields, **REVIEW_RESET}.items():
        setattr(item, name, value)


class DialogueActions(ServiceBase):
    def _dialogues_plan(self, project: str | int, question_ids: list[int] | None, overrides: dict[str, Any], model: str | None,
                        provider: str | None, force: bool, question_filter: QuestionFilter | None = None) -> StagePlan:
        with self.db.session() as session:
            row = lookups.project(session, project)
            return dialogues_plan(self.config, self.secrets, session, row, question_ids or None, overrides, model, provider, force,
                                  question_filter)

    async def agenerate_dialogues(
        self, project: str | int, question_ids: list[int] | None = None, rounds: int | None = None, mode: str | None = None,
        user_role: str | None = None, assistant_role: str | None = None, scenario: str | None = None,
        system_prompt: str | None = None, model: str | None = None, provider: str | None = None, force: bool = False,
        background: bool = False, on_progress: Progress | None = None, question_filter: QuestionFilter | None = None,
    ) -> JobView:
        """A multi-turn dialogue from each question (every question without one, or the given ones; `force`: again) and
        its chunk: `rounds` rounds between `user_role` and `assistant_role` (defaults: the `dialogues.*` settings),
        every assistant turn grounded in the chunk; the whole dialogue in one call, round by round when the model
        cannot give it whole. `question_filter`: only the questions matching it (a page's "every question matching the
        filter"). Offline (`provider="extractive"`) the chunk's own sentences make the rounds."""
        values = dict(zip(OPTIONS, (rounds, mode, user_role, assistant_role, scenario, system_prompt)))
        plan = self._dialogues_plan(project, question_ids, values, model, provider, force, question_filter)
        return await alaunch(self.db, plan, background=background, on_progress=on_progress)

    def generate_dialogues(
        self, project: str | int, question_ids: list[int] | None = None, rounds: int | None = None, mode: str | None = None,
        user_role: str | None = None, assistant_role: str | None = None, scenario: str | None = None,
        system_prompt: str | None = None, model: str | None = None, provider: str | None = None, force: bool = False,
        background: bool = False, on_progress: Progress | None = None, question_filter: QuestionFilter | None = None,
    ) -> JobView:
        """The blocking twin of `agenerate_dialogues`."""
        values = dict(zip(OPTIONS, (rounds, mode, user_role, assistant_role, scenario, system_prompt)))
        plan = self._dialogues_plan(project, question_ids, values, model, provider, force, question_filter)
        return launch(self.db, plan, background=background, on_progress=on_progress)
