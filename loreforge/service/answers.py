"""Answer actions: answer questions with their chunk as context, as a job — `batched` (all questions of a
chunk in one call, the default) or `per-question` — keeping chain of thought apart from the answer; and
rewrite one answer following the user's advice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loreforge.errors import NotFound, UserError
from loreforge.service.engine import Progress, StagePlan
from loreforge.service.questions import QuestionActions
from loreforge.service.stage_common import done_keys, input_hash, model_key, share
from loreforge.store.models import Chunk, DatasetItem, Project, Question, Tag
from loreforge.service.item_views import item_view
from loreforge.views import DatasetItemView, JobView

STAGE = "answers"
BATCH_MAX = 20


@dataclass(frozen=True)
class APayload:
    chunk_id: int
    chunk: str
    questions: list[tuple[int, str, str]]  # (question id, text, tag label)
    input_hash: str


@dataclass
class AResult:
    answers: dict[int, tuple[str, str]]  # question id -> (answer, cot)
    tokens_in: int
    tokens_out: int
    model: str
    error: str | None = None
    raw: str | None = None


class AnswerActions(QuestionActions):
    def generate_answers(
        self,
        project: str | int,
        question_ids: list[int] | None = None,
        mode: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        force: bool = False,
        background: bool = False,
        on_progress: Progress | None = None,
    ) -> JobView:
        """Answer unanswered questions (or the given ones) with their chunks; results become dataset items."""
        with self.db.session() as session:
            row = self._project(session, project)
            plan = self._answers_plan(session, row, question_ids, mode, model, provider, force)
        return self._launch(plan, background=background, on_progress=on_progress)

    def _answer_groups(self, session: Session, row: Project, question_ids: list[int] | None, per_question: bool, force: bool) -> list[tuple[Chunk, list[tuple[int, str, str]]]]:
        query = (
            select(Question, Chunk, Tag.label)
            .join(Chunk, Chunk.id == Question.chunk_id)
            .outerjoin(Tag, Tag.id == Question.tag_id)
            .where(Question.project_id == row.id)
            .order_by(Chunk.document_id, Chunk.ordinal, Question.id)
        )
        if question_ids:
            query = query.where(Question.id.in_(question_ids))
        if not force:
            query = query.where(Question.answered.is_(False))
        groups: dict[int, tuple[Chunk, list[tuple[int, str, str]]]] = {}
        for q, chunk, label in session.execute(query):
            groups.setdefault(chunk.id, (chunk, []))[1].append((q.id, q.text, label or ""))
        out = []
        size = 1 if per_question else BATCH_MAX
        for chunk, qs in groups.values():
            out.extend((chunk, qs[i : i + size]) for i in range(0, len(qs), size))
        return out

    def _answers_plan(
        self, session: Session, row: Project, question_ids: list[int] | None, mode: str | None, model: str | None,
        provider: str | None, force: bool,
    ) -> StagePlan:
        settings = self._settings(row, {"answers.mode": mode} if mode else None)
        per_question = settings.answers.mode == "per-question"
        config = self._provider_config(session, row, model=model, provider=provider)
        system = self._prompt(row, "system")
        prompt = self._prompt(row, "answer_single" if per_question else "answers_batched")
        cot_mode, language = settings.answers.cot, settings.language
        skip = set() if force else done_keys(session, row.id, STAGE)
        items: list[tuple[str, Any]] = []
        for chunk, qs in self._answer_groups(session, row, question_ids, per_question, force):
            h = input_hash(STAGE, chunk.text_hash, [q[:2] for q in qs], system.hash, prompt.hash, model_key(config), cot_mode)
            key = f"{'question:' + str(qs[0][0]) if per_question else 'chunk:' + str(chunk.id)}:{h[:16]}"
            if key not in skip:
                items.append((key, APayload(chunk.id, chunk.text, qs, h)))

        def make_worker(provider_obj: Any, runner: Any, job_id: int) -> Any:
            from loreforge.generate.runner import CallMeta

            options = config.options.options()

            async def work(p: APayload) -> AResult:
                if config.provider == "extractive":
                    return _extractive_answers(provider_obj, p, language)
                meta = CallMeta(STAGE, prompt.name, prompt.hash, job_id, row.id, f"chunk:{p.chunk_id}")
                if per_question:
                    return await _single(runner, system, prompt, p, language, cot_mode, options, meta)
                return await _batched(runner, system, prompt, p, language, cot_mode, options, meta)

            return work

        def store(s: Session, job_id: int, p: APayload, r: AResult) -> None:
            n = max(1, len(r.answers))
            for i, (qid, text, tag) in enumerate(q for q in p.questions if q[0] in r.answers):
                answer, cot = r.answers[qid]
                s.add(DatasetItem(
                    project_id=row.id, question_id=qid, chunk_id=p.chunk_id, question=text, answer=answer,
                    cot="" if cot_mode == "off" else cot, tag=tag, source="extractive" if config.provider == "extractive" else "llm",
                    provider=config.provider, model=r.model or config.model, prompt_name=prompt.name, prompt_hash=prompt.hash,
                    input_hash=p.input_hash, tokens_in=share(r.tokens_in, n, i), tokens_out=share(r.tokens_out, n, i),
                ))
                question = s.get(Question, qid)
                if question is not None:
                    question.answered = True

        params = {"questions": question_ids or "unanswered", "mode": settings.answers.mode, "model": model, "provider": config.provider, "force": force}
        return StagePlan(STAGE, row.id, config, self._runner_settings(settings), items, params, make_worker, store)

    def optimize_answer(self, project: str | int, item_id: int, advice: str, model: str | None = None) -> DatasetItemView:
        """Rewrite one answer following the user's advice (one LLM call through the runner, logged)."""
        import asyncio

        from loreforge.generate.answers import clean_answer
        from loreforge.generate.runner import CallMeta, Runner
        from loreforge.providers import make_provider

        if not advice.strip():
            raise UserError("Advice cannot be empty", hint='e.g. --advice "give the exact figure and the period"')
        with self.db.session() as session:
            row = self._project(session, project)
            item = session.get(DatasetItem, int(item_id))
            if item is None or item.project_id != row.id:
                raise NotFound(f"No dataset item {item_id} in project '{row.name}'")
            chunk = session.get(Chunk, item.chunk_id) if item.chunk_id else None
            config = self._provider_config(session, row, model=model)
            if config.provider == "extractive":
                raise UserError("Optimising an answer needs an LLM", hint="Add one with `loreforge models add`")
            system, prompt = self._prompt(row, "system"), self._prompt(row, "answer_optimize")
            messages = [
                {"role": "system", "content": system.render()},
                {"role": "user", "content": prompt.render(chunk=chunk.text if chunk else "", question=item.question, answer=item.answer, advice=advice)},
            ]
            runner_settings, project_id = self._runner_settings(self._settings(row)), row.id
        calls: list[Any] = []

        async def go() -> Any:
            provider = make_provider(config)
            try:
                async with Runner(provider, runner_settings, sink=calls.append) as runner:
                    return await runner.call(messages, options=config.options.options(), meta=CallMeta("optimize", prompt.name, prompt.hash, None, project_id))
            finally:
                await provider.aclose()

        try:
            completion = asyncio.run(go())
        finally:
            self._log_calls(calls)
        with self.db.session() as session:
            item = session.get(DatasetItem, int(item_id))
            assert item is not None
            item.answer = clean_answer(completion.text)
            item.prompt_name, item.prompt_hash = prompt.name, prompt.hash
            item.tokens_in += completion.usage.prompt_tokens
            item.tokens_out += completion.usage.completion_tokens
            return item_view(item)

    def _log_calls(self, records: list[Any]) -> None:
        from loreforge.service.engine import _record_row
        from loreforge.store.models import LLMCall

        if records:
            with self.db.session() as session:
                session.execute(LLMCall.__table__.insert(), [_record_row(r) for r in records])


