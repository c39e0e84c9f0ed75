"""Model server actions: `loreforge serve-model` started in the background for a train run (its base model and
the tuned weights under their served names), listed with where it answers and whether it is up, and stopped. The
process and its address are recorded (`model_servers`), so any process on this machine — the web server after a
restart, the CLI — lists and stops it. Its output goes to a log file under LOREFORGE_HOME/model-servers/.

Status, derived each time: `stopped` (stopped here), `exited` (its process is gone: the log says why), `ready`
(its /v1/models answers) or `starting` (loading the weights). Read by the Serve page, `loreforge model-servers
...` and /api/model-servers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
from sqlalchemy import select

from loreforge.errors import Conflict, NotFound, UserError
from loreforge.inference.defaults import DEFAULT_MODEL_PORT
from loreforge.jobs import pid_alive, this_host
from loreforge.model_views import ModelServerView
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.store.models import ModelServer, utcnow
from loreforge.train.run_files import tail_lines
from loreforge.views import from_row

SERVERS_DIR = "model-servers"
DEFAULT_TUNED_NAME = "tuned"
PORTS_TRIED = 50  # free ports looked for from DEFAULT_MODEL_PORT up
STOP_WAIT_S = 10.0
PROBE_TIMEOUT_S = 0.5
LOG_LINES = 20


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _free_port(host: str, taken: set[int]) -> int:
    for port in range(DEFAULT_MODEL_PORT, DEFAULT_MODEL_PORT + PORTS_TRIED):
        if port not in taken and _port_free(host, port):
            return port
    raise UserError(f"No free port from {DEFAULT_MODEL_PORT} to {DEFAULT_MODEL_PORT + PORTS_TRIED - 1}", hint="Pick one with --port")


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/v1"


def _status(row: ModelServer) -> str:
    if row.stopped_at is not None:
        return "stopped"
    if row.hostname == this_host() and not pid_alive(row.pid):
        return "exited"
    try:
        httpx.get(_url(row.host, row.port) + "/models", timeout=PROBE_TIMEOUT_S)
    except httpx.HTTPError:
        return "starting"
    return "ready"  # any answer (a 401 without the token too) means it listens


def server_view(row: ModelServer) -> ModelServerView:
    status = _status(row)
    log = tail_lines(row.log_file, LOG_LINES)[0] if status in ("exited", "starting") else []
    return from_row(ModelServerView, row, models=dict(row.models or {}), url=_url(row.host, row.port), status=status,
                    log_tail=log)


class ModelServerActions(ServiceBase):
    def start_model_server(
        self, run: str | int | None = None, base: str | None = None, name: str | None = None, base_name: str | None = None,
        port: int | None = None, host: str = "127.0.0.1", project: str | int | None = None,
    ) -> ModelServerView:
        """Start `loreforge serve-model` in the background: the base model (`base`, default the run's) and the tuned
        weights of `run` (a train run id or folder) served as `name` (default "tuned"), on `port` (default: the
        first free one from 8718). Returns at once; it is `ready` once its weights are loaded."""
        from loreforge.inference.served import served_name
        from loreforge.inference.tuned import is_run_id, tuned_folder
        from loreforge.train.launch import worker_env

        spec = str(run).strip() if run is not None and str(run).strip() else None
        train_run = self.app.get_run(int(spec)) if spec is not None and is_run_id(spec) else None
        model = (base or "").strip() or (train_run.base_model if train_run is not None else "")
        if not model:
            raise UserError("Nothing to serve", expected="a train run, or a base model")
        folder = tuned_folder(spec, self.app.get_run) if spec is not None else None
        names = {(base_name or served_name(model)).strip(): model}
        if folder is not None:
            names[(name or DEFAULT_TUNED_NAME).strip()] = str(folder)
        if len(names) < 1 + (folder is not None):
            raise UserError("The base model and the tuned model need different names", got=", ".join(names))
        with self.db.session() as session:
            project_id = lookups.project(session, project).id if project is not None else (train_run.project_id if train_run else None)
            live = [r for r in session.scalars(select(ModelServer).where(ModelServer.stopped_at.is_(None)))]
            taken = {r.port for r in live if r.hostname == this_host() and pid_alive(r.pid)}
            if port is not None and (port in taken or not _port_free(host, port)):
                raise Conflict(f"Port {port} is in use", hint="Pick another port, or leave it out for a free one")
            chosen = port if port is not None else _free_port(host, taken)
            row = ModelServer(project_id=project_id, run_id=train_run.id if train_run else None, base=model, models=names,
                              host=host, port=chosen, hostname=this_host(), log_file="")
            session.add(row)
            session.flush()
            server_id = row.id
            log_path = self.config.home / SERVERS_DIR / f"{server_id}.log"
            row.log_file = str(log_path)
        command = [sys.executable, "-m", "loreforge", "--home", str(self.config.home), "serve-model", "--model", model,
                   "--name", next(iter(names)), "--host", host, "--port", str(chosen)]
        command += [f"--adapter={n}={t}" for n, t in list(names.items())[1:]]
        try:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with log_path.open("ab") as log:
                process = subprocess.Popen(command, env=worker_env(self.config.database_url), stdout=log,
                                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            with self.db.session() as session:
                failed = session.get(ModelServer, server_id)
                assert failed is not None
                failed.error, failed.stopped_at = f"cannot start: {exc}", utcnow()
            raise UserError("Cannot start the model server", got=str(exc)) from exc
        with self.db.session() as session:
            started = session.get(ModelServer, server_id)
            assert started is not None
            started.pid = process.pid
            return server_view(started)

    def list_model_servers(self, stopped: bool = False) -> list[ModelServerView]:
        """The model servers started in the background, newest first (`stopped`: those stopped too)."""
        with self.db.session() as session:
            query = select(ModelServer).order_by(ModelServer.id.desc())
            if not stopped:
                query = query.where(ModelServer.stopped_at.is_(None))
            return [server_view(r) for r in session.scalars(query)]

    def stop_model_server(self, server_id: int) -> ModelServerView:
        """Stop a model server (its process group: SIGTERM, then SIGKILL after a few seconds)."""
        with self.db.session() as session:
            row = session.get(ModelServer, server_id)
            if row is None:
                raise NotFound(f"No model server {server_id}", hint="List them with `loreforge model-servers list`")
            if row.stopped_at is not None:
                raise Conflict(f"Model server {server_id} is already stopped")
            if row.hostname != this_host():
                raise Conflict(f"Model server {server_id} runs on {row.hostname}", hint="Stop it on that machine")
            pid = row.pid
        if pid and pid_alive(pid):
            _terminate(pid)
        with self.db.session() as session:
            row = session.get(ModelServer, server_id)
            assert row is not None
            row.stopped_at = utcnow()
            return server_view(row)


def _terminate(pid: int) -> None:
    """SIGTERM to the server's process group (it was started in its own session), SIGKILL if it lingers."""
    for sig, wait in ((signal.SIGTERM, STOP_WAIT_S), (signal.SIGKILL, 2.0)):
        try:
            os.killpg(pid, sig)
        except OSError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our child: reap it
                    return
            except ChildProcessError:
                pass
            if not pid_alive(pid):
                return
            time.sleep(0.1)
