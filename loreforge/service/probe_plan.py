"""What probe building reads from the store, and the rewording job.

`training_view` splits a project's confirmed dataset items exactly as `loreforge export` (and so `train
--project`) does — the same query, order and `loreforge.export.exporter.select` — into the items trained on and
the held-out ones, indexes every training question for the leakage filter, and gathers each document's values
for distractors. `reword_plan` is the rewording job (kind `probe_reword`) on the one life cycle: one work item
per trained item, claimed in the store, worked through the one runner with the `probe_reword` prompt; its ONE
writer filters each rewording for leakage, expands it into the set's question types and stores the probes and
the set's counts in one transaction, so an interrupted build resumes where it stopped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loreforge.errors import UserError
from loreforge.evaluate.probes.build import BuildOptions, Item, item_probes, sample
from loreforge.evaluate.probes.keys import KeyValue, document_values
from loreforge.evaluate.probes.leakage import LeakageIndex
from loreforge.records import QAPair
from loreforge.secrets import SecretBox
from loreforge.service.model_configs import generation
from loreforge.service.prompts import load_prompts
from loreforge.service.stage_common import ids_in, input_hash
from loreforge.service.stages import StagePlan, Stored, not_done
from loreforge.settings import AppConfig
from loreforge.store.models import Chunk, DatasetItem, Probe, ProbeSet, Project

STAGE = "probe_reword"


@dataclass(frozen=True)
class TrainingView:
    """A project's dataset as training saw it: trained items, held-out items, the leakage index, the pools."""

    train: list[Item]
    val: list[Item]
    index: LeakageIndex
    pools: dict[int | None, list[KeyValue]]
    split_hash: str


def _pairs(session: Session, project_id: int) -> Iterator[QAPair]:
    """The confirmed items as QAPairs, in the export's order (what `loreforge export` exports by default)."""
    query = (select(DatasetItem, Chunk.document_id).outerjoin(Chunk, Chunk.id == DatasetItem.chunk_id)
             .where(DatasetItem.project_id == project_id, DatasetItem.confirmed.is_(True)).order_by(DatasetItem.id))
    for item, document_id in session.execute(query):
        yield QAPair(id=item.id, question=item.question, answer=item.answer, tag=item.tag, chunk_id=item.chunk_id,
                     document_id=document_id, confirmed=True)


def training_view(session: Session, row: Project, val_size: float, split_by: str, seed: int) -> TrainingView:
    from loreforge.export import make_options
    from loreforge.export.exporter import select as export_select

    pairs = list(_pairs(session, row.id))
    if not pairs:
        raise UserError(f"Project '{row.name}' has no confirmed dataset items to build probes from",
                        hint=f"Probes come from what training uses: confirm items first (`loreforge dataset confirm {row.name}`), "
                             "or import your own with `loreforge probes import`")
    options = make_options(format="alpaca", val_size=val_size, split_by=split_by, seed=seed)
    chosen = export_select(lambda: iter(pairs), options, {"project": row.name})
    items = {p.id: Item(p.id, p.question, p.answer, p.chunk_id, p.document_id, p.tag) for p in pairs}
    train = [items[p.id] for p in pairs if p.id in chosen.train]
    val = [items[p.id] for p in pairs if p.id in chosen.val]
    digest = hashlib.sha256(f"{sorted(chosen.train)}|{sorted(chosen.val)}".encode()).hexdigest()[:16]
    return TrainingView(train, val, LeakageIndex(i.question for i in train), _pools(session, pairs), digest)


def _pools(session: Session, pairs: list[QAPair]) -> dict[int | None, list[KeyValue]]:
    """Each document's values (from its chunks); items without a document share the values of their answers."""
    documents = sorted({p.document_id for p in pairs if p.document_id is not None})
    texts: dict[int | None, list[str]] = {d: [] for d in documents}
    if documents:
        rows = session.execute(select(Chunk.document_id, Chunk.text).where(Chunk.document_id.in_(documents))
                               .order_by(Chunk.document_id, Chunk.ordinal))
        for document_id, text in rows:
            texts[document_id].append(text)
    texts[None] = [p.answer for p in pairs if p.document_id is None]
    return {d: document_values(t) for d, t in texts.items()}


