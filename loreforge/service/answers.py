"""Answer actions: answer questions with their chunk as context, as a job — `batched` (all questions of a
chunk in one call, the default; a chunk whose batched reply does not parse falls back to one call per
question, and the job's summary says so) or `per-question` — keeping chain of thought apart from the answer;
and rewrite one answer following the user's advice. A question has at most one dataset item: answering it
again (`force`) replaces the answer of its item in place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loreforge.errors import UserError
from loreforge.filters import QuestionFilter
from loreforge.secrets import SecretBox
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.service.dataset import item_view
from loreforge.service.ga import question_styles
from loreforge.service.llm import run_sync, with_strategy
from loreforge.service.model_configs import generation
from loreforge.service.prompts import load_prompts
from loreforge.service.selection import question_conditions
from loreforge.service.stage_common import input_hash, share
from loreforge.service.stages import Progress, StagePlan, Stored, alaunch, launch, not_done
from loreforge.settings import AppConfig
from loreforge.store.models import Chunk, DatasetItem, Project, Question, Tag
from loreforge.views import DatasetItemView, JobView

STAGE = "answers"
BATCH_MAX = 20
PROMPTS = ("system", "answers_batched", "answer_single", "cot_synthesize")


@dataclass(frozen=True)
class APayload:
    chunk_id: int
    chunk: str
    questions: list[tuple[int, str, str]]  # (question id, text, tag label)
    input_hash: str
    heading: str = ""
    formats: dict[int, Any] = field(default_factory=dict)  # question id -> its template's AnswerFormat
    styles: dict[int, Any] = field(default_factory=dict)  # question id -> the GaStyle of its genre–audience pair


def answer_groups(session: Session, row: Project, question_ids: list[int] | None, per_question: bool,
                  force: bool, question_filter: QuestionFilter | None = None) -> list[tuple[Chunk, list[tuple[int, str, str]]]]:
    """The questions to answer, grouped by chunk (one per group when `per_question`). `question_ids` None:
    every question of the project (that matches `question_filter`); without `force` only unanswered ones."""
    query = (
        select(Question, Chunk, Tag.label)
        .join(Chunk, Chunk.id == Question.chunk_id)
        .outerjoin(Tag, Tag.id == Question.tag_id)
        .where(Question.project_id == row.id)
        .order_by(Chunk.document_id, Chunk.ordinal, Question.id)
    )
    if question_ids is not None:
        query = query.where(Question.id.in_(question_ids))
    query = question_conditions(query, row, question_filter)
    if not force:
        query = query.where(Question.answered.is_(False))
    groups: dict[int, tuple[Chunk, list[tuple[int, str, str]]]] = {}
    for q, chunk, label in session.execute(query):
        groups.setdefault(chunk.id, (chunk, []))[1].append((q.id, q.text, label or ""))
    size = 1 if per_question else BATCH_MAX
    return [(chunk, qs[i : i + size]) for chunk, qs in groups.values() for i in range(0, len(qs), size)]


def answers_plan(config: AppConfig, secrets: SecretBox, session: Session, row: Project, question_ids: list[int] | None,
                 mode: str | None, model: str | None, provider: str | None, force: bool,
                 question_filter: QuestionFilter | None = None) -> StagePlan:
    from loreforge.generate.strategies import AnswerTask, StageContext

    gen = generation(secrets, session, row, model, provider, {"answers.mode": mode} if mode else None)
    gen.check(STAGE)
    settings = gen.settings
    per_question = settings.answers.mode == "per-question"
    prompts = load_prompts(config, row, *PROMPTS)
    prompt = prompts["answer_single" if per_question else "answers_batched"]
    cot_mode = settings.answers.cot
    items: list[tuple[str, Any]] = []
    groups = answer_groups(session, row, question_ids, per_question, force, question_filter)
    asked = [q[0] for _chunk, qs in groups for q in qs]
    formats, styles = template_formats(session, asked), question_styles(session, asked)
    for chunk, qs in groups:
        fmts = {q[0]: formats[q[0]] for q in qs if q[0] in formats}
        mine = {q[0]: styles[q[0]] for q in qs if q[0] in styles}
        extra = ([prompts["cot_synthesize"].hash] if cot_mode == "ask" else []) + ([sorted(fmts.items())] if fmts else [])
        extra += [sorted((qid, s.line("en")) for qid, s in mine.items())] if mine else []
        h = input_hash(STAGE, chunk.text_hash, [q[:2] for q in qs], prompts["system"].hash, prompt.hash, gen.model_key, cot_mode, *extra)
        key = f"{'question:' + str(qs[0][0]) if per_question else 'chunk:' + str(chunk.id)}:{h[:16]}"
        items.append((key, APayload(chunk.id, chunk.text, qs, h, chunk.heading_path, fmts, mine)))

    def context(job_id: int) -> StageContext:
        return StageContext(STAGE, row.id, job_id, settings, prompts, gen.config.options.options())

    async def work(strategy: Any, ctx: StageContext, p: APayload) -> Any:
        from loreforge.generate.ga import answer_preamble
        from loreforge.generate.templates import conform_draft, instruction

        lang = settings.language
        preamble, marks = answer_preamble(p.styles, [q[0] for q in p.questions], lang)
        asked = [(qid, text + marks.get(qid, "") + (instruction(p.formats[qid], lang) if qid in p.formats else ""), tag)
                 for qid, text, tag in p.questions]
        draft = await strategy.answers(ctx, AnswerTask(p.chunk_id, p.chunk, asked, per_question, preamble=preamble, heading=p.heading))
        return conform_draft(draft, p.formats, lang)

    def store(s: Session, _job_id: int, p: APayload, draft: Any) -> Stored:
        answered = [q for q in p.questions if q[0] in draft.answers]
        used = "answer_single" if per_question or draft.fell_back else "answers_batched"
        for i, (qid, text, tag) in enumerate(answered):
            answer, cot = draft.answers[qid]
            cot = "" if cot_mode == "off" else cot
            fields = dict(
                chunk_id=p.chunk_id, question=text, answer=answer, cot=cot, tag=tag, meta=cot_meta(cot, draft.cot_from.get(qid)),
                source=gen.source, provider=gen.config.provider, model=draft.model or gen.config.model, prompt_name=used,
                prompt_hash=prompts[used].hash, input_hash=p.input_hash,
                tokens_in=share(draft.tokens_in, len(answered), i), tokens_out=share(draft.tokens_out, len(answered), i),
                ga_pair_id=p.styles[qid].pair_id if qid in p.styles else None,
            )
            put_item(s, row.id, qid, fields)
            question = s.get(Question, qid)
            if question is not None:
                question.answered = True
        counts = {"fell_back": int(draft.fell_back), "cot_synthesized": draft.cot_synthesized, "cot_missing": draft.cot_missing}
        return Stored(draft.error, draft.raw, {k: n for k, n in counts.items() if n})

    params = {"questions": question_ids if question_ids is not None else "unanswered", "mode": settings.answers.mode,
              "model": model, "provider": gen.config.provider, "force": force}
    if question_filter is not None and not question_filter.is_empty():
        params["filter"] = question_filter.model_dump(exclude_none=True)
    items = not_done(session, row.id, STAGE, items, force)
    return StagePlan(STAGE, gen, items, params, context, work, store, force=force,
                     notes={"fell_back": "{n} chunk(s) fell back to per-question answering (the batched reply did not parse)",
                            "cot_synthesized": "{n} answer(s) came without a chain of thought: written by one extra call per chunk",
                            "cot_missing": "{n} answer(s) are still without a chain of thought (the extra call failed)"})


def template_formats(session: Session, question_ids: list[int]) -> dict[int, Any]:
    """Question id -> the AnswerFormat of the template that made it (only questions a template made)."""
    from loreforge.generate.templates import AnswerFormat
    from loreforge.store.models import QuestionTemplate

    if not question_ids:
        return {}
    rows = session.execute(select(Question.id, QuestionTemplate).join(QuestionTemplate, QuestionTemplate.id == Question.template_id)
                           .where(Question.id.in_(question_ids)))
    return {qid: AnswerFormat(t.answer_type, tuple(t.labels or ()), t.json_format, t.description) for qid, t in rows}


REVIEW_RESET = {"confirmed": False, "rating": None, "score": None, "score_reason": "", "grounding": {}, "grounding_ok": None,
                "duplicate_of": None, "stale": False}


def cot_meta(cot: str, origin: str | None) -> dict[str, Any] | None:
    """An item's `meta` for its chain of thought: where it came from — `reply` (asked for in the answer call),
    `native` (the model's own reasoning) or `synthesized` (the one extra call for answers that came without)."""
    return {"cot": origin} if cot.strip() and origin else None


def put_item(s: Session, project_id: int, question_id: int, fields: dict[str, Any]) -> None:
    """The question's one dataset item: a new one, or — answered again — the old one with the new answer and its
    review reset (the new answer has not been confirmed, scored or checked)."""
    item = s.scalar(select(DatasetItem).where(DatasetItem.question_id == question_id, DatasetItem.kind == "qa"))
    if item is None:
        s.add(DatasetItem(project_id=project_id, question_id=question_id, **fields))
        s.flush()
        return
    for name, value in {**fields, **REVIEW_RESET}.items():
        setattr(item, name, value)


class AnswerActions(ServiceBase):
    def _answers_plan(self, project: str | int, question_ids: list[int] | None, mode: str | None, model: str | None,
              provider: str | None, force: bool, question_filter: QuestionFilter | None) -> StagePlan:
        with self.db.session() as session:
            row = lookups.project(session, project)
            return answers_plan(self.config, self.secrets, session, row, question_ids or None, mode, model, provider, force,
                                question_filter)

    async def agenerate_answers(
        self, project: str | int, question_ids: list[int] | None = None, mode: str | None = None, model: str | None = None,
        provider: str | None = None, force: bool = False, background: bool = False, on_progress: Progress | None = None,
        question_filter: QuestionFilter | None = None,
    ) -> JobView:
        """Answer unanswered questions (or the given ones, or those matching `question_filter`; `force`: answered
        ones again) with their chunks; results become dataset items."""
        plan = self._answers_plan(project, question_ids, mode, model, provider, force, question_filter)
        return await alaunch(self.db, plan, background=background, on_progress=on_progress)

    def generate_answers(
        self, project: str | int, question_ids: list[int] | None = None, mode: str | None = None, model: str | None = None,
        provider: str | None = None, force: bool = False, background: bool = False, on_progress: Progress | None = None,
        question_filter: QuestionFilter | None = None,
    ) -> JobView:
        """The blocking twin of `agenerate_answers`."""
        plan = self._answers_plan(project, question_ids, mode, model, provider, force, question_filter)
        return launch(self.db, plan, background=background, on_progress=on_progress)

    async def aoptimize_answer(self, project: str | int, item_id: int, advice: str, model: str | None = None) -> DatasetItemView:
        """Rewrite one answer following the user's advice (one LLM call through the runner, logged)."""
        from loreforge.generate.strategies import StageContext

        if not advice.strip():
            raise UserError("Advice cannot be empty", hint='e.g. --advice "give the exact figure and the period"')
        with self.db.session() as session:
            row = lookups.project(session, project)
            item = lookups.dataset_item(session, row, item_id)
            chunk = session.get(Chunk, item.chunk_id) if item.chunk_id else None
            gen = generation(self.secrets, session, row, model)
            gen.check("rewrite")
            prompts = load_prompts(self.config, row, "system", "answer_optimize")
            ctx = StageContext("optimize", row.id, None, gen.settings, prompts, gen.config.options.options())
            source, question, answer = chunk.text if chunk else "", item.question, item.answer
        rewrite = await with_strategy(self.db, gen, lambda strategy: strategy.rewrite(ctx, source, question, answer, advice))
        with self.db.session() as session:
            item = lookups.dataset_item(session, lookups.project(session, project), item_id)
            item.answer = rewrite.text
            item.prompt_name, item.prompt_hash = "answer_optimize", prompts["answer_optimize"].hash
            item.tokens_in += rewrite.tokens_in
            item.tokens_out += rewrite.tokens_out
            return item_view(item)

    def optimize_answer(self, project: str | int, item_id: int, advice: str, model: str | None = None) -> DatasetItemView:
        """The blocking twin of `aoptimize_answer`."""
        return run_sync(self.aoptimize_answer(project, item_id, advice, model))
