"""Question actions: generate questions for chunks as a job (N per chunk, tag chosen in the same call,
near-duplicates across the project not stored twice, resumable), and list/add/edit/delete questions."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loreforge.errors import NotFound, UserError
from loreforge.service.engine import EngineActions, Progress, StagePlan
from loreforge.service.prompts import PromptActions
from loreforge.service.stage_common import done_keys, input_hash, model_key, share, tag_labels
from loreforge.settings import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from loreforge.store.models import Chunk, Project, Question, Tag
from loreforge.views import JobView, PageView, QuestionView

STAGE = "questions"


@dataclass(frozen=True)
class QPayload:
    chunk_id: int
    text: str
    heading: str
    n: int
    input_hash: str


@dataclass(frozen=True)
class QResult:
    pairs: list[tuple[str, str]]
    tokens_in: int
    tokens_out: int
    model: str


class QuestionActions(EngineActions, PromptActions):
    def generate_questions(
        self,
        project: str | int,
        chunk_ids: list[int] | None = None,
        model: str | None = None,
        provider: str | None = None,
        force: bool = False,
        background: bool = False,
        on_progress: Progress | None = None,
    ) -> JobView:
        """Ask N = max(1, round(len/chars_per_question)) questions of each chunk (all chunks by default).
        Chunks already done with the same text, prompt and model are skipped unless `force`."""
        with self.db.session() as session:
            row = self._project(session, project)
            plan = self._questions_plan(session, row, chunk_ids, model, provider, force)
        return self._launch(plan, background=background, on_progress=on_progress)

    def _questions_plan(
        self, session: Session, row: Project, chunk_ids: list[int] | None, model: str | None, provider: str | None, force: bool
    ) -> StagePlan:
        from loreforge.generate.dedup import DuplicateIndex, normalize

        settings = self._settings(row)
        config = self._provider_config(session, row, model=model, provider=provider)
        system, prompt = self._prompt(row, "system"), self._prompt(row, "questions")
        labels, label_ids = tag_labels(session, row.id)
        query = select(Chunk).where(Chunk.project_id == row.id).order_by(Chunk.document_id, Chunk.ordinal)
        if chunk_ids:
            query = query.where(Chunk.id.in_(chunk_ids))
        chunks = list(session.scalars(query))
        if chunk_ids and len(chunks) != len(set(chunk_ids)):
            missing = sorted(set(chunk_ids) - {c.id for c in chunks})
            raise NotFound(f"No chunk {missing} in project '{row.name}'")
        q = settings.questions
        skip = set() if force else done_keys(session, row.id, STAGE)
        items: list[tuple[str, Any]] = []
        for c in chunks:
            n = _count(c.size, q.chars_per_question, q.max_per_chunk)
            h = input_hash(STAGE, c.text_hash, system.hash, prompt.hash, model_key(config), n, ",".join(labels))
            key = f"chunk:{c.id}:{h[:16]}"
            if key not in skip:
                items.append((key, QPayload(c.id, c.text, c.heading_path, n, h)))
        index = DuplicateIndex()
        for qid, text in session.execute(select(Question.id, Question.text).where(Question.project_id == row.id)):
            index.add(qid, text)
        rng = random.Random(f"{row.id}:{prompt.hash}")
        language = settings.language

        def make_worker(provider_obj: Any, runner: Any, job_id: int) -> Any:
            from loreforge.generate.questions import QuestionsReply, clean_questions, match_tag, question_messages, text_language
            from loreforge.generate.runner import CallMeta

            options = config.options.options()

            async def work(p: QPayload) -> QResult:
                if config.provider == "extractive":
                    qas = provider_obj.extract_questions(p.text, p.n, text_language(p.text, language))
                    tag = next((t for part in reversed(p.heading.split(" > ")) if (t := match_tag(part, labels))), "")
                    return QResult([(qa.question, tag) for qa in qas], 0, 0, "extractive")
                messages = question_messages(system, prompt, p.text, p.n, labels, language)
                meta = CallMeta(STAGE, "questions", prompt.hash, job_id, row.id, f"chunk:{p.chunk_id}")
                result = await runner.call_json(messages, QuestionsReply, options=options, meta=meta)
                pairs = clean_questions(result.value.questions, p.n, labels, rng, q.remove_question_mark_probability)
                if not pairs:
                    raise UserError(f"The model returned no usable question for chunk {p.chunk_id}")
                usage = result.completion.usage
                return QResult(pairs, usage.prompt_tokens, usage.completion_tokens, result.completion.model)

            return work

        def store(s: Session, job_id: int, p: QPayload, r: QResult) -> None:
            kept = [(t, tag) for t, tag in r.pairs if index.find(t, q.dedup_threshold) is None]
            for i, (text, tag) in enumerate(kept):
                question = Question(
                    project_id=row.id, chunk_id=p.chunk_id, tag_id=label_ids.get(tag), text=text, norm_text=normalize(text),
                    source="extractive" if config.provider == "extractive" else "llm", provider=config.provider,
                    model=r.model or config.model, prompt_name="questions", prompt_hash=prompt.hash, input_hash=p.input_hash,
                    tokens_in=share(r.tokens_in, len(kept), i), tokens_out=share(r.tokens_out, len(kept), i),
                )
                s.add(question)
                s.flush()
                index.add(question.id, text)

        params = {"chunks": chunk_ids or "all", "model": model, "provider": config.provider, "force": force}
        return StagePlan(STAGE, row.id, config, self._runner_settings(settings), items, params, make_worker, store)

    # -- management ----------------------------------------------------------------------------------
    def _question_view(self, session: Session, q: Question) -> QuestionView:
        tag = session.get(Tag, q.tag_id) if q.tag_id else None
        return QuestionView(
            id=q.id, chunk_id=q.chunk_id, text=q.text, tag=tag.label if tag else "", stale=q.stale, answered=q.answered,
            source=q.source, model=q.model, prompt_hash=q.prompt_hash, tokens_in=q.tokens_in, tokens_out=q.tokens_out,
        )

    def list_questions(
        self,
        project: str | int,
        chunk_id: int | None = None,
        tag: str | None = None,
        text: str | None = None,
        answered: bool | None = None,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> PageView[QuestionView]:
        if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise UserError("Invalid paging", expected=f"page >= 1 and 1 <= page_size <= {MAX_PAGE_SIZE}")
        with self.db.session() as session:
            row = self._project(session, project)
            query = select(Question).where(Question.project_id == row.id)
            if chunk_id is not None:
                query = query.where(Question.chunk_id == chunk_id)
            if tag is not None:
                query = query.join(Tag, Tag.id == Question.tag_id).where(Tag.label == tag)
            if text:
                query = query.where(Question.text.contains(text, autoescape=True))
            if answered is not None:
                query = query.where(Question.answered.is_(answered))
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(query.order_by(Question.id).offset((page - 1) * page_size).limit(page_size))
            return PageView[QuestionView](
                items=[self._question_view(session, q) for q in rows], total=total, page=page, page_size=page_size
            )

    def _question(self, session: Session, row: Project, question_id: int) -> Question:
        q = session.get(Question, int(question_id))
        if q is None or q.project_id != row.id:
            raise NotFound(f"No question {question_id} in project '{row.name}'")
        return q

    def _tag_id(self, session: Session, row: Project, label: str | None) -> int | None:
        if not label:
            return None
        tag_id = session.scalar(select(Tag.id).where(Tag.project_id == row.id, Tag.label == label))
        if tag_id is None:
            raise NotFound(f"No tag '{label}' in project '{row.name}'", hint=f"See `loreforge tags show {row.name}`")
        return tag_id

    def add_question(self, project: str | int, chunk_id: int, text: str, tag: str | None = None) -> QuestionView:
        """Add a question by hand to a chunk."""
        if not text.strip():
            raise UserError("A question cannot be empty")
        with self.db.session() as session:
            row = self._project(session, project)
            chunk = self._chunk(session, row, chunk_id)
            q = Question(project_id=row.id, chunk_id=chunk.id, text=text.strip(), tag_id=self._tag_id(session, row, tag), source="manual")
            session.add(q)
            session.flush()
            return self._question_view(session, q)

    def edit_question(self, project: str | int, question_id: int, text: str | None = None, tag: str | None = None) -> QuestionView:
        with self.db.session() as session:
            row = self._project(session, project)
            q = self._question(session, row, question_id)
            if text is not None:
                if not text.strip():
                    raise UserError("A question cannot be empty")
                q.text = text.strip()
            if tag is not None:
                q.tag_id = self._tag_id(session, row, tag) if tag else None
            session.flush()
            return self._question_view(session, q)

    def delete_questions(self, project: str | int, question_ids: list[int]) -> Any:
        from loreforge.views import Deleted

        if not question_ids:
            raise UserError("No question ids given")
        with self.db.session() as session:
            row = self._project(session, project)
            for qid in dict.fromkeys(question_ids):
                session.delete(self._question(session, row, qid))
        return Deleted(deleted=len(set(question_ids)))


def _count(size: int, chars_per_question: int, max_per_chunk: int) -> int:
    from loreforge.generate.questions import question_count

    return question_count(size, chars_per_question, max_per_chunk)
