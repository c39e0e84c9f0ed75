"""Executing a recorded pipeline run (for `loreforge.service.pipeline`): set the project up as the recipe says,
decide which stages run (`loreforge.pipeline.plan`), run them in order, record each one's inputs, fingerprint,
status and result in the run's row as it goes, follow the running stage's own job for progress, and stop — the
stage's job too — when asked. Every event goes to the caller (the CLI's progress bars), to the run's log file and
to the run's job (what `jobs show`, the API's event stream and the web UI read).
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from loreforge.jobs import JobControl, effective_status
from loreforge.pipeline.load import load_recipe
from loreforge.pipeline.plan import STAGES, Decision, decide
from loreforge.service import lookups, pipeline_data, pipeline_model
from loreforge.service.pipeline_context import Cancelled, Emit, RunContext, enabled_stages, stage_inputs
from loreforge.store.models import PipelineRun, utcnow

if TYPE_CHECKING:
    from loreforge.service import Service

LOG_FILE = "pipeline.log"
WATCH_S = 1.0
RUNNERS = {"ingest": pipeline_data.ingest, "split": pipeline_data.split, "tags": pipeline_data.tags,
           "questions": pipeline_data.questions, "answers": pipeline_data.answers, "review": pipeline_data.review,
           "export": pipeline_data.export, "train": pipeline_model.train, "probes": pipeline_model.probes,
           "eval": pipeline_model.evaluate, "report": pipeline_model.report}


class Executor:
    """One execution of a pipeline run, in this process (the run's job is started and beating: the caller's)."""

    def __init__(self, app: Service, pipeline_id: int, control: JobControl, stopping: threading.Event,
                 on_event: Emit | None, start: str | None, until: str | None) -> None:
        self.app, self.control, self.on_event = app, control, on_event
        self.start, self.until = start, until
        with app.db.session() as session:
            row = session.get(PipelineRun, pipeline_id)
            assert row is not None
            recipe, path, run_dir = dict(row.recipe or {}), row.recipe_path, Path(row.run_dir)
            records, project_id = dict(row.stages or {}), row.project_id
        resolved = replace(load_recipe(recipe, name=recipe.get("name")), path=Path(path) if path else None)
        self.ctx = RunContext(app, pipeline_id, control.job_id, project_id, resolved, run_dir, records, self.emit, stopping)
        self.log = run_dir / LOG_FILE
        self.progress: dict[str, Any] = {"unit": "stages", "stages": {}}

    # ------------------------------------------------------------ the run

    def run(self) -> list[Decision]:
        ctx = self.ctx
        ctx.run_dir.mkdir(parents=True, exist_ok=True)
        self._set_up()
        decisions = decide(self._inputs(), enabled_stages(ctx), ctx.records, self.start, self.until, self._outputs_ok())
        todo = [d for d in decisions if d.run]
        self.progress["stages"] = {d.stage: ("pending" if d.run else "skipped") for d in decisions}
        self.control.report(done=0, total=len(todo), detail=self.progress)
        self.emit({"event": "plan", "stages": [{"stage": d.stage, "run": d.run, "reason": d.reason} for d in decisions]})
        for d in decisions:
            if not d.run:
                self._note(d)
        for n, d in enumerate(todo):
            if ctx.stopping.is_set():
                raise Cancelled("asked to stop")
            self._run_stage(d)
            self.control.report(done=n + 1, detail=self.progress)
        return decisions

    def _set_up(self) -> None:
        """The project's settings and model configs as the recipe says (what it does not name stays)."""
        from loreforge.service.pipeline_setup import apply_recipe

        apply_recipe(self.ctx)

    def _inputs(self) -> dict[str, dict[str, Any]]:
        from loreforge.settings import flatten

        with self.app.db.session() as session:
            settings = flatten(lookups.settings(lookups.project(session, self.ctx.project_id)))
        prompts = {p.name: p.hash for p in self.app.list_prompts(self.ctx.project) if p.name in ("system", "questions", "answers")}
        return stage_inputs(self.ctx, settings, prompts)

    def _outputs_ok(self) -> dict[str, bool]:
        res = {s: (r or {}).get("result") or {} for s, r in self.ctx.records.items()}
        folder = lambda key, stage: bool(res.get(stage, {}).get(key)) and Path(res[stage][key]).exists()  # noqa: E731
        return {"export": folder("folder", "export"), "train": folder("output_dir", "train"), "eval": folder("report_dir", "eval")}

    def _run_stage(self, d: Decision) -> None:
        ctx, record = self.ctx, self.ctx.record(d.stage)
        ctx.current = {"stage": d.stage, "fingerprint": d.fingerprint}
        if record.get("status") in (None, "completed") or record.get("fingerprint_started") != d.fingerprint:
            record["mark"] = ctx.mark()  # a new attempt: its jobs are those after this mark
        record.update(status="running", reason=d.reason, fingerprint_started=d.fingerprint, started_at=_now(), error=None)
        self._save()
        self.progress["stages"][d.stage] = "running"
        self.progress.update(stage=d.stage, child=None)
        self.emit({"event": "stage", "stage": d.stage, "state": "start", "reason": d.reason})
        began = time.monotonic()
        watcher = _Watcher(self)
        watcher.start()
        try:
            result = RUNNERS[d.stage](ctx)
        except (Cancelled, KeyboardInterrupt):  # asked to stop: from the store, Ctrl-C, or SIGTERM
            self._end_stage(d, "cancelled", began, None)
            raise
        except BaseException as exc:
            self._end_stage(d, "failed", began, None, str(exc) or type(exc).__name__)
            raise
        finally:
            watcher.stop()
        self._end_stage(d, "completed", began, result)

    def _end_stage(self, d: Decision, status: str, began: float, result: dict[str, Any] | None, error: str | None = None) -> None:
        record = self.ctx.record(d.stage)
        record.update(status=status, finished_at=_now(), seconds=round(time.monotonic() - began, 1), error=error)
        if status == "completed":
            record.update(fingerprint=d.fingerprint, inputs=self._inputs_of(d.stage), result=result)
        self._save()
        self.progress["stages"][d.stage] = status
        self.emit({"event": "stage", "stage": d.stage, "state": status, "seconds": record["seconds"], "error": error,
                   "result": _brief(result)})

    def _inputs_of(self, stage: str) -> dict[str, Any]:
        return self._inputs().get(stage, {})

    def _note(self, d: Decision) -> None:
        self.ctx.record(d.stage)["last_decision"] = d.reason
        self._save()

    def _save(self) -> None:
        with self.app.db.session() as session:
            session.execute(update(PipelineRun).where(PipelineRun.id == self.ctx.pipeline_id)
                            .values(stages=_json_copy(self.ctx.records), updated_at=utcnow()))

    # ------------------------------------------------------------ events

    def emit(self, event: dict[str, Any]) -> None:
        event = {"time": _now(), **event}
        try:
            with self.log.open("a", encoding="utf-8") as f:
                f.write(_log_line(event) + "\n")
        except OSError:
            pass  # a full disk must not stop the run; the store still has every record
        if event.get("event") == "progress":
            self.progress["child"] = {k: event.get(k) for k in ("job_id", "kind", "done", "total", "unit", "detail")}
            self.control.report(detail=self.progress)
        if self.on_event is not None:
            self.on_event(event)


