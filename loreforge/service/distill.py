"""Distillation actions: from a topic, a tag tree (job kind `distill_tags`, a level — or a whole small subtree — per
call), questions per leaf (`distill_questions`, the leaf's existing questions passed in), answers from the model's
own knowledge (`distill_answers`: no context, items marked distilled and never counted as grounded), dialogues
(the dialogue stage, on distilled questions), an estimate of calls and tokens before it starts, and a run of them
all. The tree is edited by hand in `service/distill_tree.py`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loreforge.mode_views import DistillEstimateView, DistillRunView
from loreforge.secrets import SecretBox
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.service.distill_tree import all_tags, leaves, path_of, topic_row, tree_views
from loreforge.service.model_configs import generation
from loreforge.service.prompts import load_prompts
from loreforge.service.stage_common import input_hash, share
from loreforge.service.stages import Progress, StagePlan, Stored, alaunch, job_loop, not_done
from loreforge.settings import AppConfig
from loreforge.store.models import DistillTag, Project, Question
from loreforge.views import JobView

PROMPTS = ("system", "distill_tags", "distill_questions", "distill_answers", "cot_synthesize")


@dataclass(frozen=True)
class Payload:
    tag_id: int
    task: Any
    input_hash: str


def _context(stage: str, row: Project, gen: Any, prompts: dict[str, Any]) -> Callable[[int], Any]:
    from loreforge.generate.strategies import StageContext

    return lambda job_id: StageContext(stage, row.id, job_id, gen.settings, prompts, gen.config.options.options())


def tags_plan(config: AppConfig, secrets: SecretBox, session: Session, row: Project, topic_id: int, overrides: dict[str, Any],
              model: str | None) -> StagePlan | None:
    """Expand the topic's tags that are above the leaf level and have no children yet; None when the tree is full."""
    from loreforge.generate.distill import TagTask, call_depth, llm_tags
    from loreforge.generate.strategies import StageWork

    gen = generation(secrets, session, row, model, None, overrides)
    gen.check("distill_tags")
    d = gen.settings.distill
    prompts = load_prompts(config, row, *PROMPTS)
    tags = all_tags(session, row.id)
    parents = {t.parent_id for t in tags.values()}
    items = []
    for t in sorted(tags.values(), key=lambda t: (t.depth, t.ordinal, t.id)):
        if t.id in parents or t.depth >= d.levels or _root(tags, t) != topic_id:
            continue
        depth = call_depth(d.tags_per_level, d.levels - t.depth, d.max_tags_per_call)
        siblings = tuple(x.label for x in tags.values() if x.parent_id == t.parent_id and x.id != t.id and x.parent_id is not None)
        h = input_hash("distill_tags", path_of(tags, t), d.tags_per_level, depth, prompts["distill_tags"].hash, gen.model_key)
        items.append((f"tag:{t.id}:{h[:16]}", Payload(t.id, TagTask(t.id, path_of(tags, t), t.label, siblings, d.tags_per_level, depth), h)))
    if not items:
        return None
    work_def = StageWork("distill_tags", llm_tags)

    async def work(strategy: Any, ctx: Any, p: Payload) -> Any:
        return await strategy.do(ctx, work_def, p.task)

    def store(s: Session, _job_id: int, p: Payload, draft: Any) -> Stored:
        if not draft.tree:
            return Stored("the reply held no usable tag")
        parent = s.get(DistillTag, p.tag_id)
        if parent is None:
            return Stored("the tag was deleted meanwhile")
        made = _add_tree(s, row.id, parent, draft.tree, {"source": gen.source, "provider": gen.config.provider,
                         "model": draft.model or gen.config.model, "prompt_name": "distill_tags",
                         "prompt_hash": prompts["distill_tags"].hash, "input_hash": p.input_hash})
        first = s.scalar(select(DistillTag).where(DistillTag.parent_id == parent.id).order_by(DistillTag.id))
        if first is not None:
            first.tokens_in, first.tokens_out = draft.tokens_in, draft.tokens_out
        return Stored(counts={"tags": made})

    params = {"topic_id": topic_id, "model": model, **overrides}
    return StagePlan("distill_tags", gen, not_done(session, row.id, "distill_tags", items, False), params,
                     _context("distill_tags", row, gen, prompts), work, store, notes={"tags": "{n} tag(s) made"})


