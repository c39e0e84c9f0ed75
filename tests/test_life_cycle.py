"""The one life cycle of long work: claims in the store (compare-and-set, take-over of a lost job's items),
honest endings and the CLI's exit codes, the per-question fallback of batched answers, the awaitable service
and its blocking twins inside a running event loop, and one event format for every kind of job."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from fake_llm import FakeLLM, Recorded, Reply
from loreforge import jobs as lifecycle
from loreforge.cli import cli
from loreforge.service import Service
from loreforge.service.demo import example_documents
from loreforge.store.models import Job, WorkClaim, utcnow

import qa_responder


def _job(svc: Service, project_id: int, kind: str = "questions", status: str = "running") -> int:
    with svc.db.session() as s:
        job = Job(project_id=project_id, kind=kind, status=status, params={}, total=0, progress={},
                  pid=os.getpid(), host=lifecycle.this_host(), heartbeat_at=utcnow())
        s.add(job)
        s.flush()
        return job.id


def test_claims_split_items_and_take_over_a_lost_job(svc: Service, project: str) -> None:
    pid = svc.get_project(project).id
    a, b = _job(svc, pid), _job(svc, pid)
    with svc.db.session() as s:
        got = lifecycle.claim(s, a, pid, "questions", ["k1", "k2"])
    assert sorted(got.mine) == ["k1", "k2"] and not got.elsewhere
    with svc.db.session() as s:
        got = lifecycle.claim(s, b, pid, "questions", ["k1", "k2", "k3"])
    assert got.mine == ["k3"] and got.elsewhere == {"k1": f"job {a} is working on it", "k2": f"job {a} is working on it"}
    with svc.db.session() as s:  # a finishes k1; its worker is then lost (silent past the stale limit)
        assert lifecycle.settle(s, a, pid, "questions", "k1", "done")
        job = s.get(Job, a)
        job.heartbeat_at = utcnow() - timedelta(seconds=lifecycle.STALE_AFTER_S + 5)
        job.host = "another-machine"  # its pid means nothing here: only the silence counts
    with svc.db.session() as s:
        got = lifecycle.claim(s, b, pid, "questions", ["k1", "k2"])
    assert got.mine == ["k2"] and got.elsewhere == {"k1": f"done by job {a}"}  # done work is never redone
    with svc.db.session() as s:  # the lost job comes back: it no longer holds k2, so it stores nothing for it
        assert not lifecycle.settle(s, a, pid, "questions", "k2", "done")
        assert lifecycle.settle(s, b, pid, "questions", "k2", "done")
    with svc.db.session() as s:
        assert lifecycle.done_keys(s, pid, "questions") == {"k1", "k2", "k3"} - {"k3"}
        c = _job(svc, pid)
        forced = lifecycle.claim(s, c, pid, "questions", ["k1"], retake_done_before=utcnow() + timedelta(seconds=1))
    assert forced.mine == ["k1"]  # --force: done before this job began, so done again


def test_finish_releases_unfinished_claims(svc: Service, project: str) -> None:
    pid = svc.get_project(project).id
    a = _job(svc, pid)
    with svc.db.session() as s:
        lifecycle.claim(s, a, pid, "answers", ["x"])
    assert lifecycle.JobControl(svc.db, a).finish(cancelled=True) == "cancelled"
    with svc.db.session() as s:
        row = s.query(WorkClaim).filter_by(item_key="x").one()
        assert row.status == "pending"  # another job takes it at once
        b = _job(svc, pid, kind="answers")
        assert lifecycle.claim(s, b, pid, "answers", ["x"]).mine == ["x"]


def test_start_is_a_compare_and_set(svc: Service, project: str) -> None:
    from loreforge.errors import Conflict

    job_id = _job(svc, svc.get_project(project).id, status="queued")
    lifecycle.JobControl(svc.db, job_id).start()
    with pytest.raises(Conflict, match="another process runs it"):
        lifecycle.JobControl(svc.db, job_id).start()


def test_a_dead_workers_watcher_leaves_a_resumed_job_alone(svc: Service, project: str) -> None:
    """A worker is killed and its job resumed at once (requeued, then started here) before the watcher of the dead
    worker wakes up: the watcher must not close the job it no longer owns."""
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    job_id = _job(svc, svc.get_project(project).id)
    with svc.db.session() as s:
        job = s.get(Job, job_id)
        job.pid = dead.pid
        lifecycle.requeue(s, job)  # its pid is dead: interrupted, so it may run again
    assert not lifecycle.close_if_active(svc.db, job_id, "failed", "exited", launched=dead.pid)  # queued for a resume
    lifecycle.JobControl(svc.db, job_id).start()  # the resume runs here
    assert not lifecycle.close_if_active(svc.db, job_id, "failed", "exited", launched=dead.pid)  # held by a live process
    with svc.db.session() as s:
        assert s.get(Job, job_id).status == "running"
        s.get(Job, job_id).pid = dead.pid  # the worker that died still held it: closed
    assert lifecycle.close_if_active(svc.db, job_id, "failed", "exited", launched=dead.pid)


def _offline_project(svc: Service) -> str:
    svc.create_project("ex")
    svc.ingest("ex", example_documents())
    return "ex"


def test_async_core_and_sync_twins_inside_a_running_loop(svc: Service) -> None:
    name = _offline_project(svc)

    async def notebook() -> tuple[str, str, int]:
        awaited = await svc.agenerate_questions(name, provider="extractive")
        blocking = svc.generate_answers(name, provider="extractive")  # a plain call from inside the loop
        tags = await svc.abuild_tags(name, provider="extractive")
        return awaited.status, blocking.status, len(tags)

    questions, answers, tags = asyncio.run(notebook())
    assert questions == answers == "completed" and tags > 0
    assert svc.list_dataset(name).total == svc.list_questions(name).total > 0


def _no_batched_json(req: Recorded) -> Reply:
    if '"answers"' in req.prompt:
        return Reply(text="Sorry, here are the answers in prose, not JSON.")
    return qa_responder.respond(req)


def test_batched_answers_that_do_not_parse_fall_back_to_per_question(svc: Service, project: str) -> None:
    with FakeLLM(responder=_no_batched_json) as fake:
        svc.ingest(project, example_documents()[:1])
        svc.add_model(project, "custom", "fake-model", name="fake", base_url=fake.base_url)
        svc.generate_questions(project)
        job = svc.generate_answers(project)
    questions = svc.list_questions(project, page_size=1000).items
    chunks = {q.chunk_id for q in questions}
    assert job.status == "completed" and job.done == len(chunks)
    assert job.progress["counts"]["fell_back"] == len(chunks)
    assert f"{len(chunks)} chunk(s) fell back to per-question answering" in job.summary
    items = svc.list_dataset(project, page_size=1000).items
    assert len(items) == len(questions) and all(i.answer == "单个问题的答案。" for i in items)


def test_honest_endings_and_exit_codes(svc: Service, project: str, home: Path) -> None:
    runner = CliRunner()
    def questions_only(req: Recorded) -> Reply:  # answers come back empty
        asks = qa_responder.N_ZH.search(req.prompt) or qa_responder.N_EN.search(req.prompt)
        return qa_responder.respond(req) if asks else Reply(text="")

    with FakeLLM(responder=questions_only) as fake:
        svc.ingest(project, example_documents()[:1])
        svc.add_model(project, "custom", "fake-model", name="fake", base_url=fake.base_url)
        ok = runner.invoke(cli, ["--home", str(home), "questions", "generate", project])
        assert ok.exit_code == 0, ok.output
        failed = runner.invoke(cli, ["--home", str(home), "answers", "generate", project, "--json"])
    view = json.loads(failed.stdout)
    assert failed.exit_code == 3 and view["status"] == "completed_with_failures"  # every item failed: not 0
    assert view["failed"] == view["total"] > 0 and all(f["error"] for f in view["failures"])
    again = runner.invoke(cli, ["--home", str(home), "questions", "generate", project])
    assert again.exit_code == 0 and "completed (0 done, 0 failed, of 0)" in again.output  # nothing left to do


def test_one_event_format_for_every_kind(svc: Service) -> None:
    name = _offline_project(svc)
    job = svc.generate_questions(name, provider="extractive")
    events = []

    async def read() -> None:
        async for chunk in lifecycle.job_events(lambda: svc.get_job(job.id), poll_s=0.01):
            events.append(chunk)

    asyncio.run(read())
    assert [e.split("\n", 1)[0] for e in events] == ["event: progress", "event: end"]
    data = json.loads(events[-1].split("data: ", 1)[1])
    assert set(data) == {*lifecycle.events.EVENT_FIELDS, "summary"} and data["kind"] == "questions"
    assert data["status"] == "completed" and data["done"] == data["total"] > 0


def test_an_item_that_fails_is_retried_by_the_next_run_not_by_a_job_beside_it(svc: Service, project: str) -> None:
    """Jobs running side by side split one pass: an item that fails in one (say, every question it got was a
    near-duplicate) is not asked again by another that was already running — the next run, or `jobs retry`, asks."""
    pid = svc.get_project(project).id
    a, beside = _job(svc, pid), _job(svc, pid)
    with svc.db.session() as s:
        for job_id in (a, beside):
            s.get(Job, job_id).started_at = utcnow()
    with svc.db.session() as s:
        assert lifecycle.claim(s, a, pid, "questions", ["k"]).mine == ["k"]
        assert lifecycle.settle(s, a, pid, "questions", "k", "failed")
    with svc.db.session() as s:
        got = lifecycle.claim(s, beside, pid, "questions", ["k"])
    assert got.mine == [] and got.elsewhere["k"].startswith(f"failed in job {a} while this job ran")
    later = _job(svc, pid)
    with svc.db.session() as s:
        s.get(Job, later).started_at = utcnow()
    with svc.db.session() as s:
        assert lifecycle.claim(s, later, pid, "questions", ["k"]).mine == ["k"]
