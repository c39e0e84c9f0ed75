"""Generation strategies: how a stage turns its inputs into drafts — through an LLM (`LLMStrategy`, every call
through the runner) or offline (`ExtractiveStrategy`, no LLM at all, built from the chunk's own sentences).

A model config chooses one the way it chooses a provider: the preset's kind looks it up in `STRATEGIES` (the
`extractive` preset, or `--provider extractive`, gives the offline one; every other preset the LLM one). The
stages never ask which one they hold: they call `questions`, `answers`, `tags`, `score`, `rewrite` or
`ping`, and a strategy that cannot do a stage says so, by name, before any work starts (`check`).

Each stage's prompts and options are fixed for a job and passed as a `StageContext`; each item of work comes
as a task (`QuestionTask`, `AnswerTask`, `ScoreTask`) and goes back as a draft the stage stores.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from loreforge.errors import LoreForgeError, UserError
from loreforge.generate.parsing import ParseFailure
from loreforge.generate.runner import CallMeta, CallRecord, Runner
from loreforge.prompts import Prompt
from loreforge.providers.base import CallOptions, Completion
from loreforge.settings import ProjectSettings

STAGES = ("questions", "answers", "tags", "score", "rewrite", "ping", "clean", "ga_pairs", "dialogues", "distill_tags",
          "distill_questions", "distill_answers", "image_qa")
QUESTION_MAX_CHARS = 500  # a longer "question" is not one; also keeps the (chunk, question) key indexable


@dataclass(frozen=True)
class StageContext:
    """What a stage's job fixes for all its items: prompts by name, call options, settings, tag labels."""

    stage: str
    project_id: int | None
    job_id: int | None
    settings: ProjectSettings
    prompts: dict[str, Prompt]
    options: CallOptions
    labels: list[str] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)

    def meta(self, prompt: str, item: str | None = None) -> CallMeta:
        p = self.prompts[prompt]
        return CallMeta(self.stage, p.name, p.hash, self.job_id, self.project_id, item)


@dataclass(frozen=True)
class StageWork:
    """A stage kept in its own module (cleaning, genre–audience pairs, dialogues, distillation, images): how an LLM
    does one item (given the runner), and how the offline strategy does it (None: it cannot — `check` says so
    before any work starts). Strategies run it with `do`."""

    stage: str
    llm: Callable[[Runner, StageContext, Any], Awaitable[Any]]
    offline: Callable[[Any, StageContext, Any], Awaitable[Any]] | None = None


@dataclass(frozen=True)
class QuestionTask:
    chunk_id: int
    text: str
    heading: str
    n: int


@dataclass(frozen=True)
class QuestionDraft:
    pairs: list[tuple[str, str]]  # (question, tag label)
    asked: int  # how many the reply held before cleaning
    tokens_in: int
    tokens_out: int
    model: str
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> count, e.g. {"too long": 1}
    ga: list[int] = field(default_factory=list)  # with genre–audience pairs: each question's pair id (parallel to pairs)


@dataclass(frozen=True)
class AnswerTask:
    chunk_id: int
    chunk: str
    questions: list[tuple[int, str, str]]  # (question id, text, tag label)
    per_question: bool
    preamble: str = ""  # put before the questions (the genre–audience styles they name)
    heading: str = ""  # the chunk's heading path ("A > B"): what it is about


@dataclass
class AnswerDraft:
    answers: dict[int, tuple[str, str]]  # question id -> (answer, chain of thought)
    tokens_in: int
    tokens_out: int
    model: str
    error: str | None = None
    raw: str | None = None
    fell_back: bool = False  # batched answers did not parse: answered one question at a time instead
    cot_synthesized: int = 0  # chains of thought written by the one extra call (the model gave none)
    cot_missing: int = 0  # answers still without one (that call failed)
    cot_from: dict[int, str] = field(default_factory=dict)  # question id -> reply, native or synthesized (COT_ORIGINS)


@dataclass(frozen=True)
class ScoreTask:
    item_id: int
    chunk: str
    question: str
    answer: str


@dataclass(frozen=True)
class ScoreDraft:
    score: float
    reason: str
    detail: dict[str, float]


@dataclass(frozen=True)
class Rewrite:
    text: str
    tokens_in: int
    tokens_out: int