def _root(tags: dict[int, DistillTag], t: DistillTag) -> int:
    while t.parent_id is not None and t.parent_id in tags:
        t = tags[t.parent_id]
    return t.id


def _add_tree(s: Session, project_id: int, parent: DistillTag, nodes: list[Any], provenance: dict[str, Any]) -> int:
    taken = set(s.scalars(select(DistillTag.label).where(DistillTag.parent_id == parent.id)))
    made = 0
    for i, node in enumerate(nodes):
        if node.label in taken:
            continue
        tag = DistillTag(project_id=project_id, parent_id=parent.id, label=node.label, depth=parent.depth + 1, ordinal=i + 1, **provenance)
        s.add(tag)
        s.flush()
        made += 1 + _add_tree(s, project_id, tag, node.children, provenance)
    return made


def questions_plan(config: AppConfig, secrets: SecretBox, session: Session, row: Project, topic_id: int | None,
                   overrides: dict[str, Any], model: str | None, force: bool, tag_ids: list[int] | None = None) -> StagePlan:
    """N questions per leaf (of one topic, or all), each leaf told its existing questions."""
    from loreforge.generate.dedup import DuplicateIndex
    from loreforge.generate.distill import LeafTask, llm_questions
    from loreforge.generate.strategies import StageWork
    from loreforge.service.questions import norm_text

    gen = generation(secrets, session, row, model, None, overrides)
    gen.check("distill_questions")
    n, threshold = gen.settings.distill.questions_per_leaf, gen.settings.questions.dedup_threshold
    prompts = load_prompts(config, row, *PROMPTS)
    tags = all_tags(session, row.id)
    items = []
    for leaf in leaves(tags, topic_id):
        if tag_ids is not None and leaf.id not in tag_ids:
            continue
        existing = tuple(session.scalars(select(Question.text).where(Question.distill_tag_id == leaf.id).order_by(Question.id)))
        h = input_hash("distill_questions", path_of(tags, leaf), n, prompts["distill_questions"].hash, gen.model_key)
        items.append((f"tag:{leaf.id}:{h[:16]}", Payload(leaf.id, LeafTask(leaf.id, path_of(tags, leaf), leaf.label, n, existing), h)))
    index = DuplicateIndex()
    for qid, text in session.execute(select(Question.id, Question.text).where(Question.project_id == row.id)):
        index.add(qid, text)
    work_def = StageWork("distill_questions", llm_questions)

    async def work(strategy: Any, ctx: Any, p: Payload) -> Any:
        return await strategy.do(ctx, work_def, p.task)

    def store(s: Session, _job_id: int, p: Payload, draft: Any) -> Stored:
        kept = []
        for text, _tag in draft.pairs:
            if index.find(text, threshold) is None:
                index.add(-len(kept) - 1, text)
                kept.append(text)
        for i, text in enumerate(kept):
            s.add(Question(project_id=row.id, chunk_id=None, distill_tag_id=p.tag_id, text=text, norm_text=norm_text(text), source="distill",
                           provider=gen.config.provider, model=draft.model or gen.config.model, prompt_name="distill_questions",
                           prompt_hash=prompts["distill_questions"].hash, input_hash=p.input_hash,
                           tokens_in=share(draft.tokens_in, len(kept), i), tokens_out=share(draft.tokens_out, len(kept), i)))
        near = len(draft.pairs) - len(kept)
        return Stored(None if kept else f"{draft.asked} asked, 0 kept (near-duplicates or unusable)", counts={"near_duplicates": near} if near else {})

    params = {"topic_id": topic_id, "model": model, "force": force, **overrides}
    return StagePlan("distill_questions", gen, not_done(session, row.id, "distill_questions", items, force), params,
                     _context("distill_questions", row, gen, prompts), work, store, force=force,
                     notes={"near_duplicates": "{n} near-duplicate question(s) not stored"})


