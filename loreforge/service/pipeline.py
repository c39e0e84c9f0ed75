"""Pipeline actions: `loreforge run RECIPE.yaml` — documents to a tuned, evaluated model in one command — and
its runs (`loreforge pipeline list|show|execute|cancel`, `/api/pipelines`).

A pipeline run is a run like any other, on the one life cycle: its `jobs` row (kind `pipeline`) holds status,
heartbeat, progress (stages done of those to run, and the running stage's own job) and cancel; what is its own
— the validated recipe, the run folder, each stage's record, the summary — is its `pipeline_runs` row, one per
(project, name). Running the same recipe again continues that row: finished stages whose inputs did not change
are skipped, a stage left unfinished resumes its own job (no LLM call is made twice; the summary counts what the
store already held), and a changed setting reruns its stage and the stages after it, naming the change.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from loreforge import jobs as lifecycle
from loreforge.errors import Conflict, LoreForgeError, NotFound, UserError
from loreforge.jobs import ACTIVE, JobControl, effective_status, this_host
from loreforge.pipeline.load import Resolved, load_recipe
from loreforge.pipeline.plan import check_range
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.service.pipeline_context import Cancelled, Emit
from loreforge.store.models import Job, PipelineRun, Project, utcnow
from loreforge.views import PipelineView, from_row

KIND = "pipeline"


def pipeline_view(session: Any, row: PipelineRun) -> PipelineView:
    job = row.job
    project = session.scalar(select(Project.name).where(Project.id == row.project_id))
    return from_row(PipelineView, row, project=project, status=effective_status(job), error=job.error, done=job.done,
                    total=job.total, progress=dict(job.progress or {}), finished_at=job.finished_at,
                    recipe=dict(row.recipe or {}), stages=dict(row.stages or {}), summary=dict(row.summary or {}),
                    log_file=str(Path(row.run_dir) / "pipeline.log"))


def _get(session: Any, pipeline_id: int | str) -> PipelineRun:
    key = lookups.row_id(pipeline_id)
    row = session.get(PipelineRun, key) if key is not None else None
    if row is None:
        raise NotFound(f"No pipeline run {lookups.shown(pipeline_id)}", hint="List them with `loreforge pipeline list`")
    return row


def _interrupt_self(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


class PipelineActions(ServiceBase):
    def run_pipeline(
        self, recipe: str | Path | dict[str, Any], overrides: list[str] | None = None, start: str | None = None,
        until: str | None = None, background: bool = False, on_event: Emit | None = None,
    ) -> PipelineView:
        """Run a recipe (a YAML path, or a mapping) from documents to a tuned, evaluated model. The recipe is
        validated whole before any work starts. `overrides`: "key.path=value" strings on top of it. `start` /
        `until`: run from / up to a stage. Running a recipe again (same name and project) continues its run.
        `background`: a worker process runs it; `on_event(event)` is called for each stage event when it runs here."""
        check_range(start, until)
        resolved = load_recipe(recipe, overrides)
        pipeline_id = self._record_pipeline(resolved, start, until)
        if background:
            return self._spawn_pipeline(pipeline_id)
        return self._execute_pipeline_here(pipeline_id, on_event)

    def _record_pipeline(self, resolved: Resolved, start: str | None, until: str | None) -> int:
        try:
            self.app.get_project(resolved.project)
        except NotFound:
            self.app.create_project(resolved.project, description=resolved.recipe.description)
        with self.db.session() as session:
            project = lookups.project(session, resolved.project)
            row = session.scalar(select(PipelineRun).where(PipelineRun.project_id == project.id, PipelineRun.name == resolved.name))
            params = {"from": start, "until": until}
            if row is None:
                folder = resolved.output_dir or lookups.project_dir(self.config, project) / "pipeline" / resolved.name
                job = Job(project_id=project.id, kind=KIND, status="queued", params={}, total=0, progress={})
                row = PipelineRun(project_id=project.id, job=job, name=resolved.name, run_dir=str(folder), stages={}, summary={})
                session.add(row)
            else:
                seen = effective_status(row.job)
                if seen in ACTIVE:
                    raise Conflict(f"Pipeline run '{resolved.name}' of project '{project.name}' is {seen} (job {row.job_id})",
                                   hint=f"Follow it with `loreforge pipeline show {row.id} --follow`, or cancel it: `loreforge pipeline cancel {row.id}`")
                lifecycle.requeue(session, row.job)
                if resolved.output_dir:
                    row.run_dir = str(resolved.output_dir)
            row.recipe, row.recipe_path = resolved.as_json(), str(resolved.path) if resolved.path else None
            try:
                session.flush()
            except IntegrityError:
                raise Conflict(f"Pipeline run '{resolved.name}' was just started by another process",
                               hint="Follow it with `loreforge pipeline list`") from None
            row.job.params = {**params, "pipeline_id": row.id}
            return row.id

    # ------------------------------------------------------------ executing

    def execute_pipeline(self, pipeline_id: int, start: str | None = None, until: str | None = None, background: bool = False,
                         on_event: Emit | None = None) -> PipelineView:
        """Execute a recorded pipeline run here (what a background worker runs), or again after it failed, was
        cancelled or interrupted: finished stages are skipped, the unfinished one resumes."""
        check_range(start, until)
        with self.db.session() as session:
            row = _get(session, pipeline_id)
            status = effective_status(row.job)
            if status in ("running", "cancelling"):  # queued: this call (or the worker it spawned) starts it
                raise Conflict(f"Pipeline run {pipeline_id} is {status}", hint=f"Follow it with `loreforge pipeline show {pipeline_id} --follow`")
            if row.job.status != "queued" or status == "interrupted":
                lifecycle.requeue(session, row.job)
            if start is not None or until is not None:
                row.job.params = {**(row.job.params or {}), "from": start, "until": until}
        if background:
            return self._spawn_pipeline(pipeline_id)
        return self._execute_pipeline_here(pipeline_id, on_event)

    def _execute_pipeline_here(self, pipeline_id: int, on_event: Emit | None) -> PipelineView:
        from loreforge.service.pipeline_exec import Executor

        with self.db.session() as session:
            row = _get(session, pipeline_id)
            job_id, params = row.job_id, dict(row.job.params or {})
        control = JobControl(self.db, job_id)
        control.start()
        stopping = threading.Event()
        executor: Executor | None = None

        def on_cancel() -> None:
            stopping.set()
            if executor is not None:
                self._cancel_pipeline_children(executor)

        beat = control.heartbeat_thread(on_cancel=on_cancel)
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _interrupt_self) if main else None
        try:
            executor = Executor(self.app, pipeline_id, control, stopping, on_event, params.get("from"), params.get("until"))
            executor.run()
        except Cancelled:
            self._finish_pipeline(control, executor, cancelled=True)
        except LoreForgeError as exc:
            self._finish_pipeline(control, executor, error=exc.render())
            hint = f"the run resumes where it stopped: `loreforge pipeline execute {pipeline_id}` (or run the recipe again)"
            raise type(exc)(exc.message, expected=exc.expected, got=exc.got,
                            hint=f"{exc.hint.rstrip('. ')}; {hint}" if exc.hint else hint.capitalize()) from exc
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM: the stage's job stops too; the run ends cancelled
            stopping.set()
            if executor is not None:
                self._cancel_pipeline_children(executor)
            self._finish_pipeline(control, executor, cancelled=True)
        except SystemExit:
            self._finish_pipeline(control, executor, cancelled=True)
            raise
        except Exception as exc:  # noqa: BLE001 - a library failure becomes a user-facing error, the run kept
            error = f"{type(exc).__name__}: {exc}"
            self._finish_pipeline(control, executor, error=error)
            raise UserError(f"Pipeline run {pipeline_id} failed ({error})",
                            hint=f"The run is recorded and resumes: `loreforge pipeline execute {pipeline_id}`") from exc
        else:
            self._finish_pipeline(control, executor)
        finally:
            beat.set()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        return self.get_pipeline(pipeline_id)

    def _finish_pipeline(self, control: JobControl, executor: Any, error: str | None = None, cancelled: bool = False) -> None:
        status = control.finish(error=error, cancelled=cancelled, status=None if error or cancelled else "completed")
        if executor is None:
            return
        summary = ((executor.ctx.records.get("report") or {}).get("result") or {}).get("summary")
        with self.db.session() as session:
            values: dict[str, Any] = {"updated_at": utcnow()}
            if summary and status == "completed":
                values["summary"] = summary
            session.execute(update(PipelineRun).where(PipelineRun.id == executor.ctx.pipeline_id).values(**values))
        executor.emit({"event": "end", "status": status, "error": error})

    def _cancel_pipeline_children(self, executor: Any) -> None:
        for job in executor.ctx.active_children():
            try:
                self.app.cancel_job(job.id)
            except LoreForgeError:
                pass  # it ended meanwhile

    def _spawn_pipeline(self, pipeline_id: int) -> PipelineView:
        """A worker process runs the recorded run (`loreforge pipeline execute ID`); its output goes to the run
        folder's worker log. A watcher closes the job if the worker dies without doing so."""
        from loreforge.train.launch import worker_env

        with self.db.session() as session:
            row = _get(session, pipeline_id)
            folder, job_id = Path(row.run_dir), row.job_id
        log_path = folder / "pipeline-worker.log"
        command = [sys.executable, "-m", "loreforge", "--home", str(self.config.home), "pipeline", "execute", str(pipeline_id), "--quiet"]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with log_path.open("ab") as log:
                process = subprocess.Popen(command, env=worker_env(self.config.database_url), stdout=log, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            lifecycle.close_if_active(self.db, job_id, "failed", f"cannot start the pipeline process: {exc}")
            raise UserError(f"Cannot start the pipeline process for run {pipeline_id}", got=str(exc),
                            hint="Check that the run folder can be written (output_dir)") from exc
        with self.db.session() as session:
            session.execute(update(Job).where(Job.id == job_id, Job.status == "queued")
                            .values(pid=process.pid, host=this_host(), heartbeat_at=utcnow()))

        def watch() -> None:
            code = process.wait()
            lifecycle.close_if_active(self.db, job_id, "failed", f"the pipeline process exited with code {code}; see {log_path}",
                                      launched=process.pid)

        threading.Thread(target=watch, name=f"pipeline-{pipeline_id}-watch", daemon=True).start()
        return self.get_pipeline(pipeline_id)

    # ------------------------------------------------------------ reading and cancelling

    def cancel_pipeline(self, pipeline_id: int) -> PipelineView:
        """Stop a queued or running pipeline run and the stage job it is running; what is done stays (run it again,
        or `loreforge pipeline execute ID`, to go on)."""
        with self.db.session() as session:
            row = _get(session, pipeline_id)
            status = effective_status(row.job)
            if status not in ACTIVE:
                raise Conflict(f"Pipeline run {pipeline_id} is {status}, not running", hint="Only queued or running runs can be cancelled")
            lifecycle.request_cancel(session, row.job)
        return self.get_pipeline(pipeline_id)

    def list_pipelines(self, project: str | int | None = None) -> list[PipelineView]:
        """Pipeline runs, newest first (of one project when given)."""
        with self.db.session() as session:
            query = select(PipelineRun).order_by(PipelineRun.id.desc())
            if project is not None:
                query = query.where(PipelineRun.project_id == lookups.project(session, project).id)
            return [pipeline_view(session, r) for r in session.scalars(query)]

    def get_pipeline(self, pipeline_id: int) -> PipelineView:
        with self.db.session() as session:
            return pipeline_view(session, _get(session, pipeline_id))

