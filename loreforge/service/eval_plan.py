"""What an evaluation run reads from the store and writes back, for `loreforge.service.evaluation`.

- `resolve_base` / `resolve_tuned` / `resolve_judge`: what `--base`, `--tuned` and `--judge` name — a model config
  of the project (any OpenAI-compatible endpoint, through the runner), a train run id (its output folder), a
  LoRA adapter or full model folder, a GGUF file or a hub id (local, through the generation engine);
- `load_probes`: the probes of the run's sets, in order, as `EvalProbe`s;
- `StoreSink`: the `loreforge.evaluate.run.Sink` of a run — results inserted batch by batch (a result already
  stored is kept, never answered twice), the job's progress, the cancel flag its heartbeat raises.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loreforge.errors import Conflict, NotFound, UserError
from loreforge.evaluate.aggregate import ResultRow
from loreforge.evaluate.answering import EvalProbe
from loreforge.jobs import ACTIVE, JobControl
from loreforge.service import lookups
from loreforge.service.probes import find_set, set_view
from loreforge.store import Database
from loreforge.store.models import Document, EvalResult, ModelConfig, Probe, ProbeSet, Project

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


@dataclass(frozen=True)
class ModelSpec:
    """One model of a run. `local`: `base` (folder, hub id or GGUF file) and, for a tuned model, `tuned` (a LoRA
    adapter or full model folder); `endpoint`: the model config `config` (its provider and model `model`)."""

    kind: str
    ref: str
    name: str
    base: str | None = None
    tuned: str | None = None
    config: str | None = None
    model: str | None = None
    train_run_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]


def _config(session: Session, row: Project, ref: str) -> ModelConfig | None:
    return session.scalar(select(ModelConfig).where(ModelConfig.project_id == row.id, ModelConfig.name == ref))


def _endpoint(mc: ModelConfig, ref: str) -> ModelSpec:
    return ModelSpec("endpoint", ref, f"{mc.name} ({mc.provider}:{mc.model})", config=mc.name, model=mc.model)


def _not_found(what: str, ref: str, row: Project, more: str = "") -> NotFound:
    return NotFound(f"No model config, model folder or file named {lookups.shown(ref)!r} for {what}",
                    expected="a model config of project '" + row.name + "' (`loreforge models list`), a model folder, "
                             "a .gguf file or a hub id" + more,
                    hint="Check the path, or add the endpoint with `loreforge models add " + row.name + " ...`")


def resolve_base(session: Session, row: Project, ref: str) -> ModelSpec:
    """--base: a model config of the project, else a local folder or GGUF file, else a hub id."""
    text = ref.strip()
    if not text:
        raise UserError("--base is empty", expected="a model folder, .gguf file, hub id or model config")
    mc = _config(session, row, text)
    if mc is not None:
        return _endpoint(mc, text)
    path = Path(text).expanduser()
    if path.exists():
        return ModelSpec("local", text, str(path.resolve()), base=str(path.resolve()))
    if _HUB_ID.fullmatch(text):
        return ModelSpec("local", text, text, base=text)
    raise _not_found("--base", text, row)


def resolve_tuned(session: Session, row: Project, ref: str, base: ModelSpec, get_run: Callable[[int], Any]) -> ModelSpec:
    """--tuned: a train run id, a model config of the project, or a LoRA adapter / full model folder."""
    from loreforge.inference.tuned import is_adapter, is_run_id, tuned_folder

    text = ref.strip()
    if not text:
        raise UserError("--tuned is empty", expected="a train run id, an adapter or model folder, or a model config")
    mc = None if is_run_id(text) else _config(session, row, text)
    if mc is not None:
        return _endpoint(mc, text)
    if not is_run_id(text) and not Path(text).expanduser().exists():
        raise _not_found("--tuned", text, row, more=", or a train run id")
    folder = tuned_folder(text, get_run)
    run_id = int(text) if is_run_id(text) else None
    if is_adapter(folder) and base.kind != "local":
        raise UserError("A LoRA adapter needs a local base model", got=f"--base {base.ref} is a model config",
                        hint="Pass the base model's folder or .gguf file as --base, or serve the adapter and pass its config as --tuned")
    name = f"train run {run_id} ({folder})" if run_id is not None else str(folder)
    return ModelSpec("local", text, name, base=base.base, tuned=str(folder), train_run_id=run_id)


def resolve_judge(session: Session, row: Project, ref: str, judged: Sequence[ModelSpec]) -> ModelSpec:
    """--judge: a model config, which must differ from every model judged."""
    from loreforge.evaluate.judge import check_judge_differs

    mc = _config(session, row, ref.strip())
    if mc is None:
        names = list(session.scalars(select(ModelConfig.name).where(ModelConfig.project_id == row.id)))
        raise NotFound(f"No model config {lookups.shown(ref)!r} for --judge in project '{row.name}'",
                       hint=("Known: " + ", ".join(names)) if names else f"Add one with `loreforge models add {row.name} ...`")
    names = [n for spec in judged for n in (spec.model, spec.config, spec.base if spec.kind == "local" and not spec.tuned else None,
                                            spec.tuned) if n]
    check_judge_differs(mc.model, names)
    check_judge_differs(mc.name, names)
    return _endpoint(mc, ref.strip())


def probe_sets(session: Session, row: Project, refs: Sequence[str | int] | None) -> list[ProbeSet]:
    """The sets asked: those named, else all of the project's; none, or one still being built, is refused."""
    sets = [find_set(session, row, ref) for ref in refs] if refs else list(
        session.scalars(select(ProbeSet).where(ProbeSet.project_id == row.id).order_by(ProbeSet.id)))
    if not sets:
        raise UserError(f"Project '{row.name}' has no probe set to evaluate with",
                        hint=f"Build one with `loreforge probes build {row.name}` (or import your own: `loreforge probes import`)")
    for s in sets:
        job = set_view(session, s).job
        if job is not None and job.status in ACTIVE:
            raise Conflict(f"Probe set '{s.name}' is still being built (job {job.id})",
                           hint=f"Wait for it (`loreforge jobs show {job.id}`), then evaluate")
    return list(dict.fromkeys(sets))