class Strategy(Protocol):
    """What every strategy offers. `source` is the provenance written on each generated row."""

    source: str
    stages: ClassVar[frozenset[str]]

    async def questions(self, ctx: StageContext, task: QuestionTask) -> QuestionDraft: ...
    async def answers(self, ctx: StageContext, task: AnswerTask) -> AnswerDraft: ...
    async def tags(self, ctx: StageContext, toc: list[tuple[str, list[dict[str, Any]]]], existing: list[Any], mode: str) -> list[Any]: ...
    async def score(self, ctx: StageContext, task: ScoreTask) -> ScoreDraft: ...
    async def rewrite(self, ctx: StageContext, chunk: str, question: str, answer: str, advice: str) -> Rewrite: ...
    async def ping(self, ctx: StageContext) -> str: ...
    async def do(self, ctx: StageContext, work: StageWork, task: Any) -> Any: ...


def clean_items(items: list[Any], ctx: StageContext) -> tuple[list[tuple[str, str]], dict[str, int]]:
    from loreforge.generate.questions import clean_questions

    q = ctx.settings.questions
    pairs = clean_questions(items, 10_000, ctx.labels, ctx.rng, q.remove_question_mark_probability)
    kept = [(t, tag) for t, tag in pairs if len(t) <= QUESTION_MAX_CHARS]
    dropped = {"longer than %d characters" % QUESTION_MAX_CHARS: len(pairs) - len(kept)} if len(kept) < len(pairs) else {}
    return kept, dropped


