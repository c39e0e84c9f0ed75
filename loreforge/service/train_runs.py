"""Train run actions: record an SFT run and execute it — in this process, in a background worker process, or
under torchrun on several processes / nodes — with live progress, cancel and the runs list.

A train run's life cycle is its `jobs` row (kind `train`), the same one every kind of long work has
(`loreforge.jobs`): `queued` → `running` (a worker took it: a compare-and-set, so two workers never run one
run) → `completed` / `failed` / `cancelled`, shown as `interrupted` when its worker is lost. The worker's
global rank 0 process is the only writer: it beats every `HEARTBEAT_S` and reports LLaMA Factory's progress
fields (current_steps, total_steps, percentage, loss, elapsed_time, remaining_time) as the job's progress,
steps as its done/total. What is the run's own — its config, outputs, metrics, log file — stays in
`train_runs`. Launched workers are watched: when one exits and its job is still active, the job is closed
with the exit code and the log file to read.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loreforge import jobs as lifecycle
from loreforge.errors import Conflict, LoreForgeError, UserError
from loreforge.jobs import ACTIVE, JobControl, effective_status, pid_alive, this_host
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.store.models import Job, Project, TrainRun, utcnow
from loreforge.train.launch import (
    RUNNING_LOG, Launch, auto_launch, is_main_process, process_rank, under_launcher, visible_gpus, worker_env,
)
from loreforge.views import TrainRunView, from_row

KIND = "train"


def run_view(run: TrainRun) -> TrainRunView:
    """The run's own fields, with its life cycle (status, progress, error, end) from its job."""
    job = run.job
    return from_row(TrainRunView, run, status=effective_status(job), error=job.error, finished_at=job.finished_at,
                    progress=dict(job.progress or {}), config=dict(run.config or {}), metrics=dict(run.metrics or {}))


def _check_executable(run_id: int, status: str) -> None:
    """A run executes when queued, or again when failed/cancelled (it resumes); never twice at once, and a
    completed run is not re-run (that would overwrite its outputs and metrics)."""
    if status in ("running", "cancelling"):
        raise Conflict(f"Train run {run_id} is {status}", hint=f"Cancel it first: `loreforge runs cancel {run_id}`")
    if status == "completed":
        raise Conflict(f"Train run {run_id} is already completed",
                       hint="To train again, start a new run: `loreforge train CONFIG.yaml` (its config is in "
                            f"`loreforge runs show {run_id} --json`)")


def _resolve_launch(launch: Launch | None) -> Launch | None:
    """The launch asked for; with none, one process per visible GPU (not inside an outside launcher)."""
    return launch if under_launcher() else auto_launch(launch, visible_gpus())


def _stderr_fd() -> int | None:
    try:
        return sys.__stderr__.fileno() if sys.__stderr__ is not None else None
    except (OSError, ValueError):
        return None


def _report(control: JobControl, record: dict[str, Any]) -> None:
    """A trainer log record as the job's progress: steps as done/total, the record itself as detail."""
    done, total = record.get("current_steps"), record.get("total_steps")
    control.report(done=int(done) if done is not None else None, total=int(total) if total is not None else None,
                   detail={**record, "unit": "steps"})


def _bundle_project_id(session: Session, cfg: Any) -> int | None:
    """The project of the LLaMA Factory bundle the run trains on (its manifest names it), when this store has a
    project of that name: a run from a bundle's `train_lora.yaml` is then listed under its project."""
    from loreforge.export.llamafactory import bundle_project

    name = bundle_project(Path(cfg.dataset_dir))
    return session.scalar(select(Project.id).where(Project.name == name)) if name else None


def _attempt(params: dict[str, Any] | None) -> int:
    """Which execution of its run a train job is: 1 until it is executed again after it ended."""
    value = (params or {}).get("attempt")
    return value if isinstance(value, int) else 1


