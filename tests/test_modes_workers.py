"""The data modes of issue 15 ride the one life cycle: two real `loreforge dialogues generate` processes on one
project split the work (each dialogue made once, one call each), and a genre–audience question run killed with
SIGKILL continues where it stopped when run again — nothing asked or stored twice. The fake LLM runs as its own
process (`mode_responder`)."""

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

import pytest

from loreforge.service import Service
from loreforge.service.demo import example_documents
from loreforge.settings import AppConfig

TESTS = Path(__file__).resolve().parent
EXE = Path(sys.executable).parent / "loreforge"


@pytest.fixture()
def llm_server() -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, str(TESTS / "fake_llm.py"), "--port", "0", "--latency", "0.2", "--responder",
                             "mode_responder:respond"], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(TESTS)})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("READY"), line
    yield f"http://127.0.0.1:{line.split()[1]}"
    proc.terminate()
    proc.wait(10)


def _requests(root: str) -> int:
    with urllib.request.urlopen(root + "/_stats", timeout=10) as reply:
        return int(json.loads(reply.read())["requests"])


def _project(home: Path, root: str) -> Service:
    svc = Service(AppConfig.from_env(home))
    svc.create_project("p")
    for key, value in {"split.min_length": 100, "split.max_length": 260, "llm.concurrency": 2}.items():
        svc.set_setting("p", key, value)
    svc.ingest("p", [d for d in example_documents() if d.suffix == ".md"])
    svc.add_model("p", "custom", "fake-model", name="fake", base_url=root + "/v1")
    return svc


def _db(home: Path, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    with sqlite3.connect(home / "loreforge.db") as conn:
        return conn.execute(sql).fetchall()


def test_two_processes_split_the_dialogues(tmp_path: Path, llm_server: str) -> None:
    home = tmp_path / "home"
    svc = _project(home, llm_server)
    for chunk in svc.list_chunks("p", page_size=8).items[:8]:
        svc.add_question("p", chunk.id, f"第 {chunk.id} 块讲了什么？")
    svc.close()
    before = _requests(llm_server)
    env = {**os.environ, "LOREFORGE_HOME": str(home)}
    procs = [subprocess.Popen([str(EXE), "dialogues", "generate", "p"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert _requests(llm_server) - before == 8  # one call per dialogue, by one of the two processes
    rows = _db(home, "SELECT question_id FROM dataset_items WHERE kind = 'dialogue'")
    assert len(rows) == len(set(rows)) == 8
    jobs = _db(home, "SELECT done, failed, skipped, total FROM jobs WHERE kind = 'dialogues'")
    assert sum(d for d, _f, _s, _t in jobs) == 8 and all(d + f + s == t for d, f, s, t in jobs)


def test_sigkilled_ga_questions_continue_without_duplicates(tmp_path: Path, llm_server: str) -> None:
    home = tmp_path / "home"
    svc = _project(home, llm_server)
    svc.set_setting("p", "llm.concurrency", 1)
    assert svc.generate_ga_pairs("p").status == "completed"
    chunks = svc.list_chunks("p", page_size=1000).total
    svc.close()
    proc = subprocess.Popen([str(EXE), "--home", str(home), "questions", "generate", "p"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _db(home, "SELECT count(DISTINCT chunk_id) FROM questions")[0][0] < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    done_before = _db(home, "SELECT count(DISTINCT chunk_id) FROM questions")[0][0]
    assert 2 <= done_before < chunks
    before = _requests(llm_server)
    rerun = subprocess.run([str(EXE), "--home", str(home), "questions", "generate", "p"], capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert _requests(llm_server) - before == chunks - done_before  # only the chunks not done are asked (one call each)
    rows = _db(home, "SELECT chunk_id, norm_text, ga_pair_id FROM questions")
    assert len(rows) == len(set(rows)) and {r[2] for r in rows} == set(range(1, 6))
    assert _db(home, "SELECT count(DISTINCT chunk_id) FROM questions")[0][0] == chunks