class _Watcher:
    """Follows the running stage's own job (questions, answers, train, eval, ...) and reports its progress."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="pipeline-watch", daemon=True)
        self.seen: tuple[Any, ...] = ()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.done.set()
        self.thread.join(timeout=5)

    def _loop(self) -> None:
        ctx = self.executor.ctx
        while not self.done.wait(WATCH_S):
            try:
                children = ctx.children(ctx.current["stage"])
            except Exception:  # noqa: BLE001 - a store hiccup: look again next time
                continue
            if not children:
                continue
            job = children[-1]
            state = (job.id, job.done, job.total, effective_status(job), str(job.progress))
            if state == self.seen:
                continue
            self.seen = state
            progress = dict(job.progress or {})
            self.executor.emit({"event": "progress", "stage": ctx.current["stage"], "job_id": job.id, "kind": job.kind,
                                "done": job.done, "total": job.total, "unit": progress.get("unit", "items"),
                                "detail": {k: progress.get(k) for k in ("loss", "remaining_time", "phase", "percentage") if k in progress}})


def _brief(result: dict[str, Any] | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {k: v for k, v in result.items() if k not in ("summary", "metrics", "sets") and not isinstance(v, (list, dict))} | (
        {"sets": [{"name": s.get("name"), "probes": s.get("probes")} for s in result.get("sets", [])]} if "sets" in result else {})


def _log_line(event: dict[str, Any]) -> str:
    kind = event.get("event")
    stage = event.get("stage", "")
    if kind == "plan":
        plan = ", ".join(f"{s['stage']}{'' if s['run'] else ' (skip: ' + s['reason'] + ')'}" for s in event["stages"])
        return f"{event['time']} plan: {plan}"
    if kind == "stage":
        tail = f" — {event['reason']}" if event.get("reason") else ""
        tail += f" after {event['seconds']} s" if event.get("seconds") is not None else ""
        tail += f": {event['error']}" if event.get("error") else (f" {event['result']}" if event.get("result") else "")
        return f"{event['time']} {stage}: {event['state']}{tail}"
    if kind == "progress":
        return f"{event['time']} {stage}: {event.get('kind')} job {event.get('job_id')} {event.get('done')}/{event.get('total')} {event.get('unit')}"
    if kind == "end":
        return f"{event['time']} end: {event.get('status')}" + (f": {event['error']}" if event.get("error") else "")
    return f"{event['time']} {kind}: {event}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _json_copy(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


__all__ = ["LOG_FILE", "STAGES", "Executor"]
