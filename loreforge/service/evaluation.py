"""Evaluation actions: prove it learned. `evaluate` asks the base model and the tuned model (and, with `rag`, the
base model with the chunks BM25 finds) every probe of the chosen sets, scores the answers, compares the models
probe by probe and writes the report folder; `execute_eval` resumes one; `cancel_eval`, `list_evals`,
`get_eval`, `compare_evals`. See docs/evaluation.md.

An evaluation run is a run on the one life cycle, like a train run: its `jobs` row (kind `eval`) holds status,
heartbeat, progress (answers done of all) and cancel; what is its own (models, probe sets, settings, metrics,
report folder) is the `eval_runs` row, its answers the `eval_results` rows — written after each batch, so a run
that is killed or cancelled resumes where it stopped (`loreforge eval execute ID` or `loreforge jobs retry JOB`)
and never answers a probe twice. Local models generate in this process (or in a background worker process);
endpoints are called through the one runner, every call logged.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from loreforge import jobs as lifecycle
from loreforge.errors import Conflict, LoreForgeError, NotFound, UserError
from loreforge.jobs import ACTIVE, JobControl, effective_status, pid_alive, this_host
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.service.eval_plan import probe_sets, resolve_base, resolve_judge, resolve_tuned, result_rows
from loreforge.store.models import EvalRun, Job, Project, utcnow
from loreforge.views import EvalCompareView, EvalRunView, from_row

KIND = "eval"
Progress = Callable[[int, int, dict[str, Any]], None]
WORKER_LOG = "eval-worker.log"


def eval_view(session: Any, run: EvalRun) -> EvalRunView:
    job = run.job
    project = session.scalar(select(Project.name).where(Project.id == run.project_id))
    config = dict(run.config or {})
    return from_row(EvalRunView, run, project=project, status=effective_status(job), error=job.error,
                    finished_at=job.finished_at, progress=dict(job.progress or {}), done=job.done, total=job.total,
                    tuned=dict(run.tuned or {}), probe_set_ids=list(run.probe_set_ids or []), config=config,
                    probe_sets=list(config.get("probe_sets", [])), rag=bool(config.get("rag")),
                    metrics=dict(run.metrics or {}), log_file=(job.params or {}).get("log_file"))


def _get(session: Any, eval_id: int) -> EvalRun:
    row = session.get(EvalRun, lookups.row_id(eval_id)) if lookups.row_id(eval_id) is not None else None
    if row is None:
        raise NotFound(f"No evaluation run {lookups.shown(eval_id)}", hint="List them with `loreforge eval list`")
    return row


def _check_executable(eval_id: int, status: str) -> None:
    if status in ("running", "cancelling"):
        raise Conflict(f"Evaluation run {eval_id} is {status}", hint=f"Follow it with `loreforge eval show {eval_id} --follow`")
    if status == "completed":
        raise Conflict(f"Evaluation run {eval_id} is already completed",
                       hint="Its report is in its report folder (`loreforge eval show ID`); start a new run to evaluate again")


def _settings(settings: Any, **overrides: int | None) -> Any:
    """The project's `eval.*` settings with the call's values on top, checked: a bad value names its option."""
    from pydantic import ValidationError

    try:
        return type(settings).model_validate({**settings.model_dump(), **{k: v for k, v in overrides.items() if v is not None}})
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).replace("_", "-")
        raise UserError(f"Invalid --{name}", got=repr(err.get("input")), hint=err["msg"]) from None


def _interrupt_self(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


class EvalActions(ServiceBase):
    def evaluate(
        self, project: str | int, base: str, tuned: str, probes: Sequence[str | int] | None = None, rag: bool = False,
        judge: str | None = None, out: str | Path | None = None, max_new_tokens: int | None = None,
        batch_size: int | None = None, rag_k: int | None = None, name: str | None = None, background: bool = False,
        on_progress: Progress | None = None,
    ) -> EvalRunView:
        """Evaluate `tuned` against `base` on the project's probe sets (`probes`: names or ids; default all).
        `base`: a model folder, .gguf file, hub id or model config; `tuned`: a train run id, a LoRA adapter or full
        model folder, or a model config (an OpenAI-compatible endpoint, e.g. vLLM serving the adapter). `rag`: also
        the base model with the top-k BM25 chunks in its prompt. `judge`: a model config scoring free answers 0-1
        (never one of the models judged). `out`: the report folder (default: the project's evals/<id>/).
        Unset settings come from the project's `eval.*` settings. `background`: a worker process runs it;
        `on_progress(done, total, detail)` is called after each batch when it runs here."""
        eval_id = self._record_eval(project, base, tuned, probes, rag, judge, out, max_new_tokens, batch_size, rag_k, name)
        if background:
            return self._spawn_eval(eval_id)
        return self._execute_eval_here(eval_id, on_progress)

    def _record_eval(self, project: str | int, base: str, tuned: str, probes: Sequence[str | int] | None, rag: bool,
                     judge: str | None, out: str | Path | None, max_new_tokens: int | None, batch_size: int | None,
                     rag_k: int | None, name: str | None) -> int:
        with self.db.session() as session:
            row = lookups.project(session, project)
            checked = _settings(lookups.settings(row).eval, max_new_tokens=max_new_tokens, batch_size=batch_size, rag_k=rag_k)
            base_spec = resolve_base(session, row, base)
            tuned_spec = resolve_tuned(session, row, tuned, base_spec, self.app.get_run)
            judge_spec = resolve_judge(session, row, judge, [base_spec, tuned_spec]) if judge else None
            sets = probe_sets(session, row, probes)
            config = {**checked.model_dump(), "greedy": checked.temperature == 0, "rag": bool(rag),
                      "judge": judge_spec.config if judge_spec else None, "probe_sets": [s.name for s in sets],
                      "models": {"base": base_spec.as_dict(), "tuned": tuned_spec.as_dict(),
                                 **({"judge": judge_spec.as_dict()} if judge_spec else {})}}
            job = Job(project_id=row.id, kind=KIND, status="queued", params={}, total=0, progress={})
            run = EvalRun(project_id=row.id, job=job, name=(name or "").strip() or f"eval of {tuned_spec.name}"[:200],
                          base_model=base, tuned=tuned_spec.as_dict(), train_run_id=tuned_spec.train_run_id,
                          probe_set_ids=[s.id for s in sets], config=config, metrics={})
            session.add(run)
            session.flush()
            folder = Path(out).expanduser().resolve() if out else lookups.project_dir(self.config, row) / "evals" / str(run.id)
            run.report_dir = str(folder)
            job.params = {"eval_run_id": run.id, "base": base, "tuned": tuned, "report_dir": str(folder)}
            return run.id

    # ------------------------------------------------------------ executing

    def execute_eval(self, eval_id: int, background: bool = False, on_progress: Progress | None = None) -> EvalRunView:
        """Execute a recorded evaluation run here (what background workers run), or again after it failed, was
        cancelled or interrupted: it resumes, answering only the prompts not stored yet."""
        if background:
            self._requeue_eval(eval_id)
            return self._spawn_eval(eval_id)
        return self._execute_eval_here(eval_id, on_progress)

    def _requeue_eval(self, eval_id: int) -> int:
        with self.db.session() as session:
            run = _get(session, eval_id)
            status = effective_status(run.job)
            _check_executable(eval_id, status)
            if run.job.status != "queued" or status == "interrupted":
                lifecycle.requeue(session, run.job)
            return run.job_id

    def _execute_eval_here(self, eval_id: int, on_progress: Progress | None = None) -> EvalRunView:
        from loreforge.service.eval_exec import execute

        job_id = self._requeue_eval(eval_id)
        control = JobControl(self.db, job_id)
        control.start()
        stopping = threading.Event()
        stop = control.heartbeat_thread(on_cancel=stopping.set)
        previous = signal.signal(signal.SIGTERM, _interrupt_self) if threading.current_thread() is threading.main_thread() else None
        try:
            execute(self.app, eval_id, control, stopping, on_progress)
        except LoreForgeError as exc:
            if stopping.is_set() or control.asked_to_cancel():
                control.finish(cancelled=True)
                return self.get_eval(eval_id)
            control.finish(error=str(exc))
            recorded = f"the run is recorded as failed and resumes where it stopped: `loreforge eval execute {eval_id}`"
            exc.hint = f"{exc.hint.rstrip('. ')}; {recorded}" if exc.hint else recorded.capitalize()
            exc.args = (exc.render(),)
            raise
        except Exception as exc:  # noqa: BLE001 - a library failure becomes a user-facing error, the run kept
            error = f"{type(exc).__name__}: {exc}"
            control.finish(error=error)
            raise UserError(f"Evaluation run {eval_id} failed ({error})",
                            hint=f"Check the models; the run is recorded and resumes: `loreforge eval execute {eval_id}`") from exc
        except BaseException:
            requested = control.asked_to_cancel()
            control.finish(cancelled=True)
            if not requested:
                raise
            return self.get_eval(eval_id)
        finally:
            stop.set()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        control.finish(status="completed")
        return self.get_eval(eval_id)

    def _spawn_eval(self, eval_id: int) -> EvalRunView:
        """A worker process runs the recorded run (`loreforge eval execute ID`); its output goes to a log file in
        the report folder. A watcher closes the job if the worker dies without doing so."""
        from loreforge.train.launch import worker_env

        with self.db.session() as session:
            run = _get(session, eval_id)
            folder = Path(run.report_dir or self.config.home / "evals" / str(eval_id))
            log_path, job_id = folder / WORKER_LOG, run.job_id
            run.job.params = {**(run.job.params or {}), "log_file": str(log_path)}
        command = [sys.executable, "-m", "loreforge", "--home", str(self.config.home), "eval", "execute", str(eval_id)]
        try:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with log_path.open("ab") as log:
                process = subprocess.Popen(command, env=worker_env(self.config.database_url), stdout=log,
                                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            lifecycle.close_if_active(self.db, job_id, "failed", f"cannot start the evaluation process: {exc}")
            raise UserError(f"Cannot start the evaluation process for run {eval_id}", got=str(exc),
                            hint="Check that the report folder can be written (--out)") from exc
        with self.db.session() as session:
            session.execute(update(Job).where(Job.id == job_id, Job.status == "queued")
                            .values(pid=process.pid, host=this_host(), heartbeat_at=utcnow()))

        def watch() -> None:
            code = process.wait()
            lifecycle.close_if_active(self.db, job_id, "failed", f"the evaluation process exited with code {code}; see {log_path}",
                                      launched=process.pid)

        threading.Thread(target=watch, name=f"eval-{eval_id}-watch", daemon=True).start()
        return self.get_eval(eval_id)

    # ------------------------------------------------------------ reading and cancelling

    def cancel_eval(self, eval_id: int) -> EvalRunView:
        """Stop a queued or running evaluation run; the answers stored so far stay (`execute_eval` resumes it)."""
        with self.db.session() as session:
            run = _get(session, eval_id)
            status = effective_status(run.job)
            if status not in ACTIVE:
                raise Conflict(f"Evaluation run {eval_id} is {status}, not running", hint="Only queued or running runs can be cancelled")
            now = lifecycle.request_cancel(session, run.job)
            pid, here = run.job.pid, run.job.host in (None, this_host())
        if now == "cancelling" and pid and here and pid != os.getpid() and pid_alive(pid):
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        return self.get_eval(eval_id)

    def list_evals(self, project: str | int | None = None) -> list[EvalRunView]:
        """Evaluation runs, newest first (of one project when given)."""
        with self.db.session() as session:
            query = select(EvalRun).order_by(EvalRun.id.desc())
            if project is not None:
                query = query.where(EvalRun.project_id == lookups.project(session, project).id)
            return [eval_view(session, r) for r in session.scalars(query)]

    def get_eval(self, eval_id: int) -> EvalRunView:
        with self.db.session() as session:
            return eval_view(session, _get(session, eval_id))

    def compare_evals(self, a: int, b: int) -> EvalCompareView:
        """Two evaluation runs side by side (accuracy per model, overall and per kind) and the tuned model of `b`
        against that of `a`, probe by probe, on the probes both asked (McNemar's exact p)."""
        from loreforge.service.eval_exec import compare

        with self.db.session() as session:
            first, second = _get(session, a), _get(session, b)
            va, vb = eval_view(session, first), eval_view(session, second)
            rows_a, rows_b = result_rows(session, first.id, "tuned"), result_rows(session, second.id, "tuned")
        return compare(va, vb, rows_a, rows_b)
