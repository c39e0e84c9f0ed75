"""The model stages of a pipeline run (for `pipeline_exec`): train → probes → eval → report. Training and
evaluation run in worker processes of their own (`background`), so the run's process stays small, a model's
memory goes back when its stage ends, and a worker that outlives a killed run is found and waited for — or,
when it is gone too, resumed from its last checkpoint / its stored answers — by the next execution."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from loreforge.errors import UserError
from loreforge.jobs import ACTIVE
from loreforge.service.pipeline_context import Cancelled, RunContext

POLL_S = 1.0


def train(ctx: RunContext) -> dict[str, Any]:
    from loreforge.store.models import TrainRun
    from loreforge.train.launch import Launch

    recipe = ctx.recipe.train
    assert recipe is not None
    launch = Launch(**recipe.launch) if recipe.launch else None
    child = _same_attempt_child(ctx, "train")
    if child is not None:
        with ctx.app.db.session() as session:
            run_id = int(session.query(TrainRun.id).filter(TrainRun.job_id == child.id).scalar() or 0)
    else:
        bundle = Path(ctx.record("export")["result"]["folder"])
        config = yaml.safe_load((bundle / "train_lora.yaml").read_text(encoding="utf-8"))
        config.update(recipe.model_dump(mode="json", exclude={"launch", "model_name_or_path"}))
        config.update(model_name_or_path=ctx.train_model(), output_dir=str(ctx.run_dir / "model"), overwrite_output_dir=True)
        where = ctx.resolved.path.parent if ctx.resolved.path else Path.cwd()
        run_id = ctx.app.train(config, project=ctx.project, cwd=where, background=True, launch=launch).id
    # resumes from its last checkpoint when its worker is gone (a killed run, a worker lost while waiting)
    view = _follow(ctx, lambda: ctx.app.get_run(run_id), lambda: ctx.app.execute_run(run_id, background=True, launch=launch),
                   lambda: ctx.app.cancel_run(run_id), earlier=child is not None)
    if view.status != "completed":
        _failed("train run", view.id, view.status, view.error, f"loreforge runs show {view.id}")
    return {"run_id": view.id, "output_dir": view.output_dir, "best_checkpoint": view.best_checkpoint,
            "metrics": {k: view.metrics.get(k) for k in ("train_loss", "eval_loss", "best_eval_loss", "train_runtime", "global_step", "epoch")},
            "loss": _loss_curve(Path(view.output_dir or "")), "plots": sorted(str(p) for p in Path(view.output_dir or "").glob("*.png")),
            "log_file": view.log_file or _log_file(view)}


def probes(ctx: RunContext) -> dict[str, Any]:
    """One probe set per file (`<run>-<file name>`) and per kind built from the dataset (`<run>-<kind>`), so the
    report's rows per set are rows per kind; a rerun with other inputs replaces the run's own sets."""
    recipe = ctx.recipe.probes
    assert recipe is not None
    app, name = ctx.app, ctx.resolved.name
    record = ctx.record("probes")
    fresh = record.get("fingerprint_started") != ctx.current.get("fingerprint") or record.get("status") == "completed"
    files = [(path, f"{name}-{path.stem}") for path in ctx.resolved.probe_files]
    kinds = [(kind, f"{name}-{kind}") for kind in recipe.kinds]
    existing = {s.name for s in app.list_probe_sets(ctx.project)}
    if fresh:
        for set_name in [n for _, n in files + kinds if n in existing]:
            app.delete_probe_set(ctx.project, set_name)
        existing = set()
    sets = [_imported(ctx, path, set_name, set_name in existing) for path, set_name in files]
    sets += [_built(ctx, kind, set_name) for kind, set_name in kinds]
    if not any(s["probes"] for s in sets):
        raise UserError("The probe sets hold no probe", hint="Check the probe files and kinds of the recipe (`loreforge probes show`)")
    return {"sets": sets}


def _imported(ctx: RunContext, path: Path, set_name: str, there: bool) -> dict[str, Any]:
    if there:
        view = ctx.app.get_probe_set(ctx.project, set_name)
        return {"name": set_name, "file": str(path), "kinds": view.set.kinds, "probes": view.set.probes}
    report = ctx.app.import_probes(ctx.project, path, set_name)
    return {"name": set_name, "file": str(path), "kinds": report.set.kinds, "probes": report.imported, "bad_lines": report.skipped}


def _built(ctx: RunContext, kind: str, set_name: str) -> dict[str, Any]:
    recipe, opts = ctx.recipe.probes, ctx.recipe.export
    assert recipe is not None
    reword = kind == "reworded"
    view = ctx.app.build_probes(ctx.project, name=set_name, kinds=[kind.replace("-", "_")],
                                qtypes=[q.replace("-", "_") for q in recipe.qtypes], model=ctx.config_name(recipe.model) if reword else None,
                                provider=None if reword else "extractive", val_size=opts.val_size, split_by=opts.split_by, seed=opts.seed)
    if view.job is not None and view.job.status in ("failed", "cancelled", "interrupted"):
        if view.job.status == "cancelled":
            raise Cancelled(f"the probe rewording job {view.job.id} was cancelled")
        _failed("probe rewording job", view.job.id, view.job.status, view.job.error, f"loreforge jobs show {view.job.id}")
    per_kind = view.counts.get("per_kind", {}).get(kind.replace("-", "_"), {})
    return {"name": view.name, "kinds": view.kinds, "probes": view.probes, "dropped_leakage": view.counts.get("dropped_leakage", 0),
            "dropped_other": per_kind.get("dropped_other", {}), "available": per_kind.get("available")}


def evaluate(ctx: RunContext) -> dict[str, Any]:
    recipe = ctx.recipe.eval
    assert recipe is not None
    app = ctx.app
    child = _same_attempt_child(ctx, "eval")
    if child is not None:
        eval_id = int((child.params or {}).get("eval_run_id") or 0)
    else:
        sets = [s["name"] for s in ctx.record("probes")["result"]["sets"] if s["probes"]]
        tuned = recipe.tuned or str(ctx.record("train")["result"]["run_id"])
        eval_id = app.evaluate(ctx.project, ctx.base_model(), tuned, probes=sets, rag=recipe.rag, judge=recipe.judge,
                               out=ctx.run_dir / "eval", name=ctx.resolved.name, background=True).id
    # answers only what is not stored yet when its worker is gone
    view = _follow(ctx, lambda: app.get_eval(eval_id), lambda: app.execute_eval(eval_id, background=True),
                   lambda: app.cancel_eval(eval_id), earlier=child is not None)
    if view.status != "completed":
        _failed("evaluation run", view.id, view.status, view.error, f"loreforge eval show {view.id}")
    return {"eval_id": view.id, "report_dir": view.report_dir, "metrics": {k: v for k, v in view.metrics.items() if k != "files"}}


def report(ctx: RunContext) -> dict[str, Any]:
    from loreforge.pipeline.summary import build_summary, write_summary

    app = ctx.app
    project = app.get_project(ctx.project)
    usage = app.usage(ctx.project)
    summary = build_summary(ctx.resolved, ctx.records, project.counts.model_dump(), usage.model_dump(mode="json"), ctx.run_dir)
    files = write_summary(summary, ctx.run_dir)
    return {"summary": summary, "files": files}


# ---------------------------------------------------------------------------------------------- helpers

def _same_attempt_child(ctx: RunContext, kind: str) -> Any:
    """The child job an earlier execution of this stage, with the same inputs, left unfinished."""
    stage = ctx.current["stage"]
    if ctx.record(stage).get("fingerprint_started") != ctx.current.get("fingerprint"):
        return None
    return ctx.unfinished_child(stage, (kind,))


def _follow(ctx: RunContext, get: Callable[[], Any], resume: Callable[[], Any], cancel: Callable[[], Any],
            earlier: bool) -> Any:
    """Wait for a worker's run to end, and stop it when the pipeline run is asked to stop. Resume it (once) when its
    worker is lost, and — for a run an `earlier` execution left — when it failed or was cancelled."""
    asked, resumed = False, False
    while True:
        view = get()
        if view.status in ACTIVE:
            if ctx.stopping.is_set() and not asked:
                asked = True
                try:
                    cancel()
                except UserError:
                    pass  # it ended meanwhile
            time.sleep(POLL_S)
            continue
        if asked or (view.status == "cancelled" and resumed):
            raise Cancelled(f"{ctx.current['stage']} was cancelled")
        if not resumed and (view.status == "interrupted" or earlier and view.status in ("failed", "cancelled")):
            resumed = True
            resume()
            continue
        return view


def _failed(what: str, ref: int, status: str, error: str | None, show: str) -> None:
    raise UserError(f"The {what} {ref} {status}", got=(error or "")[:500] or None, hint=f"See `{show}`")


def _loss_curve(folder: Path) -> dict[str, Any]:
    """First and last training loss, and the lowest eval loss, from the trainer log."""
    path = folder / "trainer_log.jsonl"
    losses, evals = [], []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("loss") is not None:
                losses.append(float(record["loss"]))
            if record.get("eval_loss") is not None:
                evals.append(float(record["eval_loss"]))
    return {"first": losses[0] if losses else None, "last": losses[-1] if losses else None, "points": len(losses),
            "best_eval": min(evals) if evals else None}


def _log_file(view: Any) -> str | None:
    from loreforge.train.launch import RUNNING_LOG

    path = Path(view.output_dir or "") / RUNNING_LOG
    return str(path) if path.is_file() else None