def _interrupt_self(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


class RunActions(ServiceBase):
    def train(
        self, config: str | Path | dict[str, Any], overrides: dict[str, Any] | None = None, project: str | int | None = None,
        cwd: str | Path | None = None, background: bool = False, launch: Launch | None = None,
    ) -> TrainRunView:
        """Run SFT from a LLaMA Factory-style YAML (path or mapping) plus `overrides`. The run (config with its
        paths made absolute, status, progress, metrics, outputs) is recorded in the store (`loreforge runs`).
        `background`: start a worker process and return at once (poll `get_run`); `launch`: several processes
        (torchrun) on one or more nodes. Under an outside launcher (torchrun/accelerate), only rank 0 records.
        `project` unset: the project of the LoreForge bundle in `dataset_dir`, if this store has it."""
        from loreforge.train import load_train_config

        workdir = Path(cwd) if cwd else Path.cwd()  # like LLaMA Factory: relative paths are against the cwd
        cfg = load_train_config(config, **(overrides or {})).anchored(workdir)
        if not is_main_process():
            return self._train_unrecorded(cfg)
        launch = _resolve_launch(launch)
        run_id = self._record_run(cfg, project)
        if background or (launch is not None and launch.distributed):
            return self._spawn(run_id, launch or Launch(), wait=not background)
        return self._execute_here(run_id)

    def _record_run(self, cfg: Any, project: str | int | None) -> int:
        with self.db.session() as session:
            project_id = lookups.project(session, project).id if project is not None else _bundle_project_id(session, cfg)
            job = Job(project_id=project_id, kind=KIND, status="queued", params={}, total=0, progress={})
            run = TrainRun(project_id=project_id, job=job, name=Path(cfg.output_dir).name, base_model=cfg.model_name_or_path,
                           finetuning_type=cfg.finetuning_type, config=cfg.model_dump(mode="json"), output_dir=cfg.output_dir)
            session.add(run)
            session.flush()
            job.params = {"run_id": run.id, "base_model": cfg.model_name_or_path, "output_dir": cfg.output_dir}
            return run.id

    def _train_unrecorded(self, cfg: Any) -> TrainRunView:
        """A non-zero rank of an outside launcher: train alongside rank 0, write nothing to the store."""
        from loreforge.train.trainer import run_training

        result = run_training(cfg)
        return TrainRunView(id=0, project_id=None, name=Path(cfg.output_dir).name, base_model=cfg.model_name_or_path,
                            finetuning_type=cfg.finetuning_type, status="completed", config={}, output_dir=str(result.output_dir),
                            metrics={"global_step": result.global_step, "rank": process_rank()}, best_checkpoint=None,
                            error=None, created_at=utcnow(), finished_at=utcnow())

    # ------------------------------------------------------------ executing

    def execute_run(self, run_id: int, background: bool = False, launch: Launch | None = None) -> TrainRunView:
        """Execute a recorded run: in this process (what workers do), or in a new worker process (`background`,
        `launch`). Also re-runs a failed, cancelled or interrupted run: it resumes from its last complete
        checkpoint whatever `overwrite_output_dir` says, or starts over and says why in its log, progress and
        metrics (`started_over`) when there is none."""
        launch = _resolve_launch(launch)
        if background or (launch is not None and launch.distributed):
            self._requeue(run_id)
            return self._spawn(run_id, launch or Launch(), wait=not background)
        return self._execute_here(run_id)

    def _requeue(self, run_id: int) -> int:
        """Make the run's job runnable (queued) if it ended; refuse a running or completed one. Its job id. A run
        that ended is queued as its next attempt (`attempt` in the job's params), which resumes."""
        with self.db.session() as session:
            run = lookups.train_run(session, run_id)
            _check_executable(run_id, effective_status(run.job))
            if run.job.status != "queued" or effective_status(run.job) == "interrupted":
                lifecycle.requeue(session, run.job)
                run.job.params = {**(run.job.params or {}), "attempt": _attempt(run.job.params) + 1}
            return run.job_id

    def _execute_here(self, run_id: int) -> TrainRunView:
        from loreforge.train import load_train_config
        from loreforge.train.trainer import run_training

        main = is_main_process()
        job_id = self._requeue(run_id) if main else None  # other ranks: rank 0's launcher has queued it
        with self.db.session() as session:
            run = lookups.train_run(session, run_id)
            cfg, resume = load_train_config(dict(run.config or {})), _attempt(run.job.params) > 1
        if job_id is None:
            run_training(cfg, resume=resume)
            return self.get_run(run_id)
        control = JobControl(self.db, job_id)
        control.start()
        with self.db.session() as session:
            lookups.train_run(session, run_id).metrics = {}
        stop = control.heartbeat_thread(on_cancel=lambda: os.kill(os.getpid(), signal.SIGTERM))
        previous = signal.signal(signal.SIGTERM, _interrupt_self) if threading.current_thread() is threading.main_thread() else None
        try:
            result = run_training(cfg, on_progress=lambda record: _report(control, record), resume=resume)
        except LoreForgeError as exc:
            control.finish(error=str(exc))
            recorded = f"the run is recorded as failed: `loreforge runs show {run_id}`"
            exc.hint = f"{exc.hint.rstrip('. ')}; {recorded}" if exc.hint else recorded.capitalize()
            exc.args = (exc.render(),)  # str(exc) is rendered once, when the error is made
            raise
        except Exception as exc:  # noqa: BLE001 - a library failure becomes a user-facing error, run kept
            error = f"{type(exc).__name__}: {exc}"
            control.finish(error=error)
            raise UserError(
                f"Training run {run_id} failed ({error})",
                hint=f"Check the model path and the dataset; the run is recorded: `loreforge runs show {run_id}`",
            ) from exc
        except BaseException:
            requested = control.asked_to_cancel()
            control.finish(cancelled=True)
            if not requested:
                raise  # Ctrl-C here, or the process is going down: let it
            return self.get_run(run_id)  # cancelled from elsewhere: an ordinary end of the run
        finally:
            stop.set()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        metrics = {k: v for k, v in result.metrics.items() if isinstance(v, (int, float, str, bool)) or v is None}
        metrics.update(global_step=result.global_step, train_loss=result.train_loss, eval_loss=result.eval_loss)
        with self.db.session() as session:
            run = lookups.train_run(session, run_id)
            run.metrics, run.output_dir = metrics, str(result.output_dir)
            run.best_checkpoint = str(result.best_checkpoint) if result.best_checkpoint else None
        control.finish(status="completed")
        return self.get_run(run_id)

    # ------------------------------------------------------------ worker processes

    def _spawn(self, run_id: int, launch: Launch, wait: bool) -> TrainRunView:
        """Start the worker (or torchrun with its workers) for a recorded run; `wait` for it or watch it."""
        with self.db.session() as session:
            run = lookups.train_run(session, run_id)
            log_path = Path(run.output_dir or self.config.home / "runs" / str(run_id)) / RUNNING_LOG
            run.log_file = None if wait else str(log_path)  # waiting: the output is on the console
        command = launch.command(run_id, self.config.home)
        cpus = os.cpu_count() or 1
        env = worker_env(self.config.database_url, max(1, cpus // launch.nproc_per_node) if launch.distributed else None)
        try:
            if wait:  # the console shows the workers' output, on stderr: stdout carries only the result
                code = subprocess.run(command, env=env, check=False, stdout=_stderr_fd()).returncode
                return self._close_orphan(run_id, code, launch)
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with log_path.open("ab") as log:
                process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            lifecycle.close_if_active(self.db, self._job_id(run_id), "failed", f"cannot start the training process: {exc}")
            raise UserError(f"Cannot start the training process for run {run_id}", got=str(exc),
                            hint="Check that `output_dir` can be written and that this Python runs `python -m loreforge`") from exc
        with self.db.session() as session:  # until the worker takes the job, its pid stands for it
            session.execute(update(Job).where(Job.id == self._job_id(run_id), Job.status == "queued")
                            .values(pid=process.pid, host=this_host(), heartbeat_at=utcnow()))

        def watch() -> None:
            self._close_orphan(run_id, process.wait(), launch, launched=process.pid)

        threading.Thread(target=watch, name=f"train-run-{run_id}-watch", daemon=True).start()
        return self.get_run(run_id)

    def _close_orphan(self, run_id: int, code: int, launch: Launch, launched: int | None = None) -> TrainRunView:
        """After the workers exit: close a run they left active (a crash, a kill, or a node other than rank 0's) —
        unless it was resumed meanwhile (`launched`: the pid of the process that exited)."""
        job_id = self._job_id(run_id)
        if code == 0 and launch.node_rank > 0:
            if lifecycle.close_if_active(self.db, job_id, "completed", launched=launched):
                with self.db.session() as session:
                    lookups.train_run(session, run_id).metrics = {
                        "node_rank": launch.node_rank, "note": "worker node: outputs and metrics are on node 0"}
        else:
            with self.db.session() as session:
                log_file = lookups.train_run(session, run_id).log_file
            lifecycle.close_if_active(self.db, job_id, "failed",
                                      f"the training process exited with code {code}; see {log_file or 'its console output'}",
                                      launched=launched)
        return self.get_run(run_id)

    def _job_id(self, run_id: int) -> int:
        with self.db.session() as session:
            return lookups.train_run(session, run_id).job_id

    # ------------------------------------------------------------ reading and cancelling

    def cancel_run(self, run_id: int) -> TrainRunView:
        """Stop a queued or running train run: its worker is interrupted (checkpoints already written stay; run it
        again with `loreforge runs execute ID` to resume)."""
        with self.db.session() as session:
            run = lookups.train_run(session, run_id)
            status = effective_status(run.job)
            if status not in ACTIVE:
                raise Conflict(f"Train run {run_id} is {status}, not running", hint="Only queued or running runs can be cancelled")
            now = lifecycle.request_cancel(session, run.job)
            pid, here = run.job.pid, run.job.host in (None, this_host())
        if now == "cancelling" and pid and here and pid_alive(pid):
            try:
                os.kill(pid, signal.SIGTERM)  # at once; a worker on another host stops at its next heartbeat
            except OSError:
                pass
        return self.get_run(run_id)

    def list_runs(self, project: str | int | None = None) -> list[TrainRunView]:
        with self.db.session() as session:
            query = select(TrainRun).order_by(TrainRun.id.desc())
            if project is not None:
                query = query.where(TrainRun.project_id == lookups.project(session, project).id)
            return [run_view(r) for r in session.scalars(query)]

    def get_run(self, run_id: int) -> TrainRunView:
        with self.db.session() as session:
            return run_view(lookups.train_run(session, run_id))
