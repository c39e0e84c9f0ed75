"""Question actions: generate questions for chunks as a job (N per chunk, tag chosen in the same call,
near-duplicates across the project not stored twice, resumable, safe to run from several processes at once),
and list/add/edit/delete questions."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loreforge.errors import Conflict, NotFound, UserError
from loreforge.filters import ChunkFilter, QuestionFilter
from loreforge.secrets import SecretBox
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.service.model_configs import generation
from loreforge.service.prompts import load_prompts
from loreforge.service.selection import chunk_conditions, question_conditions
from loreforge.service.stage_common import input_hash, share, tag_labels
from loreforge.service.stages import Progress, StagePlan, Stored, alaunch, launch, not_done
from loreforge.settings import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, AppConfig
from loreforge.store.models import Chunk, Project, Question, Tag
from loreforge.views import JobView, PageView, QuestionView, from_row

STAGE = "questions"
DUPLICATES_NAMED = 5


@dataclass(frozen=True)
class QPayload:
    chunk_id: int
    text: str
    heading: str
    n: int
    input_hash: str
    styles: tuple[Any, ...] = ()  # the document's active genre–audience pairs (GaStyle): n questions per pair


def norm_text(text: str) -> str:
    """The result key of a question on its chunk (near-duplicate normalisation; the text itself if that is empty)."""
    from loreforge.generate.dedup import normalize

    return normalize(text) or text


def questions_plan(config: AppConfig, secrets: SecretBox, session: Session, row: Project, chunk_ids: list[int] | None,
                   model: str | None, provider: str | None, force: bool, chunk_filter: ChunkFilter | None = None,
                   ga: bool | None = None) -> StagePlan:
    """The questions stage over `chunk_ids` (None: every chunk of the project) that match `chunk_filter`. A chunk
    whose document has active genre–audience pairs gets N questions per pair, in one call (`ga` False, or
    `ga.use_in_questions` off: none)."""
    from loreforge.generate.dedup import DuplicateIndex
    from loreforge.generate.ga import GaQuestionTask, llm_ga_questions
    from loreforge.generate.strategies import QuestionTask, StageContext, StageWork
    from loreforge.service.ga import active_styles

    gen = generation(secrets, session, row, model, provider, {"ga.use_in_questions": ga} if ga is not None else None)
    gen.check(STAGE)
    prompts = load_prompts(config, row, "system", "questions", "questions_ga")
    styles = active_styles(session, row.id) if gen.settings.ga.use_in_questions and gen.source == "llm" else {}
    labels, label_ids = tag_labels(session, row.id)
    query = select(Chunk).where(Chunk.project_id == row.id).order_by(Chunk.document_id, Chunk.ordinal)
    if chunk_ids is not None:
        query = query.where(Chunk.id.in_(chunk_ids))
    chunks = list(session.scalars(chunk_conditions(query, chunk_filter)))
    if chunk_ids and chunk_filter is None and len(chunks) != len(set(chunk_ids)):
        missing = sorted(set(chunk_ids) - {c.id for c in chunks})
        raise NotFound(f"No chunk {missing} in project '{row.name}'", hint=f"List chunks with `loreforge chunks list {row.name}`")
    q = gen.settings.questions
    items: list[tuple[str, Any]] = []
    for c in chunks:
        n = _count(c.size, q.chars_per_question, q.max_per_chunk)
        mine = styles.get(c.document_id, ())
        extra = [prompts["questions_ga"].hash, [(s.pair_id, s.line("en")) for s in mine]] if mine else []
        h = input_hash(STAGE, c.text_hash, prompts["system"].hash, prompts["questions"].hash, gen.model_key, n, ",".join(labels), *extra)
        items.append((f"chunk:{c.id}:{h[:16]}", QPayload(c.id, c.text, c.heading_path, n, h, mine)))
    ga_work = StageWork("questions", llm_ga_questions)
    index, seen = DuplicateIndex(), {"last": 0}

    def refresh(s: Session) -> None:
        """Questions stored since the last look (by this job or any other) join the near-duplicate index; stale
        ones (their chunk was replaced by a new split) do not: they must not keep the new chunks from being asked."""
        rows = s.execute(select(Question.id, Question.text, Question.stale).where(Question.project_id == row.id, Question.id > seen["last"])
                         .order_by(Question.id))
        for qid, text, stale in rows:
            if not stale:
                index.add(qid, text)
            seen["last"] = qid

    refresh(session)
    rng = random.Random(f"{row.id}:{prompts['questions'].hash}")

    def context(job_id: int) -> StageContext:
        return StageContext(STAGE, row.id, job_id, gen.settings, prompts, gen.config.options.options(), labels, rng)

    async def work(strategy: Any, ctx: StageContext, p: QPayload) -> Any:
        if p.styles:
            return await strategy.do(ctx, ga_work, GaQuestionTask(p.chunk_id, p.text, p.n, p.styles))
        return await strategy.questions(ctx, QuestionTask(p.chunk_id, p.text, p.heading, p.n))

    def store(s: Session, job_id: int, p: QPayload, draft: Any) -> Stored:
        refresh(s)
        kept: list[tuple[str, str, int | None]] = []
        near: list[Any] = []
        within = DuplicateIndex()  # two near-identical questions in one reply count once
        for number, (text, tag) in enumerate(draft.pairs):
            twin = index.find(text, q.dedup_threshold)
            if twin is None and within.find(text, q.dedup_threshold) is None:
                within.add(len(kept), text)
                kept.append((text, tag, draft.ga[number] if draft.ga else None))
            else:
                near.append(twin[0] if twin is not None else None)
        used = "questions_ga" if p.styles else "questions"
        for i, (text, tag, pair_id) in enumerate(kept):
            question = Question(
                project_id=row.id, chunk_id=p.chunk_id, tag_id=label_ids.get(tag), text=text, norm_text=norm_text(text),
                ga_pair_id=pair_id, source=gen.source, provider=gen.config.provider, model=draft.model or gen.config.model,
                prompt_name=used, prompt_hash=prompts[used].hash, input_hash=p.input_hash,
                tokens_in=share(draft.tokens_in, len(kept), i), tokens_out=share(draft.tokens_out, len(kept), i),
            )
            s.add(question)
        s.flush()
        counts = {"near_duplicates": len(near)} if near else {}
        return Stored(None if kept else _none_kept(draft, near), counts=counts)

    params = {"chunks": chunk_ids if chunk_ids is not None else "all", "model": model, "provider": gen.config.provider,
              "force": force, "ga": ga}
    if chunk_filter is not None and not chunk_filter.is_empty():
        params["filter"] = chunk_filter.model_dump(exclude_none=True)
    items = not_done(session, row.id, STAGE, items, force)
    return StagePlan(STAGE, gen, items, params, context, work, store, force=force,
                     notes={"near_duplicates": "{n} near-duplicate question(s) not stored"})


def _none_kept(draft: Any, near: list[int]) -> str:
    """Why a chunk got no question: it is not done, and says so."""
    dropped = "".join(f"; {n} {why}" for why, n in draft.dropped.items())
    if not near:
        return f"{draft.asked} asked, 0 kept: the reply held no usable question{dropped}"
    twins = sorted({t for t in near if t is not None})
    named = ", ".join(str(t) for t in twins[:DUPLICATES_NAMED]) + (" ..." if len(twins) > DUPLICATES_NAMED else "")
    of = f" of questions {named}" if twins else ""
    return f"{draft.asked} asked, 0 kept: {len(near)} near-duplicate(s){of}{dropped}"


class QuestionActions(ServiceBase):
    async def agenerate_questions(
        self, project: str | int, chunk_ids: list[int] | None = None, model: str | None = None, provider: str | None = None,
        force: bool = False, background: bool = False, on_progress: Progress | None = None, chunk_filter: ChunkFilter | None = None,
        ga: bool | None = None,
    ) -> JobView:
        """Ask N = max(1, round(len/chars_per_question)) questions of each chunk (all chunks by default) — N per
        active genre–audience pair of its document, in the same one call (`ga=False`: pairs ignored).
        Chunks already done with the same text, prompt and model — by any job, in any process — are skipped
        unless `force`. `chunk_filter`: only the chunks matching it (a page's "every chunk matching the filter")."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            plan = questions_plan(self.config, self.secrets, session, row, chunk_ids or None, model, provider, force, chunk_filter, ga)
        return await alaunch(self.db, plan, background=background, on_progress=on_progress)

    def generate_questions(
        self, project: str | int, chunk_ids: list[int] | None = None, model: str | None = None, provider: str | None = None,
        force: bool = False, background: bool = False, on_progress: Progress | None = None, chunk_filter: ChunkFilter | None = None,
        ga: bool | None = None,
    ) -> JobView:
        """The blocking twin of `agenerate_questions` (works inside a running event loop too)."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            plan = questions_plan(self.config, self.secrets, session, row, chunk_ids or None, model, provider, force, chunk_filter, ga)
        return launch(self.db, plan, background=background, on_progress=on_progress)

    # -- management ----------------------------------------------------------------------------------
    def _question_view(self, session: Session, q: Question) -> QuestionView:
        tag = session.get(Tag, q.tag_id) if q.tag_id else None
        return from_row(QuestionView, q, tag=tag.label if tag else "")

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
            row = lookups.project(session, project)
            f = QuestionFilter(chunk_id=chunk_id, tag=tag, text=text, answered=answered)
            query = question_conditions(select(Question).where(Question.project_id == row.id), row, f)
            total = session.scalar(select(func.count()).select_from(query.with_only_columns(Question.id).subquery())) or 0
            rows = session.scalars(query.order_by(Question.id).offset((page - 1) * page_size).limit(page_size))
            return PageView[QuestionView](
                items=[self._question_view(session, q) for q in rows], total=total, page=page, page_size=page_size
            )

    def add_question(self, project: str | int, chunk_id: int, text: str, tag: str | None = None) -> QuestionView:
        """Add a question by hand to a chunk."""
        if not text.strip():
            raise UserError("A question cannot be empty")
        with self.db.session() as session:
            row = lookups.project(session, project)
            chunk = lookups.chunk(session, row, chunk_id)
            q = Question(project_id=row.id, chunk_id=chunk.id, text=text.strip(), norm_text=norm_text(text.strip()),
                         tag_id=lookups.tag_id(session, row, tag), source="manual")
            session.add(q)
            _flush_unique(session, row, q)
            return self._question_view(session, q)

    def edit_question(self, project: str | int, question_id: int, text: str | None = None, tag: str | None = None) -> QuestionView:
        with self.db.session() as session:
            row = lookups.project(session, project)
            q = lookups.question(session, row, question_id)
            if tag is not None:  # looked up before the text changes: the query would flush a clashing text
                q.tag_id = lookups.tag_id(session, row, tag) if tag else None
            if text is not None:
                if not text.strip():
                    raise UserError("A question cannot be empty")
                q.text, q.norm_text = text.strip(), norm_text(text.strip())
            _flush_unique(session, row, q)
            return self._question_view(session, q)

    def delete_questions(self, project: str | int, question_ids: list[int]) -> Any:
        from loreforge.views import Deleted

        if not question_ids:
            raise UserError("No question ids given")
        with self.db.session() as session:
            row = lookups.project(session, project)
            for qid in dict.fromkeys(question_ids):
                session.delete(lookups.question(session, row, qid))
        return Deleted(deleted=len(set(question_ids)))


def _flush_unique(session: Session, row: Project, question: Question) -> None:
    """Flush `question`, refusing with a Conflict naming the question already there when its chunk already has
    it (looked up before the flush: a failed flush would roll the whole transaction back)."""
    with session.no_autoflush:
        twin = session.scalar(select(Question.id).where(
            Question.project_id == row.id, Question.chunk_id == question.chunk_id,
            Question.norm_text == question.norm_text, Question.id != question.id))
    if twin is not None:
        raise Conflict(f"Chunk {question.chunk_id} already has this question (question {twin})",
                       got=repr(question.text[:80]), hint="Edit the existing question instead")
    session.flush()


def _count(size: int, chars_per_question: int, max_per_chunk: int) -> int:
    from loreforge.generate.questions import question_count

    return question_count(size, chars_per_question, max_per_chunk)