def load_probes(session: Session, set_ids: Sequence[int]) -> tuple[list[EvalProbe], dict[int, int | None]]:
    """The probes of the sets, set by set in the order given, by position; and each set's rotations."""
    probes: list[EvalProbe] = []
    rotations: dict[int, int | None] = {}
    for set_id in set_ids:
        s = session.get(ProbeSet, set_id)
        if s is None:
            raise NotFound(f"Probe set {set_id} of this evaluation run was deleted", hint="Start a new run with the sets you have")
        rotations[s.id] = (s.params or {}).get("rotations")
        names = dict(session.execute(select(Document.id, Document.filename).where(Document.project_id == s.project_id)).all())
        for p in session.scalars(select(Probe).where(Probe.probe_set_id == s.id).order_by(Probe.position)):
            probes.append(EvalProbe(p.id, s.id, s.name, p.position, p.kind, p.qtype, p.question, p.reference or "", p.key,
                                    tuple(p.options) if p.options else None, p.answer, p.document_id,
                                    names.get(p.document_id) if p.document_id else None, p.tag, s.language or "en",
                                    p.source_question))
    return probes, rotations


def result_rows(session: Session, eval_run_id: int, label: str | None = None) -> list[ResultRow]:
    query = select(EvalResult).where(EvalResult.eval_run_id == eval_run_id).order_by(EvalResult.id)
    if label is not None:
        query = query.where(EvalResult.model_label == label)
    return [ResultRow(r.probe_id, r.model_label, r.rotation, r.answer, r.correct, r.prompt, r.key_match, r.judge_score,
                      r.judge_reason, r.bleu, dict(r.rouge) if r.rouge else None, r.prompt_tokens, r.completion_tokens,
                      r.latency_ms, r.finish_reason) for r in session.scalars(query)]


class StoreSink:
    """A run's results into `eval_results`, its progress into its job; `stop` is set by the heartbeat when a cancel
    is requested from any process."""

    def __init__(self, db: Database, eval_run_id: int, control: JobControl, probes: Sequence[EvalProbe],
                 on_progress: Callable[[int, int, dict[str, Any]], None] | None = None) -> None:
        self.db, self.eval_run_id, self.control, self.on_progress = db, eval_run_id, control, on_progress
        self.stop = threading.Event()
        self._probes = {p.id: p for p in probes}

    def done(self) -> set[tuple[int, str, int]]:
        with self.db.session() as s:
            rows = s.execute(select(EvalResult.probe_id, EvalResult.model_label, EvalResult.rotation)
                             .where(EvalResult.eval_run_id == self.eval_run_id))
            return {(int(p), str(m), int(r)) for p, m, r in rows}

    def write(self, rows: Sequence[ResultRow]) -> None:
        """One transaction per batch; a result stored already (a concurrent resume) is left as it is."""
        with self.db.session() as s:
            have = {(p, m, r) for p, m, r in s.execute(
                select(EvalResult.probe_id, EvalResult.model_label, EvalResult.rotation)
                .where(EvalResult.eval_run_id == self.eval_run_id, EvalResult.probe_id.in_([r.probe_id for r in rows])))}
            for r in rows:
                if (r.probe_id, r.label, r.rotation) in have:
                    continue
                s.add(EvalResult(eval_run_id=self.eval_run_id, probe_id=r.probe_id, model_label=r.label, rotation=r.rotation,
                                 prompt=r.prompt, answer=r.answer, correct=r.correct, key_match=r.key_match, bleu=r.bleu,
                                 rouge=r.rouge, prompt_tokens=r.prompt_tokens, completion_tokens=r.completion_tokens,
                                 latency_ms=r.latency_ms, finish_reason=r.finish_reason))

    def progress(self, done: int, total: int, detail: dict[str, Any]) -> None:
        self.control.report(done=done, total=total, detail=detail)
        if self.on_progress is not None:
            self.on_progress(done, total, detail)

    def cancelled(self) -> bool:
        return self.stop.is_set()

    def unjudged(self) -> list[tuple[ResultRow, EvalProbe]]:
        with self.db.session() as s:
            rows = [r for r in result_rows(s, self.eval_run_id) if r.judge_score is None]
        return [(r, self._probes[r.probe_id]) for r in rows if r.probe_id in self._probes]

    def write_judged(self, judged: Sequence[tuple[ResultRow, float | None, str]]) -> None:
        """The judge's verdicts; a failed one (score None) keeps only its reason and is judged again on resume."""
        from loreforge.evaluate.scoring import judged_correct

        with self.db.session() as s:
            for row, score, reason in judged:
                probe = self._probes[row.probe_id]
                values: dict[str, Any] = {"judge_reason": reason}
                if score is not None:
                    values.update(judge_score=score, correct=judged_correct(row.correct, probe.key, score))
                s.execute(update(EvalResult).where(
                    EvalResult.eval_run_id == self.eval_run_id, EvalResult.probe_id == row.probe_id,
                    EvalResult.model_label == row.label, EvalResult.rotation == row.rotation,
                ).values(**values))
