"""Train run actions: record an SFT run and execute it — in this process, in a background worker process, or
under torchrun on several processes / nodes — with live progress, cancel and the runs list.

Life cycle of a `TrainRun` row: `queued` (recorded) → `running` (a worker set its pid) → `completed` / `failed` /
`cancelled`. The worker's global rank 0 process is the only writer; it touches `heartbeat_at` every few seconds
and stores LLaMA Factory's progress fields (current_steps, total_steps, percentage, loss, elapsed_time,
remaining_time) in `progress`. A run whose worker died without a word is shown as `interrupted` (same rule as
jobs: its pid is gone, or its heartbeat is older than `STALE_AFTER_S`). Launched workers are watched: when one
exits and its run is still active, the run is closed with the exit code and the log file to read.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select

from loreforge.errors import Conflict, LoreForgeError, NotFound, UserError
from loreforge.jobs import ACTIVE, pid_alive, worker_lost
from loreforge.service.exporting import ExportActions
from loreforge.store.models import TrainRun, utcnow
from loreforge.train.launch import (
    RUNNING_LOG, Launch, auto_launch, is_main_process, process_rank, under_launcher, visible_gpus, worker_env,
)
from loreforge.views import TrainRunView

HEARTBEAT_S = 5.0


def run_status(run: TrainRun) -> str:
    """The status to show: an active run whose worker is gone (or silent too long) is `interrupted` (a queued run
    no worker has taken yet has no pid and stays queued)."""
    if run.status not in ACTIVE or run.pid is None:
        return run.status
    return "interrupted" if worker_lost(run.pid, run.heartbeat_at) else run.status


def run_view(run: TrainRun) -> TrainRunView:
    return TrainRunView(
        id=run.id, project_id=run.project_id, name=run.name, base_model=run.base_model, finetuning_type=run.finetuning_type,
        status=run_status(run), config=dict(run.config or {}), metrics=dict(run.metrics or {}), output_dir=run.output_dir,
        best_checkpoint=run.best_checkpoint, error=run.error, created_at=run.created_at, finished_at=run.finished_at,
        progress=dict(run.progress or {}), log_file=run.log_file,
    )


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


def _interrupt_self(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


class RunActions(ExportActions):
    def train(
        self, config: str | Path | dict[str, Any], overrides: dict[str, Any] | None = None, project: str | int | None = None,
        cwd: str | Path | None = None, background: bool = False, launch: Launch | None = None,
    ) -> TrainRunView:
        """Run SFT from a LLaMA Factory-style YAML (path or mapping) plus `overrides`. The run (config with its
        paths made absolute, status, progress, metrics, outputs) is recorded in the store (`loreforge runs`).
        `background`: start a worker process and return at once (poll `get_run`); `launch`: several processes
        (torchrun) on one or more nodes. Under an outside launcher (torchrun/accelerate), only rank 0 records."""
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
            project_id = self._project(session, project).id if project is not None else None
            run = TrainRun(project_id=project_id, name=Path(cfg.output_dir).name, base_model=cfg.model_name_or_path,
                           finetuning_type=cfg.finetuning_type, config=cfg.model_dump(mode="json"), status="queued",
                           output_dir=cfg.output_dir, progress={})
            session.add(run)
            session.flush()
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
        `launch`). Also re-runs a failed, cancelled or interrupted run: it resumes from the last checkpoint
        unless its config says `overwrite_output_dir`."""
        launch = _resolve_launch(launch)
        if background or (launch is not None and launch.distributed):
            with self.db.session() as session:
                _check_executable(run_id, run_status(self._train_run(session, run_id)))
            return self._spawn(run_id, launch or Launch(), wait=not background)
        return self._execute_here(run_id)

    def _execute_here(self, run_id: int) -> TrainRunView:
        from loreforge.train import load_train_config
        from loreforge.train.trainer import run_training

        main = is_main_process()
        with self.db.session() as session:
            run = self._train_run(session, run_id)
            status = run_status(run)
            if main:
                _check_executable(run_id, status)
            cfg = load_train_config(dict(run.config or {}))
            if main:
                run.status, run.pid, run.heartbeat_at, run.error, run.finished_at = "running", os.getpid(), utcnow(), None, None
                run.progress, run.metrics = {}, {}
        if not main:
            run_training(cfg)
            return self.get_run(run_id)
        stop = self._start_heartbeat(run_id)
        previous = signal.signal(signal.SIGTERM, _interrupt_self) if threading.current_thread() is threading.main_thread() else None
        try:
            result = run_training(cfg, on_progress=lambda record: self._save_progress(run_id, record))
        except LoreForgeError as exc:
            self._finish_run(run_id, status="failed", error=str(exc))
            raise
        except Exception as exc:  # noqa: BLE001 - a library failure becomes a user-facing error, run kept
            error = f"{type(exc).__name__}: {exc}"
            self._finish_run(run_id, status="failed", error=error)
            raise UserError(
                f"Training run {run_id} failed ({error})",
                hint=f"Check the model path and the dataset; the run is recorded: `loreforge runs show {run_id}`",
            ) from exc
        except BaseException:
            self._finish_run(run_id, status="cancelled", error="interrupted")
            raise
        finally:
            stop.set()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        metrics = {k: v for k, v in result.metrics.items() if isinstance(v, (int, float, str, bool)) or v is None}
        metrics.update(global_step=result.global_step, train_loss=result.train_loss, eval_loss=result.eval_loss)
        return self._finish_run(run_id, status="completed", metrics=metrics, output_dir=str(result.output_dir),
                                best=str(result.best_checkpoint) if result.best_checkpoint else None)

    def _start_heartbeat(self, run_id: int) -> threading.Event:
        """Touch the run every HEARTBEAT_S; a cancel requested from elsewhere interrupts this process."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(HEARTBEAT_S):
                with self.db.session() as session:
                    run = session.get(TrainRun, run_id)
                    if run is None:
                        return
                    run.heartbeat_at = utcnow()
                    cancelling = run.status == "cancelling"
                if cancelling:
                    os.kill(os.getpid(), signal.SIGTERM)
                    return

        threading.Thread(target=beat, name=f"train-run-{run_id}-heartbeat", daemon=True).start()
        return stop

    def _save_progress(self, run_id: int, record: dict[str, Any]) -> None:
        with self.db.session() as session:
            run = session.get(TrainRun, run_id)
            if run is not None:
                run.progress, run.heartbeat_at = dict(record), utcnow()

    def _finish_run(self, run_id: int, status: str, error: str | None = None, metrics: dict[str, Any] | None = None,
                    output_dir: str | None = None, best: str | None = None) -> TrainRunView:
        with self.db.session() as session:
            run = self._train_run(session, run_id)
            run.status, run.error, run.finished_at = status, error, utcnow()
            run.metrics = metrics or {}
            run.output_dir, run.best_checkpoint = output_dir or run.output_dir, best
            return run_view(run)

    # ------------------------------------------------------------ worker processes

    def _spawn(self, run_id: int, launch: Launch, wait: bool) -> TrainRunView:
        """Start the worker (or torchrun with its workers) for a recorded run; `wait` for it or watch it."""
        with self.db.session() as session:
            run = self._train_run(session, run_id)
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
            self._finish_run(run_id, status="failed", error=f"cannot start the training process: {exc}")
            raise UserError(f"Cannot start the training process for run {run_id}", got=str(exc),
                            hint="Check that `output_dir` can be written and that this Python runs `python -m loreforge`") from exc
        with self.db.session() as session:
            run = self._train_run(session, run_id)
            if run.status == "queued":
                run.pid, run.heartbeat_at = process.pid, utcnow()

        def watch() -> None:
            self._close_orphan(run_id, process.wait(), launch)

        threading.Thread(target=watch, name=f"train-run-{run_id}-watch", daemon=True).start()
        return self.get_run(run_id)

    def _close_orphan(self, run_id: int, code: int, launch: Launch) -> TrainRunView:
        """After the workers exit: close a run they left active (a crash, a kill, or a node other than rank 0's)."""
        with self.db.session() as session:
            run = self._train_run(session, run_id)
            if run.status in ACTIVE:
                run.finished_at = utcnow()
                if run.status == "cancelling":
                    run.status, run.error = "cancelled", "cancelled"
                elif code == 0 and launch.node_rank > 0:
                    run.status = "completed"
                    run.metrics = {"node_rank": launch.node_rank, "note": "worker node: outputs and metrics are on node 0"}
                else:
                    run.status = "failed"
                    run.error = f"the training process exited with code {code}; see {run.log_file or 'its console output'}"
            return run_view(run)

    # ------------------------------------------------------------ reading and cancelling

    def _train_run(self, session: Any, run_id: int) -> TrainRun:
        run = session.get(TrainRun, int(run_id))
        if run is None:
            raise NotFound(f"No train run {run_id}", hint="List runs with `loreforge runs list`")
        return run

    def cancel_run(self, run_id: int) -> TrainRunView:
        """Stop a queued or running train run: its worker is interrupted (checkpoints already written stay; run it
        again with `loreforge runs execute ID` to resume)."""
        with self.db.session() as session:
            run = self._train_run(session, run_id)
            status = run_status(run)
            if status not in ACTIVE:
                raise Conflict(f"Train run {run_id} is {status}, not running", hint="Only queued or running runs can be cancelled")
            if run.status == "queued" and run.pid is None:
                run.status, run.error, run.finished_at = "cancelled", "cancelled before it started", utcnow()
                return run_view(run)
            run.status = "cancelling"
            pid = run.pid
        if pid and pid_alive(pid):
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass  # another host's worker notices `cancelling` at its next heartbeat
        return self.get_run(run_id)

    def list_runs(self, project: str | int | None = None) -> list[TrainRunView]:
        with self.db.session() as session:
            query = select(TrainRun).order_by(TrainRun.id.desc())
            if project is not None:
                query = query.where(TrainRun.project_id == self._project(session, project).id)
            return [run_view(r) for r in session.scalars(query)]

    def get_run(self, run_id: int) -> TrainRunView:
        with self.db.session() as session:
            return run_view(self._train_run(session, run_id))