def options_of(params: dict[str, Any]) -> BuildOptions:
    return BuildOptions(tuple(params["kinds"]), tuple(params["qtypes"]), params["size"], params["options"],
                        params["leakage_threshold"], params["seed"], params["language"])


@dataclass(frozen=True)
class RPayload:
    set_id: int
    item: Item
    first: int  # the position of this item's first probe
    input_hash: str


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def reword_plan(config: AppConfig, secrets: SecretBox, session: Session, row: Project, probe_set: ProbeSet, view: TrainingView,
                keys: list[str] | None = None) -> StagePlan:
    """The rewording job of `probe_set` over its trained items (only those of `keys` when given: a retry)."""
    from loreforge.generate.strategies import LLMStrategy, StageContext, strategy_class

    params = dict(probe_set.params)
    gen = generation(secrets, session, row, params.get("model"), params.get("provider"))
    if strategy_class(gen.config) is not LLMStrategy:
        raise needs_llm()
    prompts = load_prompts(config, row, "system", STAGE)
    opts = options_of(params)
    chosen = sample(view.train, opts.size, opts.seed, "reworded")
    stride, offset = len(opts.qtypes), int(params.get("reword_offset", 0))
    items: list[tuple[str, Any]] = []
    for n, item in enumerate(chosen):
        h = input_hash(STAGE, probe_set.id, item.question, item.answer, prompts["system"].hash, prompts[STAGE].hash, gen.model_key)
        items.append((f"item:{item.id}:s{probe_set.id}:{h[:16]}", RPayload(probe_set.id, item, offset + n * stride, h)))
    if keys is not None:
        wanted = set(ids_in(keys, "item"))
        items = [(k, p) for k, p in items if p.item.id in wanted]

    def context(job_id: int) -> StageContext:
        return StageContext(STAGE, row.id, job_id, gen.settings, prompts, gen.config.options.options())

    async def work(strategy: Any, ctx: StageContext, p: RPayload) -> Any:
        from loreforge.evaluate.probes.reword import read_reword, reword_messages

        messages = reword_messages(ctx.prompts["system"], ctx.prompts[STAGE], p.item.question, p.item.answer)
        completion = await strategy.runner.call_text(messages, options=ctx.options, meta=ctx.meta(STAGE, f"item:{p.item.id}"))
        return read_reword(completion.text), completion.model or gen.config.model

    def store(s: Session, _job_id: int, p: RPayload, draft: tuple[str, str]) -> Stored:
        question, model = draft
        target = s.scalar(select(ProbeSet).where(ProbeSet.id == p.set_id).with_for_update())
        if target is None:
            return Stored(f"probe set {p.set_id} was deleted while it was being built")
        provenance = {"source": "llm", "provider": gen.config.provider, "model": model, "prompt_name": STAGE,
                      "prompt_hash": prompts[STAGE].hash, "input_hash": p.input_hash, "created": now()}
        counts = _copy(target.counts)
        before = counts["dropped_leakage"]
        probes = item_probes("reworded", p.item, question, view.pools, opts, view.index, counts, provenance)
        for i, probe in enumerate(probes):
            s.add(Probe(probe_set_id=p.set_id, position=p.first + i, **probe.row()))
        target.counts = counts
        return Stored(counts={"leaked": counts["dropped_leakage"] - before})

    job_params = {"probe_set_id": probe_set.id, "probe_set": probe_set.name, "model": params.get("model")}
    items = not_done(session, row.id, STAGE, items, False)  # an item's key holds the set: a new set is new work
    return StagePlan(STAGE, gen, items, job_params, context, work, store,
                     notes={"leaked": "{n} rewording(s) dropped as too close to a training question"})


def _copy(counts: dict[str, Any]) -> dict[str, Any]:
    import copy

    return copy.deepcopy(counts)


def needs_llm() -> UserError:
    return UserError("Reworded probes need an LLM; the extractive strategy cannot rewrite a question",
                     hint="Pick a model config with --model (add one with `loreforge models add PROJECT ...`), "
                          "or leave reworded out: --kinds held-out,key-fact,general")
