"""Kill a real generation process with SIGKILL mid-job, restart it, and get exactly what an uninterrupted
run gets: no question or answer duplicated, none missing. The fake LLM runs as its own process."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import examples, small_chunks
from loreforge.service import Service
from loreforge.settings import AppConfig

TESTS = Path(__file__).resolve().parent
EXE = Path(sys.executable).parent / "loreforge"


@pytest.fixture()
def llm_server() -> Iterator[str]:
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    proc = subprocess.Popen(
        [sys.executable, str(TESTS / "fake_llm.py"), "--port", "0", "--latency", "0.25", "--responder", "qa_responder:respond"],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("READY"), line
    yield f"http://127.0.0.1:{line.split()[1]}/v1"
    proc.terminate()
    proc.wait(10)


def _setup(home: Path, base_url: str) -> None:
    svc = Service(AppConfig.from_env(home))
    svc.create_project("fin")
    svc.set_setting("fin", "llm.concurrency", 2)
    small_chunks(svc, "fin")
    svc.ingest("fin", examples())
    svc.add_model("fin", "custom", "fake-model", name="fake", base_url=base_url)
    svc.close()


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), "--home", str(home), *args], capture_output=True, text=True, timeout=120)


def _kill_midway(home: Path, *args: str, table: str, at_least: int) -> None:
    proc = subprocess.Popen([str(EXE), "--home", str(home), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    db = home / "loreforge.db"
    while time.monotonic() < deadline:
        if db.exists():
            with sqlite3.connect(db) as conn:
                try:
                    n = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                except sqlite3.OperationalError:
                    n = 0
            if n >= at_least:
                break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail(f"the job never reached {at_least} rows in {table}")
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def _snapshot(home: Path) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    with sqlite3.connect(home / "loreforge.db") as conn:
        questions = conn.execute("SELECT c.ordinal * 1000 + c.document_id, q.text FROM questions q JOIN chunks c ON c.id = q.chunk_id ORDER BY 1, 2").fetchall()
        answers = conn.execute("SELECT question, answer FROM dataset_items ORDER BY 1, 2").fetchall()
    return questions, answers


def test_sigkill_then_restart_equals_uninterrupted(tmp_path: Path, llm_server: str) -> None:
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    for home in (clean, killed):
        _setup(home, llm_server)
    assert _run(clean, "questions", "generate", "fin").returncode == 0
    assert _run(clean, "answers", "generate", "fin").returncode == 0

    _kill_midway(killed, "questions", "generate", "fin", table="questions", at_least=5)
    listing = _run(killed, "jobs", "list")
    assert "interrupted" in listing.stdout  # the dead job is shown as interrupted, not running
    assert _run(killed, "questions", "generate", "fin").returncode == 0  # restart: continues where it stopped
    _kill_midway(killed, "answers", "generate", "fin", table="dataset_items", at_least=1)
    latest = _run(killed, "jobs", "list").stdout.splitlines()[2].split()
    assert latest[2:4] == ["answers", "interrupted"], latest
    job_id = latest[0]
    resumed = _run(killed, "jobs", "retry", job_id)  # resume the interrupted job itself
    assert resumed.returncode == 0, resumed.stderr
    assert "completed" in resumed.stdout

    q_clean, a_clean = _snapshot(clean)
    q_killed, a_killed = _snapshot(killed)
    assert len(q_clean) >= 10 and len(a_clean) == len(q_clean)
    assert q_killed == q_clean  # same questions, none twice
    assert a_killed == a_clean  # same answers, none twice
    assert len(set(q_killed)) == len(q_killed)