class LLMStrategy:
    """Every stage through an LLM: prompt messages, the runner (limits, retries, call records), reply parsing."""

    source = "llm"
    stages: ClassVar[frozenset[str]] = frozenset(STAGES)

    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    async def questions(self, ctx: StageContext, task: QuestionTask) -> QuestionDraft:
        from loreforge.generate.questions import QuestionsReply, question_messages

        messages = question_messages(ctx.prompts["system"], ctx.prompts["questions"], task.text, task.n, ctx.labels,
                                     ctx.settings.language)
        result = await self.runner.call_json(messages, QuestionsReply, options=ctx.options, meta=ctx.meta("questions", f"chunk:{task.chunk_id}"))
        pairs, dropped = clean_items(result.value.questions, ctx)
        usage = result.completion.usage
        return QuestionDraft(pairs[: max(task.n, task.n + task.n // 2)], len(result.value.questions), usage.prompt_tokens,
                             usage.completion_tokens, result.completion.model, dropped)

    async def answers(self, ctx: StageContext, task: AnswerTask) -> AnswerDraft:
        if task.per_question:
            draft = await self._one_by_one(ctx, task)
        else:
            try:
                draft = await self._batched(ctx, task)
            except ParseFailure as failure:
                draft = await self._one_by_one(ctx, task, prompt="answer_single")
                draft.fell_back = True
                if draft.error:
                    draft.error += f" (batched reply did not parse: {failure.reason})"
                    draft.raw = "\n\n".join(x for x in (failure.raw_output, draft.raw) if x)
        await self._chain_of_thought(ctx, task, draft)
        return draft

    async def _chain_of_thought(self, ctx: StageContext, task: AnswerTask, draft: AnswerDraft) -> None:
        """Citation phrasing out of every chain of thought; with `answers.cot = ask`, the ones the model did not
        give written by one more call for the whole item (`generate/cot.py`)."""
        from loreforge.generate.cot import fill_missing

        if ctx.settings.answers.cot == "off" or not draft.answers:
            return
        item = f"question:{task.questions[0][0]}" if task.per_question else f"chunk:{task.chunk_id}"
        fill = await fill_missing(self.runner, ctx, task.chunk, {q[0]: q[1] for q in task.questions}, draft.answers, item,
                                  synthesize=ctx.settings.answers.cot == "ask")
        draft.cot_synthesized, draft.cot_missing = fill.synthesized, fill.missing
        draft.cot_from.update(dict.fromkeys(fill.ids, "synthesized"))
        draft.tokens_in += fill.tokens_in
        draft.tokens_out += fill.tokens_out

    async def _batched(self, ctx: StageContext, task: AnswerTask) -> AnswerDraft:
        from loreforge.generate.answers import AnswersReply, batched_messages, clean_answer

        ask_cot = ctx.settings.answers.cot == "ask"
        messages = batched_messages(ctx.prompts["system"], ctx.prompts["answers_batched"], task.chunk,
                                    [q[1] for q in task.questions], ctx.settings.language, ask_cot, task.preamble)
        result = await self.runner.call_json(messages, AnswersReply, options=ctx.options, meta=ctx.meta("answers_batched", f"chunk:{task.chunk_id}"))
        answers: dict[int, tuple[str, str]] = {}
        cot_from: dict[int, str] = {}
        for item in result.value.answers:
            if 1 <= item.id <= len(task.questions) and item.answer and item.answer.strip():
                cot = item.reasoning or (result.reasoning if len(task.questions) == 1 else "")
                answers[task.questions[item.id - 1][0]] = (clean_answer(item.answer), cot.strip())
                cot_from[task.questions[item.id - 1][0]] = "reply" if item.reasoning else "native"
        usage = result.completion.usage
        missing = [q[0] for q in task.questions if q[0] not in answers]
        error = f"no answer in the reply for question(s) {missing}" if missing else None
        return AnswerDraft(answers, usage.prompt_tokens, usage.completion_tokens, result.completion.model, error,
                           result.raw_text if missing else None, cot_from=cot_from)

    async def _one_by_one(self, ctx: StageContext, task: AnswerTask, prompt: str = "answer_single") -> AnswerDraft:
        from loreforge.generate.answers import clean_answer, single_messages
        from loreforge.providers import split_think

        draft = AnswerDraft({}, 0, 0, "")
        errors: list[str] = []
        raws: list[str] = []
        for qid, text, _tag in task.questions:
            messages = single_messages(ctx.prompts["system"], ctx.prompts[prompt], task.chunk, text, ctx.settings.language,
                                       ctx.settings.answers.cot == "ask", task.preamble)
            try:
                completion = await self.runner.call_text(messages, options=ctx.options, meta=ctx.meta(prompt, f"question:{qid}"))
            except LoreForgeError as exc:
                errors.append(f"question {qid}: {exc}")
                if isinstance(exc, ParseFailure):  # every reply was cut off: keep them for inspection
                    raws.append(f"question {qid}:\n{exc.raw_output}")
                continue
            _count(draft, completion)
            answer, think = split_think(completion.text)
            if not answer.strip():
                errors.append(f"question {qid}: the model returned an empty answer")
                continue
            cot = "\n".join(x for x in (completion.reasoning, think) if x).strip()
            draft.answers[qid] = (clean_answer(answer), cot)
            draft.cot_from[qid] = "reply" if think else "native"
        if errors:
            draft.error = "; ".join(errors)
            draft.raw = "\n\n".join(raws) or None
        return draft

    async def tags(self, ctx: StageContext, toc: list[tuple[str, list[dict[str, Any]]]], existing: list[Any], mode: str) -> list[Any]:
        from loreforge.generate.tags import TagsReply, tag_messages, toc_text

        messages = tag_messages(ctx.prompts["system"], ctx.prompts["tags"], toc_text(toc), existing, mode, ctx.settings.language)
        result = await self.runner.call_json(messages, TagsReply, options=ctx.options, meta=ctx.meta("tags"))
        return list(result.value.tags)

    async def score(self, ctx: StageContext, task: ScoreTask) -> ScoreDraft:
        from loreforge.generate.judge import JudgeReply, judge_messages

        messages = judge_messages(ctx.prompts["system"], ctx.prompts["judge"], task.chunk, task.question, task.answer)
        reply = (await self.runner.call_json(messages, JudgeReply, options=ctx.options, meta=ctx.meta("judge", f"item:{task.item_id}"))).value
        detail = {k: getattr(reply, k) for k in ("question_quality", "accuracy", "relevance", "consistency")}
        return ScoreDraft(reply.overall, reply.reason.strip(), detail)

    async def rewrite(self, ctx: StageContext, chunk: str, question: str, answer: str, advice: str) -> Rewrite:
        from loreforge.generate.answers import clean_answer

        messages = [
            {"role": "system", "content": ctx.prompts["system"].render()},
            {"role": "user", "content": ctx.prompts["answer_optimize"].render(chunk=chunk, question=question, answer=answer, advice=advice)},
        ]
        completion = await self.runner.call_text(messages, options=ctx.options, meta=ctx.meta("answer_optimize"))
        return Rewrite(clean_answer(completion.text), completion.usage.prompt_tokens, completion.usage.completion_tokens)

    async def do(self, ctx: StageContext, work: StageWork, task: Any) -> Any:
        return await work.llm(self.runner, ctx, task)

    async def ping(self, ctx: StageContext) -> str:
        messages = [{"role": "user", "content": "Reply with the single word: pong"}]
        return (await self.runner.call(messages, options=ctx.options, meta=CallMeta("test", "ping", "-"))).text


def _count(draft: AnswerDraft, completion: Completion) -> None:
    draft.tokens_in += completion.usage.prompt_tokens
    draft.tokens_out += completion.usage.completion_tokens
    draft.model = completion.model or draft.model


class ExtractiveStrategy:
    """No LLM at all: questions and answers cut from the chunk's own sentences, tags from the headings. Lower
    quality, clearly labelled (`source = extractive` on every row). Judging and rewriting need an LLM."""

    source = "extractive"
    stages: ClassVar[frozenset[str]] = frozenset({"questions", "answers", "tags", "ping", "clean", "dialogues"})
    children_from_headings = 6
    label_chars = 40

    def __init__(self, settings: Any) -> None:
        from loreforge.generate.extractive import Extractor

        self.extractor = Extractor(settings)

    async def questions(self, ctx: StageContext, task: QuestionTask) -> QuestionDraft:
        from loreforge.generate.questions import match_tag, text_language

        qas = self.extractor.extract_questions(task.text, task.n, text_language(task.text, ctx.settings.language), task.heading)
        tag = next((t for part in reversed(task.heading.split(" > ")) if (t := match_tag(part, ctx.labels))), "")
        pairs = [(qa.question, tag) for qa in qas if len(qa.question) <= QUESTION_MAX_CHARS]
        return QuestionDraft(pairs, len(qas), 0, 0, "extractive")

    async def answers(self, ctx: StageContext, task: AnswerTask) -> AnswerDraft:
        from loreforge.generate.dedup import similarity
        from loreforge.generate.questions import text_language

        qas = self.extractor.extract_questions(task.chunk, 200, text_language(task.chunk, ctx.settings.language), task.heading)
        by_question = {qa.question: qa.answer for qa in qas}
        answers: dict[int, tuple[str, str]] = {}
        for qid, text, _ in task.questions:
            answer = by_question.get(text)
            if answer is None and qas:
                answer = max(qas, key=lambda qa: similarity(text, qa.question)).answer
            if answer:
                answers[qid] = (answer, "")
        missing = [q[0] for q in task.questions if q[0] not in answers]
        return AnswerDraft(answers, 0, 0, "extractive", f"no sentence answers question(s) {missing}" if missing else None)

    async def tags(self, ctx: StageContext, toc: list[tuple[str, list[dict[str, Any]]]], existing: list[Any], mode: str) -> list[Any]:
        """One top-level tag per document, its main section headings as children."""
        from loreforge.generate.tags import TagNode

        tree = []
        for title, nodes in toc:
            sections = nodes[0].get("children", []) if len(nodes) == 1 else nodes
            kids = [str(n.get("title", ""))[: self.label_chars] for n in sections][: self.children_from_headings]
            tree.append(TagNode(label=title[: self.label_chars], children=kids))
        return tree

    async def score(self, ctx: StageContext, task: ScoreTask) -> ScoreDraft:
        raise _needs_llm("score")

    async def rewrite(self, ctx: StageContext, chunk: str, question: str, answer: str, advice: str) -> Rewrite:
        raise _needs_llm("rewrite")

    async def do(self, ctx: StageContext, work: StageWork, task: Any) -> Any:
        if work.offline is None:
            raise _needs_llm(work.stage)
        return await work.offline(self.extractor, ctx, task)

    async def ping(self, ctx: StageContext) -> str:
        return "extractive: no LLM, nothing to reach"


_WHAT = {"score": "Scoring", "rewrite": "Optimising an answer", "ga_pairs": "Proposing genre–audience pairs",
         "distill_tags": "Distillation", "distill_questions": "Distillation", "distill_answers": "Distillation"}


def _needs_llm(stage: str) -> UserError:
    return UserError(f"{_WHAT.get(stage, stage.capitalize())} needs an LLM; the extractive strategy only cuts questions and "
                     "answers from the text", hint="Add one with `loreforge models add PROJECT --provider ...` and pick it with --model")


STRATEGIES: dict[str, Callable[..., Any]] = {"extractive": ExtractiveStrategy}
"""Preset kind -> offline strategy. Kinds not listed (openai, ollama, local) talk to an LLM: `LLMStrategy`."""


def strategy_class(config: Any) -> Any:
    """The strategy class a provider config chooses (by its preset's kind)."""
    from loreforge.providers import get_preset

    return STRATEGIES.get(get_preset(config.provider).kind, LLMStrategy)


def check(config: Any, stage: str) -> None:
    """Raise before any work starts when the config's strategy cannot do `stage`."""
    if stage not in strategy_class(config).stages:
        raise _needs_llm(stage)


@asynccontextmanager
async def open_strategy(config: Any, runner_settings: Any, sink: Callable[[CallRecord], None] | None = None) -> AsyncIterator[Any]:
    """The strategy for `config`, ready to use; an LLM strategy opens its provider and runner and closes them."""
    cls = strategy_class(config)
    if cls is not LLMStrategy:
        yield cls(config.extractive)
        return
    from loreforge.providers import make_provider

    provider = make_provider(config)
    try:
        async with Runner(provider, runner_settings, sink=sink) as runner:
            yield LLMStrategy(runner)
    finally:
        await provider.aclose()
