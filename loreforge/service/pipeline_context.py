"""What one execution of a pipeline run holds (for `pipeline_exec` and the stage modules `pipeline_data` and
`pipeline_model`): the service, the run's row and recipe, the run folder, the stage records, the event sink, the
stop flag — and each stage's inputs (what decides its result, fingerprinted by `loreforge.pipeline.plan`).

Children: every stage that is long work runs as a job of its own kind (questions, answers, score, probe_reword,
train, eval). A stage notes the highest job id before it starts (`mark`); its jobs are the project's jobs after
that mark. That is how the run follows a child's progress, cancels it, and — after a crash or kill -9 — finds the
child an earlier execution left unfinished and resumes it instead of starting it again.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from loreforge.jobs import ACTIVE, effective_status
from loreforge.pipeline.load import Resolved
from loreforge.pipeline.recipe import GENERATION, STARTER, ModelSpec
from loreforge.store.models import Job

if TYPE_CHECKING:
    from loreforge.service import Service

Emit = Callable[[dict[str, Any]], None]


class Cancelled(Exception):
    """The run was asked to stop, or a stage's job was cancelled from outside: the run ends `cancelled`."""


@dataclass
class RunContext:
    app: Service
    pipeline_id: int
    job_id: int
    project_id: int
    resolved: Resolved
    run_dir: Path
    records: dict[str, dict[str, Any]]
    emit: Emit
    stopping: threading.Event = field(default_factory=threading.Event)
    current: dict[str, Any] = field(default_factory=dict)  # the stage running now: name, mark

    @property
    def project(self) -> int:
        return self.project_id

    @property
    def recipe(self) -> Any:
        return self.resolved.recipe

    def record(self, stage: str) -> dict[str, Any]:
        return self.records.setdefault(stage, {})

    # ------------------------------------------------------------ children

    def mark(self) -> int:
        with self.app.db.session() as session:
            return int(session.scalar(select(func.max(Job.id))) or 0)

    def children(self, stage: str, kinds: tuple[str, ...] | None = None) -> list[Job]:
        """Jobs started by `stage` (after its mark) in this project, oldest first, the run's own excluded."""
        mark = self.record(stage).get("mark")
        if mark is None:
            return []
        with self.app.db.session() as session:
            query = select(Job).where(Job.project_id == self.project_id, Job.id > mark, Job.id != self.job_id).order_by(Job.id)
            if kinds:
                query = query.where(Job.kind.in_(kinds))
            rows = list(session.scalars(query))
            session.expunge_all()
            return rows

    def unfinished_child(self, stage: str, kinds: tuple[str, ...]) -> Job | None:
        """The child an earlier execution of this stage left unfinished (interrupted, failed, cancelled, or still
        running in a worker that outlived the run's process)."""
        for job in reversed(self.children(stage, kinds)):
            if effective_status(job) not in ("completed", "completed_with_failures"):
                return job
        return None

    def active_children(self) -> list[Job]:
        stage = self.current.get("stage")
        return [j for j in self.children(stage) if effective_status(j) in ACTIVE] if stage else []

    # ------------------------------------------------------------ models

    def base_model(self) -> str:
        """The base model as a path or hub id (`starter`: the starter model, set up once)."""
        recipe = self.recipe
        model = (recipe.eval.base if recipe.eval and recipe.eval.base else None) or (recipe.train.model_name_or_path if recipe.train else "")
        return self.starter() if model == STARTER else self._anchored(model)

    def train_model(self) -> str:
        assert self.recipe.train is not None
        model = self.recipe.train.model_name_or_path
        return self.starter() if model == STARTER else self._anchored(model)

    def starter(self) -> str:
        return self.app.starter_model().path

    def _anchored(self, model: str) -> str:
        from loreforge.pipeline.load import looks_local

        where = self.resolved.path.parent if self.resolved.path else Path.cwd()
        return str((where / model).expanduser().resolve()) if looks_local(model) else model

    def config_name(self, ref: str | None) -> str:
        """A model config of the project: `generation` or a name under the recipe's `models`."""
        return ref or GENERATION


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def model_identity(spec: ModelSpec) -> dict[str, Any]:
    """What decides a model's answers (never its key)."""
    return {"provider": spec.provider, "model": spec.model, "base_url": spec.base_url, "options": spec.options}


def stage_inputs(ctx: RunContext, effective: dict[str, Any], prompts: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each stage's inputs: the recipe keys and effective project settings that decide its result."""
    recipe = ctx.recipe
    section = lambda prefix: {k: v for k, v in effective.items() if k.startswith(prefix + ".")}  # noqa: E731
    gen = {**model_identity(recipe.generation), "language": effective.get("language")}
    spec = lambda ref: model_identity(recipe.models[ref]) if ref in recipe.models else gen  # noqa: E731
    out: dict[str, dict[str, Any]] = {
        "ingest": {"documents": {p.name: file_hash(p) for p in ctx.resolved.documents}, **section("ingest")},
        "split": section("split"),
        "tags": {"enabled": recipe.generation.tags, "model": gen, **section("tags")},
        "questions": {"model": gen, "prompts": prompts, **section("questions")},
        "answers": {"model": gen, **section("answers")},
        "review": {**recipe.review.model_dump(mode="json"), "score_model": spec(recipe.review.score_model) if recipe.review.min_score else None},
        "export": recipe.export.model_dump(mode="json"),
    }
    if recipe.train is not None:
        out["train"] = {**recipe.train.model_dump(mode="json", exclude={"launch"})}
    if recipe.probes is not None:
        probes = recipe.probes.model_dump(mode="json", exclude={"files", "model"})
        out["probes"] = {**probes, "files": {p.name: file_hash(p) for p in ctx.resolved.probe_files},
                         "model": spec(recipe.probes.model) if "reworded" in recipe.probes.kinds else None, **section("probes")}
    if recipe.eval is not None:
        out["eval"] = {**recipe.eval.model_dump(mode="json"), **section("eval"),
                       "judge": spec(recipe.eval.judge) if recipe.eval.judge else None}
    out["report"] = {}
    return out


def enabled_stages(ctx: RunContext) -> dict[str, bool]:
    recipe = ctx.recipe
    return {"ingest": True, "split": True, "tags": recipe.generation.tags, "questions": True, "answers": True,
            "review": True, "export": True, "train": recipe.train is not None, "probes": recipe.probes is not None,
            "eval": recipe.eval is not None, "report": True}
