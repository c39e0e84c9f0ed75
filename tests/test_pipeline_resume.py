"""kill -9 a `loreforge run` mid-answers and mid-training, then run the recipe again (issue 12): the run ends with
the same counts as an uninterrupted one, no LLM call whose result the store already held is made again (the
answers stage resumes its own job), and training resumes from its last checkpoint. The fake LLM runs as its own
process (`tests/fake_llm.py`, `qa_responder`: replies depend only on the prompt), the base model is a tiny one."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline_workspace import recipe, tiny_model, write_recipe

TESTS = Path(__file__).resolve().parent

EXE = Path(sys.executable).parent / "loreforge"
TRAIN = {"max_steps": 40, "save_strategy": "steps", "save_steps": 4, "save_total_limit": 2, "eval_strategy": "no",
         "load_best_model_at_end": False, "logging_steps": 1}


def _recipe(tmp: Path, url: str) -> Path:
    data = recipe(url, tiny_model(tmp), train=TRAIN)
    data["generation"]["llm"] = {"concurrency": 1}
    return write_recipe(tmp, data)


def _run(home: Path, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), "--home", str(home), "run", str(path), "--quiet", "--json"], capture_output=True,
                          text=True, timeout=300)


def _query(home: Path, sql: str) -> list[tuple[Any, ...]]:
    db = home / "loreforge.db"
    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=5) as conn:
        try:
            return conn.execute(sql).fetchall()
        except sqlite3.OperationalError:
            return []


def _counts(home: Path) -> dict[str, Any]:
    one = lambda sql: _query(home, sql)[0][0]  # noqa: E731
    return {"chunks": one("SELECT count(*) FROM chunks"),
            "questions": _query(home, "SELECT text FROM questions WHERE stale = 0 ORDER BY text"),
            "items": _query(home, "SELECT question, answer, confirmed FROM dataset_items WHERE stale = 0 ORDER BY question"),
            "exported": json.loads(_query(home, "SELECT stages FROM pipeline_runs")[0][0])["export"]["result"]["counts"]}


def _start(home: Path, path: Path, **io: Any) -> subprocess.Popen[str]:
    """`loreforge run` in the foreground of a child process (to be killed or interrupted). Its SIGINT is set back to
    the default: a shell starts background commands with SIGINT ignored, and Python then leaves Ctrl-C ignored."""
    return subprocess.Popen([str(EXE), "--home", str(home), "run", str(path), "--quiet"], text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                            **({"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL} | io))


def _wait_for(check: Any, what: str, proc: subprocess.Popen[str], limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while not check():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the run never reached {what} (exit {proc.poll()})")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("resume")


@pytest.fixture(scope="module")
def llm_server() -> Iterator[str]:
    """The fake LLM as its own process (replies depend only on the prompt; 0.25 s each)."""
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    proc = subprocess.Popen([sys.executable, str(TESTS / "fake_llm.py"), "--port", "0", "--latency", "0.25", "--responder",
                             "qa_responder:respond"], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("READY"), line
    yield f"http://127.0.0.1:{line.split()[1]}/v1"
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def uninterrupted(workdir: Path, llm_server: str) -> tuple[Path, dict[str, Any]]:
    """One uninterrupted run of the recipe: what a killed-and-resumed run must end with."""
    path = _recipe(workdir, llm_server)
    done = _run(workdir / "whole", path)
    assert done.returncode == 0, done.stderr[-2000:]
    return path, _counts(workdir / "whole")


def _reset(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(url.removesuffix("/v1") + "/_reset", method="POST"), timeout=10).read()


def _requests(url: str) -> list[str]:
    data = json.loads(urllib.request.urlopen(url.removesuffix("/v1") + "/_requests", timeout=10).read())
    return [str(r["messages"][-1]["content"]) for r in data if r["messages"]]


def test_killed_mid_answers_resumes_without_asking_twice(workdir: Path, llm_server: str,
                                                        uninterrupted: tuple[Path, dict[str, Any]]) -> None:
    path, whole = uninterrupted
    home = workdir / "killed-answers"
    proc = _start(home, path)
    _wait_for(lambda: (_query(home, "SELECT count(*) FROM dataset_items") or [(0,)])[0][0] >= 3, "3 answers", proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    stored = {text for (text,) in _query(home, "SELECT DISTINCT c.text FROM dataset_items d JOIN chunks c ON c.id = d.chunk_id")}
    assert 3 <= len(_query(home, "SELECT id FROM dataset_items")) < len(whole["items"])
    _reset(llm_server)
    again = _run(home, path)
    assert again.returncode == 0, again.stderr[-2000:]
    view = json.loads(again.stdout)
    answers = view["stages"]["answers"]
    assert answers["reason"] == "it was running: resuming" and answers["result"]["already_answered"] >= 3
    asked_again = [p for p in _requests(llm_server) if '"answers"' in p]
    assert asked_again and not [p for p in asked_again if any(text in p for text in stored)]
    assert not [p for p in _requests(llm_server) if "个问题" in p or "questions about the text above" in p]  # questions: all stored
    assert _counts(home) == whole
    jobs = _query(home, "SELECT kind, status FROM jobs WHERE kind IN ('answers', 'questions')")
    assert ("answers", "completed") in jobs and len([j for j in jobs if j[0] == "answers"]) == 1  # the same job, resumed


def test_killed_mid_training_resumes_from_its_checkpoint(workdir: Path, llm_server: str,
                                                         uninterrupted: tuple[Path, dict[str, Any]]) -> None:
    path, whole = uninterrupted
    home = workdir / "killed-train"
    proc = _start(home, path)
    model = home / "projects" / "1" / "pipeline" / "t" / "model"
    _wait_for(lambda: (model / "checkpoint-8").is_dir() and (model / "trainer_log.jsonl").is_file(), "checkpoint 8", proc, 240)
    workers = [pid for (pid,) in _query(home, "SELECT pid FROM jobs WHERE kind = 'train'") if pid]
    proc.send_signal(signal.SIGKILL)
    for pid in workers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(10)
    time.sleep(0.5)
    again = _run(home, path)
    assert again.returncode == 0, again.stderr[-2000:]
    view = json.loads(again.stdout)
    assert view["stages"]["train"]["reason"] == "it was running: resuming"
    assert [s for s in ("ingest", "split", "questions", "answers", "export") if view["stages"][s].get("last_decision") != "done before, unchanged"] == []
    runs = _query(home, "SELECT metrics FROM train_runs")
    assert len(runs) == 1  # the same run, resumed
    metrics = json.loads(runs[0][0])
    # from checkpoint 8, or 4 when the kill came while 8 was being written (a half-written one is skipped)
    assert metrics["global_step"] == 40 and metrics["resumed_from_step"] in (4, 8) and not metrics.get("started_over")
    assert view["stages"]["eval"]["status"] == "completed" and view["summary"]["train"]["run_id"] == view["stages"]["train"]["result"]["run_id"]
    assert _counts(home) == whole


def test_ctrl_c_cancels_the_stage_job_and_the_next_run_continues(workdir: Path, llm_server: str,
                                                                 uninterrupted: tuple[Path, dict[str, Any]]) -> None:
    """Ctrl-C (SIGINT) in the foreground: the stage's own job stops too, the run ends `cancelled` (exit 4), and
    running the recipe again finishes it with the counts of an uninterrupted run."""
    path, whole = uninterrupted
    home = workdir / "ctrl-c"
    proc = _start(home, path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for(lambda: (_query(home, "SELECT count(*) FROM dataset_items") or [(0,)])[0][0] >= 2, "2 answers", proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 4, err[-2000:]
    assert "cancelled" in out
    statuses = dict(_query(home, "SELECT kind, status FROM jobs WHERE kind IN ('pipeline', 'answers')"))
    assert statuses == {"pipeline": "cancelled", "answers": "cancelled"}
    again = _run(home, path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads(again.stdout)["stages"]["answers"]["reason"] == "it was cancelled: resuming"
    assert _counts(home) == whole
