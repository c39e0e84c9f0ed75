"""Two real worker processes on one project split the work between them: each item is generated once, LLM
calls equal items, nothing is stored twice — on SQLite and on PostgreSQL (CI starts a server and sets
LOREFORGE_TEST_DATABASE_URL; elsewhere the PostgreSQL case is skipped). The fake LLM runs as its own process
and counts the requests it served. Uses the example documents that ship with LoreForge."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from loreforge.service import Service
from loreforge.service.demo import example_documents
from loreforge.settings import AppConfig
from loreforge.store.models import Chunk, DatasetItem, Job, JobItem, Question

TESTS = Path(__file__).resolve().parent
EXE = Path(sys.executable).parent / "loreforge"
PG = os.environ.get("LOREFORGE_TEST_DATABASE_URL")


@pytest.fixture()
def llm_server() -> Iterator[str]:
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    proc = subprocess.Popen(
        [sys.executable, str(TESTS / "fake_llm.py"), "--port", "0", "--latency", "0.2", "--responder", "qa_responder:respond"],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("READY"), line
    yield f"http://127.0.0.1:{line.split()[1]}"
    proc.terminate()
    proc.wait(10)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'home' / 'loreforge.db'}"
        return
    if not PG:
        pytest.skip("no PostgreSQL server (set LOREFORGE_TEST_DATABASE_URL; CI does)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"lf_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _requests(root: str) -> int:
    with urllib.request.urlopen(root + "/_stats", timeout=10) as reply:
        return int(json.loads(reply.read())["requests"])


def _why(svc: Service, root: str) -> str:
    """What to look at when a chunk was asked twice: each job's counts, the LLM calls that failed, the items that
    did not end done, and the prompts the fake server saw more than once."""
    import collections

    from loreforge.store.models import LLMCall

    with svc.db.session() as s:
        jobs = [(j.id, j.status, j.done, j.failed, j.skipped) for j in s.scalars(select(Job))]
        errors = [(c.job_id, c.error) for c in s.scalars(select(LLMCall).where(LLMCall.status != "ok"))]
        items = [(i.job_id, i.item_key, i.status, i.error) for i in s.scalars(select(JobItem).where(JobItem.status != "done"))]
    with urllib.request.urlopen(root + "/_requests", timeout=10) as reply:
        asked = collections.Counter(str(r["messages"][-1]["content"])[-60:] for r in json.loads(reply.read()) if r.get("messages"))
    return f"jobs {jobs}; failed calls {errors}; items not done {items}; asked twice {[p for p, n in asked.items() if n > 1]}"


def _both(home: Path, url: str, *args: str) -> list[subprocess.CompletedProcess[str]]:
    """Start two `loreforge` processes with the same command at once; wait for both."""
    env = {**os.environ, "LOREFORGE_DATABASE_URL": url, "LOREFORGE_HOME": str(home)}
    procs = [subprocess.Popen([str(EXE), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=180)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


def test_two_processes_split_the_work(tmp_path: Path, database_url: str, llm_server: str) -> None:
    home = tmp_path / "home"
    svc = Service(AppConfig(home=home, database_url=database_url))
    svc.create_project("p")
    svc.set_setting("p", "split.min_length", 100)
    svc.set_setting("p", "split.max_length", 220)
    svc.set_setting("p", "llm.concurrency", 2)
    svc.ingest("p", example_documents())
    svc.add_model("p", "custom", "fake-model", name="fake", base_url=llm_server + "/v1")
    with svc.db.session() as s:
        chunks = s.scalar(select(func.count()).select_from(Chunk)) or 0
    assert chunks >= 10

    before = _requests(llm_server)
    runs = _both(home, database_url, "questions", "generate", "p")
    assert all(r.returncode in (0, 3) for r in runs), [r.stderr for r in runs]
    asked = _requests(llm_server) - before
    with svc.db.session() as s:
        jobs = list(s.scalars(select(Job).where(Job.kind == "questions")))
        pairs = s.execute(select(Question.chunk_id, Question.norm_text)).all()
    assert asked == chunks, f"{asked} question calls for {chunks} chunks"  # each chunk asked once, by one process
    assert len(pairs) == len(set(pairs)) > 0  # no question stored twice
    assert sum(j.done + j.failed for j in jobs) == chunks  # every chunk worked by exactly one of the two jobs
    assert all(j.total == j.done + j.failed + j.skipped for j in jobs)  # what one left, the other did (or had done)
    with svc.db.session() as s:
        reasons = list(s.scalars(select(JobItem.error).where(JobItem.status == "skipped")))
    assert all(re.fullmatch(r"(done by|taken|job \d+ is working on it).*", r or "") for r in reasons), reasons
    assert all(j.status in ("completed", "completed_with_failures") for j in jobs)

    before = _requests(llm_server)
    runs = _both(home, database_url, "answers", "generate", "p")
    assert all(r.returncode in (0, 3) for r in runs), [r.stderr for r in runs]
    calls = _requests(llm_server) - before
    with svc.db.session() as s:
        answered_chunks = s.scalar(select(func.count(func.distinct(Question.chunk_id)))) or 0
        items = s.scalar(select(func.count()).select_from(DatasetItem)) or 0
        distinct = s.scalar(select(func.count(func.distinct(DatasetItem.question_id)))) or 0
        questions = s.scalar(select(func.count()).select_from(Question)) or 0
    assert calls == answered_chunks, f"{calls} answer calls for {answered_chunks} chunks"  # batched: one per chunk
    assert items == distinct == questions  # one item per question, none twice
    svc.close()


def test_five_parallel_rest_requests_and_a_cli_split_the_work(tmp_path: Path, llm_server: str) -> None:
    """Five generate requests at once to one server (each a background job) plus a CLI process on the same
    store: each chunk is asked once, no question is stored twice."""
    from concurrent.futures import ThreadPoolExecutor

    from fastapi.testclient import TestClient

    from loreforge.web import create_app

    home = tmp_path / "home"
    url = f"sqlite:///{home / 'loreforge.db'}"
    svc = Service(AppConfig(home=home, database_url=url))
    svc.create_project("p")
    svc.set_setting("p", "split.min_length", 100)
    svc.set_setting("p", "split.max_length", 220)
    svc.set_setting("p", "llm.concurrency", 2)
    svc.ingest("p", example_documents())
    svc.add_model("p", "custom", "fake-model", name="fake", base_url=llm_server + "/v1")
    with svc.db.session() as s:
        chunks = s.scalar(select(func.count()).select_from(Chunk)) or 0
    before = _requests(llm_server)
    env = {**os.environ, "LOREFORGE_DATABASE_URL": url, "LOREFORGE_HOME": str(home)}
    cli = subprocess.Popen([str(EXE), "questions", "generate", "p"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=env)
    with TestClient(create_app(svc)) as client:
        with ThreadPoolExecutor(5) as pool:
            replies = list(pool.map(lambda _: client.post("/api/projects/p/questions/generate", json={}), range(5)))
        assert [r.status_code for r in replies] == [202] * 5, [r.text for r in replies]
        ids = {r.json()["id"] for r in replies}
        assert len(ids) == 5
        deadline = time.monotonic() + 180
        while any(client.get(f"/api/jobs/{i}").json()["status"] in ("queued", "running", "cancelling") for i in ids):
            assert time.monotonic() < deadline, "the REST jobs did not end"
            time.sleep(0.3)
        ended = [client.get(f"/api/jobs/{i}").json() for i in ids]
    _, stderr = cli.communicate(timeout=180)
    assert cli.returncode in (0, 3), stderr
    assert all(j["status"] in ("completed", "completed_with_failures") for j in ended), [(j["status"], j["error"]) for j in ended]
    with svc.db.session() as s:
        pairs = s.execute(select(Question.chunk_id, Question.norm_text)).all()
        jobs = list(s.scalars(select(Job).where(Job.kind == "questions")))
    assert len(jobs) == 6
    assert {j.status for j in jobs} <= {"completed", "completed_with_failures"}, [(j.status, j.error) for j in jobs]  # the CLI's too
    # Each chunk is asked once among six jobs in two processes — or again by a job that began after it failed (a
    # chunk whose questions were all near-duplicates of another's stays not done, for the next run to ask).
    again = _asked_again_after_failing(svc)
    assert _requests(llm_server) - before == chunks + again, _why(svc, llm_server)
    assert len(pairs) == len(set(pairs)) > 0
    assert sum(j.done + j.failed for j in jobs) == chunks + again
    svc.close()


def _asked_again_after_failing(svc: Service) -> int:
    """How many times a chunk was worked again by a job that began after it had failed in another; a chunk worked
    twice in any other way fails the test."""
    with svc.db.session() as s:
        began = {j.id: j.started_at for j in s.scalars(select(Job))}
        worked: dict[str, list[JobItem]] = {}
        for item in s.scalars(select(JobItem).where(JobItem.status.in_(("done", "failed"))).order_by(JobItem.updated_at)):
            worked.setdefault(item.item_key, []).append(item)
    again = 0
    for key, attempts in worked.items():
        for before, after in zip(attempts, attempts[1:]):
            assert before.status == "failed" and began[after.job_id] > before.updated_at, (key, [(a.job_id, a.status) for a in attempts])
            again += 1
    return again
