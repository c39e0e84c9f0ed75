"""Executing one recorded evaluation run (for `loreforge.service.evaluation`): its models as answerers (local
through the generation engine, endpoints through the one runner with every call logged in `llm_calls`), the
prompts of every probe per model (with `--rag`, the base model's prompt with the top-k BM25 chunks of the
project), the judge over free answers, then the aggregates and the report folder; and `compare`, two runs side
by side. The loop itself — batches stored as they finish, resume, cancel — is `loreforge.evaluate.run`.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from loreforge.errors import LoreForgeError, UserError
from loreforge.evaluate.aggregate import ResultRow, outcomes, summarize
from loreforge.evaluate.answering import Answerer, Ask, EndpointAnswerer, EvalProbe, Generation, LocalAnswerer, asks_for, greedy_options
from loreforge.evaluate.run import Cancelled, Phase, answer_all, judge_all
from loreforge.generate.runner import CallMeta
from loreforge.jobs import JobControl
from loreforge.service import lookups
from loreforge.service.eval_plan import ModelSpec, StoreSink, load_probes, result_rows
from loreforge.service.llm import Generation as LLMGeneration
from loreforge.service.llm import record_calls, run_sync
from loreforge.store import Database
from loreforge.store.models import Chunk, Document, EvalRun
from loreforge.views import EvalCompareView, EvalRunView

if TYPE_CHECKING:
    from loreforge.service import Service

STAGE = "eval"
PROBE_PROMPT = "eval_probe"  # the name an answering call is logged under (the probe's own text is its prompt)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@asynccontextmanager
async def open_runner(db: Database, gen: LLMGeneration) -> AsyncIterator[Any]:
    """The runner of a model config, its calls logged when it closes."""
    from loreforge.generate.strategies import LLMStrategy, open_strategy, strategy_class

    if strategy_class(gen.config) is not LLMStrategy:
        raise UserError("An offline strategy cannot answer probes", got=f"provider {gen.config.provider}",
                        hint="Name a model config of a real model (an endpoint, Ollama or the local provider)")
    calls: list[Any] = []
    try:
        async with open_strategy(gen.config, gen.settings.llm, sink=calls.append) as strategy:
            yield strategy.runner
    finally:
        await asyncio.to_thread(record_calls, db, calls)


class _Context:
    """What one execution of a run holds: the service, the run's row values, its probes."""

    def __init__(self, app: Service, eval_id: int, control: JobControl) -> None:
        self.app, self.eval_id, self.control = app, eval_id, control
        with app.db.session() as session:
            run = session.get(EvalRun, eval_id)
            assert run is not None
            self.row_id, self.config = run.project_id, dict(run.config or {})
            self.report_dir, self.set_ids = run.report_dir, list(run.probe_set_ids or [])
            self.probes, self.rotations = load_probes(session, self.set_ids)
            self.project_name = lookups.project(session, run.project_id).name
        self.generation = Generation(int(self.config["max_new_tokens"]), float(self.config["temperature"]),
                                     int(self.config["batch_size"]))

    def llm(self, config_name: str) -> LLMGeneration:
        from loreforge.service.model_configs import generation

        with self.app.db.session() as session:
            row = lookups.project(session, self.row_id)
            return generation(self.app.secrets, session, row, model=config_name)

    def prompt(self, name: str, language: str) -> Any:
        from loreforge.service.prompts import load_prompt

        with self.app.db.session() as session:
            return load_prompt(self.app.config, lookups.project(session, self.row_id), name, language)

    def meta(self, prompt_name: str, prompt_hash: str, item: str) -> CallMeta:
        return CallMeta(STAGE, prompt_name, prompt_hash, self.control.job_id, self.row_id, item)

    def answerer(self, spec: ModelSpec) -> Answerer:
        if spec.kind == "local":
            assert spec.base is not None or spec.tuned is not None
            return LocalAnswerer(spec.base or "", self.generation, tuned=spec.tuned, home=self.app.config.home)
        gen = self.llm(str(spec.config))
        options = greedy_options(gen.config.options.options(), self.generation)

        def meta(ask: Ask) -> CallMeta:
            name = "eval_rag" if ask.label == "rag" else PROBE_PROMPT
            return self.meta(name, _hash(ask.prompt), f"probe:{ask.probe.id}:{ask.label}:{ask.rotation}")

        return EndpointAnswerer(spec.name, lambda: open_runner(self.app.db, gen), options, meta)

    def asks(self, label: str) -> list[Ask]:
        return [a for p in self.probes for a in asks_for(p, label, self.rotations.get(p.set_id))]

    def rag_asks(self) -> list[Ask]:
        from loreforge.evaluate.rag import ChunkIndex, Passage, context_text

        with self.app.db.session() as session:
            rows = session.execute(select(Chunk.id, Document.filename, Chunk.text).join(Document, Document.id == Chunk.document_id)
                                   .where(Chunk.project_id == self.row_id).order_by(Chunk.document_id, Chunk.ordinal))
            index = ChunkIndex([Passage(i, name, text) for i, name, text in rows])
        k = int(self.config["rag_k"])
        prompts = {lang: self.prompt("eval_rag", lang) for lang in {p.language for p in self.probes}}
        return [a for p in self.probes
                for a in asks_for(p, "rag", self.rotations.get(p.set_id), prompts[p.language], context_text(index.top(p.question, k)))]


def _phases(ctx: _Context) -> list[Phase]:
    models = ctx.config["models"]
    base, tuned = ModelSpec.from_dict(models["base"]), ModelSpec.from_dict(models["tuned"])
    base_asks = ctx.asks("base") + (ctx.rag_asks() if ctx.config.get("rag") else [])
    return [Phase("base", ctx.answerer(base), base_asks), Phase("tuned", ctx.answerer(tuned), ctx.asks("tuned"))]