async def _batched(runner: Any, system: Any, prompt: Any, p: APayload, language: str, cot_mode: str, options: Any, meta: Any) -> AResult:
    from loreforge.generate.answers import AnswersReply, batched_messages, clean_answer

    messages = batched_messages(system, prompt, p.chunk, [q[1] for q in p.questions], language, cot_mode == "ask")
    result = await runner.call_json(messages, AnswersReply, options=options, meta=meta)
    answers: dict[int, tuple[str, str]] = {}
    for item in result.value.answers:
        if 1 <= item.id <= len(p.questions) and item.answer and item.answer.strip():
            cot = item.reasoning or (result.reasoning if len(p.questions) == 1 else "")
            answers[p.questions[item.id - 1][0]] = (clean_answer(item.answer), cot.strip())
    usage = result.completion.usage
    missing = [q[0] for q in p.questions if q[0] not in answers]
    error = f"no answer in the chunk for question(s) {missing}" if missing else None
    return AResult(answers, usage.prompt_tokens, usage.completion_tokens, result.completion.model, error, result.raw_text if missing else None)


async def _single(runner: Any, system: Any, prompt: Any, p: APayload, language: str, cot_mode: str, options: Any, meta: Any) -> AResult:
    from loreforge.generate.answers import clean_answer, single_messages
    from loreforge.providers import split_think

    qid, text, _ = p.questions[0]
    completion = await runner.call(single_messages(system, prompt, p.chunk, text, language, cot_mode == "ask"), options=options, meta=meta)
    answer, think = split_think(completion.text)
    cot = "\n".join(x for x in (completion.reasoning, think) if x).strip()
    if not answer.strip():
        raise UserError(f"The model returned an empty answer for question {qid}")
    usage = completion.usage
    return AResult({qid: (clean_answer(answer), cot)}, usage.prompt_tokens, usage.completion_tokens, completion.model)


def _extractive_answers(provider: Any, p: APayload, language: str) -> AResult:
    from loreforge.generate.dedup import similarity

    from loreforge.generate.questions import text_language

    qas = provider.extract_questions(p.chunk, 200, text_language(p.chunk, language))
    by_question = {qa.question: qa.answer for qa in qas}
    answers: dict[int, tuple[str, str]] = {}
    for qid, text, _ in p.questions:
        answer = by_question.get(text)
        if answer is None and qas:
            answer = max(qas, key=lambda qa: similarity(text, qa.question)).answer
        if answer:
            answers[qid] = (answer, "")
    missing = [q[0] for q in p.questions if q[0] not in answers]
    return AResult(answers, 0, 0, "extractive", f"no sentence answers question(s) {missing}" if missing else None)