def answers_plan(config: AppConfig, secrets: SecretBox, session: Session, row: Project, topic_id: int | None, model: str | None,
                 force: bool, question_ids: list[int] | None = None) -> StagePlan:
    """Distilled questions without an answer (of one topic, or all), a leaf's together (20 per call), answered from
    the model's own knowledge; the items are marked distilled."""
    from loreforge.generate.distill import ANSWERS_PER_CALL, DistillAnswerTask, llm_answers
    from loreforge.generate.strategies import StageWork
    from loreforge.service.answers import cot_meta, put_item

    gen = generation(secrets, session, row, model)
    gen.check("distill_answers")
    prompts = load_prompts(config, row, *PROMPTS)
    tags = all_tags(session, row.id)
    query = select(Question).where(Question.project_id == row.id, Question.source == "distill", Question.distill_tag_id.is_not(None))
    query = query.where(Question.id.in_(question_ids)) if question_ids else query if force else query.where(Question.answered.is_(False))
    groups: dict[int, list[Question]] = {}
    for q in session.scalars(query.order_by(Question.id)):
        tag = tags.get(q.distill_tag_id or 0)
        if tag is not None and (topic_id is None or _root(tags, tag) == topic_id):
            groups.setdefault(tag.id, []).append(q)
    items = []
    for tag_id, qs in groups.items():
        for k in range(0, len(qs), ANSWERS_PER_CALL):
            part = [(q.id, q.text) for q in qs[k : k + ANSWERS_PER_CALL]]
            h = input_hash("distill_answers", path_of(tags, tags[tag_id]), part, gen.settings.answers.cot, prompts["distill_answers"].hash, gen.model_key)
            items.append((f"question:{part[0][0]}:{h[:16]}", Payload(tag_id, DistillAnswerTask(tag_id, path_of(tags, tags[tag_id]), part), h)))
    work_def = StageWork("distill_answers", llm_answers)

    async def work(strategy: Any, ctx: Any, p: Payload) -> Any:
        return await strategy.do(ctx, work_def, p.task)

    def store(s: Session, _job_id: int, p: Payload, draft: Any) -> Stored:
        answered = [(qid, text) for qid, text in p.task.questions if qid in draft.answers]
        for i, (qid, text) in enumerate(answered):
            answer, cot = draft.answers[qid]
            put_item(s, row.id, qid, dict(
                chunk_id=None, question=text, answer=answer, cot=cot, meta=cot_meta(cot, draft.cot_from.get(qid)),
                tag=tags[p.tag_id].label, distilled=True, source=gen.source,
                provider=gen.config.provider, model=draft.model or gen.config.model, prompt_name="distill_answers",
                prompt_hash=prompts["distill_answers"].hash, input_hash=p.input_hash,
                tokens_in=share(draft.tokens_in, len(answered), i), tokens_out=share(draft.tokens_out, len(answered), i)))
            question = s.get(Question, qid)
            if question is not None:
                question.answered = True
        return Stored(draft.error, draft.raw, {k: n for k, n in {"cot_synthesized": draft.cot_synthesized}.items() if n})

    params = {"topic_id": topic_id, "model": model, "force": force}
    return StagePlan("distill_answers", gen, not_done(session, row.id, "distill_answers", items, force), params,
                     _context("distill_answers", row, gen, prompts), work, store, force=force,
                     notes={"cot_synthesized": "{n} answer(s) got their chain of thought from one extra call"})


Step = Callable[[], Awaitable[JobView | None]]