async def _judge(ctx: _Context, sink: StoreSink) -> int:
    from loreforge.evaluate.judge import judge

    spec = ModelSpec.from_dict(ctx.config["models"]["judge"])
    gen = ctx.llm(str(spec.config))
    options = replace(gen.config.options.options(), temperature=0.0, stream=False)
    prompts = {lang: ctx.prompt("eval_judge", lang) for lang in {p.language for p in ctx.probes}}
    async with open_runner(ctx.app.db, gen) as runner:
        async def one(row: ResultRow, probe: EvalProbe) -> tuple[float | None, str]:
            try:
                verdict = await judge(runner, question=probe.question, reference=probe.reference or probe.key or "",
                                      answer=row.answer, language=probe.language, options=options,
                                      meta=ctx.meta("eval_judge", "", f"probe:{probe.id}:{row.label}"), prompt=prompts[probe.language])
            except Cancelled:
                raise
            except LoreForgeError as exc:  # one unusable verdict is not the run's end: judged again on resume
                return None, f"judge failed: {exc}"
            return verdict.score, verdict.reason

        return await judge_all(sink, one, int(ctx.config["judge_concurrency"]))


def _headline(summary: dict[str, Any]) -> dict[str, Any]:
    """What the run row keeps of the report: accuracy per model and per kind and set, the paired tests."""
    return {"models": {label: m["accuracy"] for label, m in summary["models"].items()},
            "kind": summary["groups"].get("kind", {}), "set": summary["groups"].get("set", {}),
            "paired": {name: entry["all"] for name, entry in summary["paired"].items()},
            "paired_kind": {name: entry["kind"] for name, entry in summary["paired"].items()},
            "paired_set": {name: entry["set"] for name, entry in summary["paired"].items()},
            "regressions": summary["regressions_total"], "wins": summary["wins_total"],
            "general_losses": len(summary["general_losses"]), "probes": summary["probes"]}


def _report(ctx: _Context) -> dict[str, Any]:
    from pathlib import Path

    from loreforge.evaluate.report import write_report

    with ctx.app.db.session() as session:
        rows = result_rows(session, ctx.eval_id)
    summary = summarize(ctx.probes, rows, int(ctx.config.get("top_examples") or 20))
    models = {label: ModelSpec.from_dict(spec).name for label, spec in ctx.config["models"].items() if label != "judge"}
    if ctx.config.get("rag"):
        models["rag"] = f"{models['base']} + BM25 top-{ctx.config['rag_k']} chunks"
    meta = {"id": ctx.eval_id, "project": ctx.project_name, "models": models, "config": ctx.config,
            "probe_sets": ctx.config.get("probe_sets", [])}
    files = write_report(Path(str(ctx.report_dir)), summary, meta, ctx.probes, rows)
    return {**_headline(summary), "files": files}


def execute(app: Service, eval_id: int, control: JobControl, stopping: threading.Event,
            on_progress: Callable[[int, int, dict[str, Any]], None] | None = None) -> None:
    """Answer what is not answered yet, judge what is not judged yet, write the report (the job is started and
    beating; the caller finishes it)."""
    ctx = _Context(app, eval_id, control)
    if not ctx.probes:
        raise UserError(f"The probe sets of evaluation run {eval_id} hold no probes", hint="Build or import probes first")
    sink = StoreSink(app.db, eval_id, control, ctx.probes, on_progress)
    sink.stop = stopping
    run_sync(answer_all(_phases(ctx), sink, ctx.generation.batch_size))
    if ctx.config.get("judge"):
        control.report(detail={"unit": "answers", "phase": "judge"})
        run_sync(_judge(ctx, sink))
    control.report(detail={"unit": "answers", "phase": "report"})
    metrics = _report(ctx)
    with app.db.session() as session:
        run = session.get(EvalRun, eval_id)
        assert run is not None
        run.metrics = metrics


# ------------------------------------------------------------ two runs side by side


def _rows(va: EvalRunView, vb: EvalRunView) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(metric: str, model: str, group: str, a: dict[str, Any] | None, b: dict[str, Any] | None) -> None:
        ra, rb = (a or {}).get("rate"), (b or {}).get("rate")
        out.append({"metric": metric, "model": model, "group": group, "a": a, "b": b,
                    "delta": rb - ra if ra is not None and rb is not None else None})

    ma, mb = va.metrics, vb.metrics
    for label in [x for x in ("base", "rag", "tuned") if x in ma.get("models", {}) or x in mb.get("models", {})]:
        add("accuracy", label, "all", ma.get("models", {}).get(label), mb.get("models", {}).get(label))
        for kind in sorted(set(ma.get("kind", {})) | set(mb.get("kind", {}))):
            add("accuracy", label, f"kind {kind}", ma.get("kind", {}).get(kind, {}).get(label),
                mb.get("kind", {}).get(kind, {}).get(label))
    return out


def compare(va: EvalRunView, vb: EvalRunView, rows_a: Sequence[ResultRow], rows_b: Sequence[ResultRow]) -> EvalCompareView:
    from loreforge.evaluate.stats import paired

    a, b = outcomes(rows_a).get("tuned", {}), outcomes(rows_b).get("tuned", {})
    common = sorted(i for i in set(a) & set(b) if a[i].correct is not None and b[i].correct is not None)
    test = paired([bool(a[i].correct) for i in common], [bool(b[i].correct) for i in common]) if common else None
    pair = None if test is None else {"n": len(common), "wins": test.wins, "losses": test.losses,
                                      "ties": test.both_right + test.both_wrong, "p_value": test.p_value}
    return EvalCompareView(a=va, b=vb, rows=_rows(va, vb), paired=pair)

