"""Train runs as processes: started in the background through the REST API with live progress and an event
stream, cancelled, killed and resumed; and data-parallel on 2 CPU processes (torchrun, gloo) — through our
launcher (`loreforge train --nproc-per-node 2`) and under an outside `torchrun -m loreforge train` — writing one
set of outputs and one recorded run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from click.testing import CliRunner  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from loreforge.cli import cli  # noqa: E402
from loreforge.errors import Conflict  # noqa: E402
from loreforge.service import Service  # noqa: E402
from loreforge.train.callbacks import TRAINER_LOG  # noqa: E402
from train_workspace import alpaca_workspace  # noqa: E402
from loreforge.web import create_app  # noqa: E402

# A fictional logistics company's warehouses.
ROWS = [{"instruction": f"青石物流第{i}号仓库在哪里？", "input": "", "output": f"第{i}号仓库位于青石路{i * 3 + 1}号。"}
        for i in range(32)]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return alpaca_workspace(tmp_path_factory.mktemp("runs"), {"qingshi": ROWS})


def config(workspace: Path, out: str, **overrides: Any) -> dict[str, Any]:
    return {
        "model_name_or_path": str(workspace / "model"), "stage": "sft", "do_train": True, "finetuning_type": "lora",
        "dataset": "qingshi", "dataset_dir": str(workspace / "data"), "template": "qwen", "cutoff_len": 128,
        "per_device_train_batch_size": 4, "num_train_epochs": 1, "logging_steps": 1, "save_strategy": "no",
        "output_dir": str(workspace / out), "overwrite_output_dir": True, "disable_gradient_checkpointing": True,
    } | overrides


def wait_for(client: TestClient, run_id: int, check: Any, timeout: float = 180.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run = client.get(f"/api/runs/{run_id}").json()
        if check(run):
            return run
        assert time.monotonic() < deadline, f"timed out waiting; run is {run}"
        time.sleep(0.3)


def test_api_run_in_the_background_with_progress_and_events(svc: Service, workspace: Path) -> None:
    with TestClient(create_app(svc)) as client:
        started = client.post("/api/train", json={"config": config(workspace, "bg", num_train_epochs=3)})
        assert started.status_code == 202, started.text
        run = started.json()
        assert run["status"] in ("queued", "running") and run["log_file"].endswith("running_log.txt")
        seen: list[dict[str, Any]] = []
        done = wait_for(client, run["id"], lambda r: seen.append(r["progress"]) or r["status"] not in ("queued", "running"))
        assert done["status"] == "completed", done
        assert done["metrics"]["global_step"] == 24 and done["progress"]["current_steps"] == 24
        assert done["progress"]["percentage"] == 100 and "remaining_time" in done["progress"]
        events = client.get(f"/api/runs/{run['id']}/events").text
        last = json.loads(events.strip().split("data: ")[-1])
        assert last["status"] == "completed" and last["progress"]["total_steps"] == 24
    log = Path(done["log_file"]).read_text(encoding="utf-8")
    assert "trainable params" in log and '"current_steps": 24' in log
    assert (workspace / "bg" / "adapter_model.safetensors").exists()


def test_cancel_stops_a_running_worker(svc: Service, workspace: Path) -> None:
    with TestClient(create_app(svc)) as client:
        run = client.post("/api/train", json={"config": config(workspace, "long", max_steps=100000)}).json()
        running = wait_for(client, run["id"], lambda r: r["status"] == "running" and r["progress"].get("current_steps", 0) > 0)
        assert running["progress"]["total_steps"] == 100000
        assert client.post(f"/api/runs/{run['id']}/cancel").status_code == 200
        ended = wait_for(client, run["id"], lambda r: r["status"] not in ("running", "cancelling"), timeout=60)
        assert ended["status"] == "cancelled", ended
        assert client.post(f"/api/runs/{run['id']}/cancel").status_code == 409  # nothing left to cancel
        assert client.post("/api/runs/999/cancel").status_code == 404


def test_a_foreground_run_cancelled_from_elsewhere_exits_4(home: Path, svc: Service, workspace: Path) -> None:
    path = workspace / "fg.json"
    path.write_text(json.dumps(config(workspace, "fg", max_steps=100000)), encoding="utf-8")
    env = dict(os.environ, LOREFORGE_HOME=str(home), OMP_NUM_THREADS="1")
    worker = subprocess.Popen([sys.executable, "-m", "loreforge", "train", str(path)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while not (runs := svc.list_runs()) or runs[0].progress.get("current_steps", 0) < 1:
            assert worker.poll() is None and time.monotonic() < deadline, worker.communicate()
            time.sleep(0.3)
        svc.cancel_run(runs[0].id)
        out, err = worker.communicate(timeout=60)
    finally:
        worker.kill()
    assert worker.returncode == 4, err[-3000:]  # scripts tell a cancelled run from a completed one
    assert f"run {runs[0].id} cancelled" in out and svc.get_run(runs[0].id).status == "cancelled"


def _complete_steps(out: Path) -> list[int]:
    """Steps of the checkpoints whose trainer_state.json was written whole (the Trainer writes it last)."""
    steps = []
    for state in out.glob("checkpoint-*/trainer_state.json"):
        try:
            steps.append(json.loads(state.read_text(encoding="utf-8"))["global_step"])
        except ValueError:
            continue
    return sorted(steps)


def test_a_killed_worker_is_reported_and_the_run_resumes(svc: Service, workspace: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    """SIGKILL mid-training, then `runs execute`: with `overwrite_output_dir: true` (what the exported
    train_lora.yaml says) the run still continues from its last complete checkpoint — a half-written one is
    skipped — and trainer_log.jsonl holds each step once."""
    import logging
    import shutil

    from loreforge.store.models import TrainRun

    cfg = config(workspace, "killed", max_steps=200, save_strategy="steps", save_steps=4, save_total_limit=2)
    assert cfg["overwrite_output_dir"] is True
    run = svc.train(cfg, background=True)
    # Progress reaches the store every few seconds; the trainer log gets every step, so kill on that, early.
    out = workspace / "killed"
    log = out / TRAINER_LOG
    deadline = time.monotonic() + 180
    while not log.exists() or len(log.read_text(encoding="utf-8").splitlines()) < 6:
        assert time.monotonic() < deadline and svc.get_run(run.id).status in ("queued", "running"), svc.get_run(run.id)
        time.sleep(0.05)
    with svc.db.session() as session:
        pid = session.get(TrainRun, run.id).job.pid  # the life cycle is the run's job
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while svc.get_run(run.id).status in ("running", "interrupted"):  # interrupted (its worker gone) until the watcher closes it
        assert time.monotonic() < deadline
        time.sleep(0.2)
    dead = svc.get_run(run.id)
    assert dead.status == "failed" and "exited with code -9" in (dead.error or "")
    job = svc.get_job(int(dead.job_id or 0))  # the run's life cycle is a job like any other
    assert job.kind == "train" and job.status == "failed" and job.params["run_id"] == run.id and job.error == dead.error
    assert job.progress.get("unit") == "steps" and 0 < job.done < job.total == 200
    last = _complete_steps(out)[-1]  # the killed attempt logged steps past it, mostly: those are dropped
    assert last >= 4
    # The kill came while the next checkpoint was being saved: its trainer_state.json cut short.
    half = out / f"checkpoint-{last + 4}"
    shutil.copytree(out / f"checkpoint-{last}", half, dirs_exist_ok=True)
    (half / "trainer_state.json").write_text('{"global_step": %d, "log_hist' % (last + 4), encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="loreforge.train"):
        resumed = svc.execute_run(run.id)  # in this process; picks up the last complete checkpoint
    assert resumed.status == "completed" and resumed.metrics["global_step"] == 200
    assert resumed.metrics["resumed_from_step"] == last and resumed.metrics["resumed_from"] == str(out / f"checkpoint-{last}")
    assert f"Skipping {half}: incomplete" in caplog.text and f"Resuming training from {out / f'checkpoint-{last}'}" in caplog.text
    steps = [json.loads(line)["current_steps"] for line in log.read_text(encoding="utf-8").splitlines()]
    assert steps == list(range(1, 201))  # each step once: the killed attempt's lines after the checkpoint dropped
    with pytest.raises(Conflict, match="already completed"):  # re-running would overwrite its outputs and metrics
        svc.execute_run(run.id)
    assert svc.get_run(run.id).metrics == resumed.metrics


def _ddp_outputs(out: Path) -> list[int]:
    assert (out / "adapter_model.safetensors").exists() and (out / "training_loss.png").exists()
    steps = [json.loads(line)["current_steps"] for line in (out / TRAINER_LOG).read_text().splitlines()]
    assert steps == sorted(set(steps)), "each step logged once (rank 0 only)"
    return steps


def test_two_process_ddp_through_our_launcher(home: Path, workspace: Path) -> None:
    path = workspace / "ddp.json"
    path.write_text(json.dumps(config(workspace, "ddp")), encoding="utf-8")
    result = CliRunner().invoke(cli, ["train", str(path), "--nproc-per-node", "2", "--master-port", "29631", "--json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    # 32 examples, 2 processes x batch 4 -> 4 steps (one process would take 8)
    assert run["status"] == "completed" and run["metrics"]["global_step"] == 4, run
    assert _ddp_outputs(workspace / "ddp") == [1, 2, 3, 4]
    runs = json.loads(CliRunner().invoke(cli, ["runs", "list", "--json"]).output)
    assert len(runs) == 1 and runs[0]["progress"]["current_steps"] == 4


def test_outside_torchrun_records_one_run(home: Path, workspace: Path) -> None:
    path = workspace / "ddp2.json"
    path.write_text(json.dumps(config(workspace, "ddp2")), encoding="utf-8")
    env = dict(os.environ, LOREFORGE_HOME=str(home), OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29632",
               "-m", "loreforge", "train", str(path), "--json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["metrics"]["global_step"] == 4  # only rank 0 prints the result
    assert _ddp_outputs(workspace / "ddp2") == [1, 2, 3, 4]
    runs = json.loads(CliRunner().invoke(cli, ["runs", "list", "--json"], env={"LOREFORGE_HOME": str(home)}).output)
    assert len(runs) == 1 and runs[0]["status"] == "completed"


def test_several_gpus_start_one_process_each() -> None:
    from loreforge.train.launch import Launch, auto_launch

    assert auto_launch(None, 0) is None and auto_launch(None, 1) is None
    assert auto_launch(None, 8) == Launch(nproc_per_node=8)
    chosen = Launch(nproc_per_node=2, nnodes=2, node_rank=1, master_addr="10.0.0.1")
    assert auto_launch(chosen, 8) is chosen  # what the user asked for wins
    command = chosen.command(7)
    assert command[1:3] == ["-m", "torch.distributed.run"] and "--node_rank=1" in command
    assert command[-5:] == ["-m", "loreforge", "runs", "execute", "7"]


def test_accelerate_launch_with_the_shipped_ddp_config(home: Path, workspace: Path) -> None:
    """`accelerate launch --config_file examples/accelerate/multi_gpu.yaml -m loreforge train` (2 processes; on
    this CPU-only machine accelerate falls back to CPU processes with gloo)."""
    pytest.importorskip("accelerate")
    path = workspace / "acc.json"
    path.write_text(json.dumps(config(workspace, "acc")), encoding="utf-8")
    shipped = Path(__file__).resolve().parent.parent / "examples" / "accelerate" / "multi_gpu.yaml"
    env = dict(os.environ, LOREFORGE_HOME=str(home), OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(shipped), "--num_processes", "2",
               "--main_process_port", "29633", "-m", "loreforge", "train", str(path), "--json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["metrics"]["global_step"] == 4
    assert _ddp_outputs(workspace / "acc") == [1, 2, 3, 4]
    runs = json.loads(CliRunner().invoke(cli, ["runs", "list", "--json"], env={"LOREFORGE_HOME": str(home)}).output)
    assert len(runs) == 1 and runs[0]["status"] == "completed"


def test_bad_launch_input_is_a_clear_error(svc: Service, workspace: Path, tmp_path: Path) -> None:
    from loreforge.errors import UserError

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(UserError, match="Cannot start the training process"):
        svc.train(config(workspace, str(blocker / "out")), background=True)  # output_dir under a file
    failed = svc.list_runs()[0]
    assert failed.status == "failed" and "cannot start" in (failed.error or "")
    with TestClient(create_app(svc)) as client:
        bad = client.post("/api/train", json={"config": config(workspace, "x"), "launch": {"nproc_per_node": 0}})
        assert bad.status_code == 422 and "nproc_per_node" in bad.json()["message"]
        unknown = client.post("/api/train", json={"config": config(workspace, "x", lora_rnak=4)})
        assert unknown.status_code == 422 and "lora_rank" in unknown.text
    assert len(svc.list_runs()) == 1  # nothing recorded for rejected input