class DistillActions(ServiceBase):
    def _topic(self, project: str | int, topic: str | int | None) -> int | None:
        from loreforge.service.distill_tree import tag_row

        if topic is None:
            return None
        with self.db.session() as session:
            row = lookups.project(session, project)
            return tag_row(session, row, topic).id

    def _plan(self, project: str | int, make: Callable[[Session, Project], StagePlan | None]) -> StagePlan | None:
        with self.db.session() as session:
            return make(session, lookups.project(session, project))

    async def _launch(self, plan: StagePlan | None, on_progress: Progress | None) -> JobView | None:
        return None if plan is None else await alaunch(self.db, plan, on_progress=on_progress)

    async def _steps(self, steps: list[Step], background: bool) -> list[JobView]:
        """Run the steps one after another here, or — `background` — in the process's job loop (their jobs show in
        `jobs list` as they start); returns the jobs run here."""
        async def chain() -> list[JobView]:
            return [job for step in steps if (job := await step()) is not None]

        if background:
            job_loop().submit(chain())
            return []
        return await chain()

    def _tree_steps(self, project: str | int, topic: str, overrides: dict[str, Any], model: str | None,
                    on_progress: Progress | None) -> list[Step]:
        with self.db.session() as session:
            row = lookups.project(session, project)
            topic_id = topic_row(session, row, topic).id
            levels = lookups.settings(row, overrides).distill.levels

        def level() -> Step:
            return lambda: self._launch(self._plan(project, lambda s, r: tags_plan(self.config, self.secrets, s, r, topic_id, overrides, model)),
                                        on_progress)
        return [level() for _ in range(levels)]  # a level (or more) per job; a job finding the tree full is skipped

    async def adistill_tags(self, project: str | int, topic: str, levels: int | None = None, tags_per_level: int | None = None,
                            model: str | None = None, background: bool = False, on_progress: Progress | None = None) -> DistillRunView:
        """The topic's tag tree: `levels` levels of `tags_per_level` sub-tags (defaults: the `distill.*` settings). Tags
        already expanded are kept (running again continues); a tag whose subtree fits `distill.max_tags_per_call`
        is made to the bottom in one call."""
        overrides = _overrides(levels=levels, tags_per_level=tags_per_level)
        jobs = await self._steps(self._tree_steps(project, topic, overrides, model, on_progress), background)
        return self._run_view(project, topic, jobs, background)

    def distill_tags(self, project: str | int, topic: str, levels: int | None = None, tags_per_level: int | None = None,
                     model: str | None = None, background: bool = False, on_progress: Progress | None = None) -> DistillRunView:
        """The blocking twin of `adistill_tags`."""
        from loreforge.service.llm import run_sync

        return run_sync(self.adistill_tags(project, topic, levels, tags_per_level, model, background, on_progress))

    async def adistill_questions(self, project: str | int, topic: str | int | None = None, questions_per_leaf: int | None = None,
                                 model: str | None = None, force: bool = False, background: bool = False,
                                 on_progress: Progress | None = None) -> JobView:
        """`questions_per_leaf` questions of every leaf tag (of `topic`, or of all trees), each leaf told its existing
        questions so that none repeat; leaves done are skipped unless `force` (then N more)."""
        topic_id = self._topic(project, topic)
        overrides = _overrides(questions_per_leaf=questions_per_leaf)
        plan = self._plan(project, lambda s, r: questions_plan(self.config, self.secrets, s, r, topic_id, overrides, model, force))
        assert plan is not None
        return await alaunch(self.db, plan, background=background, on_progress=on_progress)

    def distill_questions(self, project: str | int, topic: str | int | None = None, questions_per_leaf: int | None = None,
                          model: str | None = None, force: bool = False, background: bool = False,
                          on_progress: Progress | None = None) -> JobView:
        """The blocking twin of `adistill_questions`."""
        from loreforge.service.llm import run_sync

        return run_sync(self.adistill_questions(project, topic, questions_per_leaf, model, force, background, on_progress))

    async def adistill_answers(self, project: str | int, topic: str | int | None = None, model: str | None = None, force: bool = False,
                               background: bool = False, on_progress: Progress | None = None) -> JobView:
        """Answer the distilled questions (of `topic`, or all) from the model's own knowledge — no context; the items
        are marked distilled and never counted as grounded. `force`: answer again those that have an answer."""
        topic_id = self._topic(project, topic)
        plan = self._plan(project, lambda s, r: answers_plan(self.config, self.secrets, s, r, topic_id, model, force))
        assert plan is not None
        return await alaunch(self.db, plan, background=background, on_progress=on_progress)

    def distill_answers(self, project: str | int, topic: str | int | None = None, model: str | None = None, force: bool = False,
                        background: bool = False, on_progress: Progress | None = None) -> JobView:
        """The blocking twin of `adistill_answers`."""
        from loreforge.service.llm import run_sync

        return run_sync(self.adistill_answers(project, topic, model, force, background, on_progress))

    def distill_estimate(self, project: str | int, levels: int | None = None, tags_per_level: int | None = None,
                         questions_per_leaf: int | None = None, mode: str | None = None) -> DistillEstimateView:
        """The calls and tokens a distillation run from scratch takes, per step (shown before it starts)."""
        from loreforge.generate.distill import estimate
        from loreforge.providers.base import estimate_messages

        with self.db.session() as session:
            row = lookups.project(session, project)
            s = lookups.settings(row, _overrides(levels=levels, tags_per_level=tags_per_level, questions_per_leaf=questions_per_leaf, mode=mode))
            prompts = load_prompts(self.config, row, *PROMPTS, "dialogue")
        sizes = {name: estimate_messages([{"role": "user", "content": prompts["system"].text + p.text}]) for name, p in prompts.items()}
        d = s.distill
        e = estimate(d.levels, d.tags_per_level, d.questions_per_leaf, d.max_tags_per_call, d.mode, s.dialogues.rounds, sizes)
        return DistillEstimateView(levels=d.levels, tags_per_level=d.tags_per_level, questions_per_leaf=d.questions_per_leaf, mode=d.mode,
                                   tags=e.tags, leaves=e.leaves, questions=e.questions, steps=e.steps, calls=e.calls, tokens=e.tokens)

    async def adistill_run(self, project: str | int, topic: str, levels: int | None = None, tags_per_level: int | None = None,
                           questions_per_leaf: int | None = None, mode: str | None = None, model: str | None = None,
                           background: bool = False, on_progress: Progress | None = None) -> DistillRunView:
        """Everything from a topic: the tag tree, questions per leaf, then single-turn answers, multi-turn dialogues, or
        both (`mode`). Each step is a job; running again continues where it stopped."""
        overrides = _overrides(levels=levels, tags_per_level=tags_per_level, questions_per_leaf=questions_per_leaf, mode=mode)
        with self.db.session() as session:
            row = lookups.project(session, project)
            which = lookups.settings(row, overrides).distill.mode
            topic_id = topic_row(session, row, topic).id
        steps = self._tree_steps(project, topic, overrides, model, on_progress)
        steps.append(lambda: self._launch(self._plan(project, lambda s, r: questions_plan(
            self.config, self.secrets, s, r, topic_id, overrides, model, False)), on_progress))
        if which in ("single", "both"):
            steps.append(lambda: self._launch(self._plan(project, lambda s, r: answers_plan(
                self.config, self.secrets, s, r, topic_id, model, False)), on_progress))
        if which in ("multi", "both"):
            steps.append(lambda: self._dialogue_step(project, topic_id, model, on_progress))
        jobs = await self._steps(steps, background)
        return self._run_view(project, topic, jobs, background)

    def distill_run(self, project: str | int, topic: str, levels: int | None = None, tags_per_level: int | None = None,
                    questions_per_leaf: int | None = None, mode: str | None = None, model: str | None = None,
                    background: bool = False, on_progress: Progress | None = None) -> DistillRunView:
        """The blocking twin of `adistill_run`."""
        from loreforge.service.llm import run_sync

        return run_sync(self.adistill_run(project, topic, levels, tags_per_level, questions_per_leaf, mode, model, background, on_progress))

    async def _dialogue_step(self, project: str | int, topic_id: int, model: str | None, on_progress: Progress | None) -> JobView | None:
        with self.db.session() as session:
            tags = all_tags(session, lookups.project(session, project).id)
            ids = [q for q, t in session.execute(select(Question.id, Question.distill_tag_id).where(Question.source == "distill"))
                   if t in tags and _root(tags, tags[t]) == topic_id]
        if not ids:
            return None
        return await self.app.agenerate_dialogues(project, question_ids=ids, model=model, on_progress=on_progress)

    def _run_view(self, project: str | int, topic: str, jobs: list[JobView], background: bool) -> DistillRunView:
        with self.db.session() as session:
            row = lookups.project(session, project)
            tree = [t for t in tree_views(session, row) if t.label == " ".join(topic.split())]
        return DistillRunView(topic=topic, jobs=jobs, tree=tree, started_in_background=background)


def _overrides(**values: Any) -> dict[str, Any]:
    return {f"distill.{k}": v for k, v in values.items() if v is not None}

