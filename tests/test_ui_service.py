"""What the service layer gained for the web UI, through the Python API and the REST API: the chunk and question
filters (in the database, and as the selection of a generation job), dataset sort and star filter, confirm and
delete by filter in one statement, active jobs, usage latency and hours, tokens per project, the shipped prompt
beside an override."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from loreforge.errors import NotFound, UserError
from loreforge.filters import ChunkFilter, DatasetFilter, QuestionFilter
from loreforge.service import Service
from loreforge.web.app import create_app
from tests.conftest import examples, small_chunks


@pytest.fixture()
def project(svc: Service) -> Iterator[str]:
    svc.create_project("sel")
    small_chunks(svc, "sel")
    svc.ingest("sel", examples())
    yield "sel"


def test_chunk_filters_run_in_the_database_and_pick_a_jobs_chunks(svc: Service, project: str) -> None:
    every = svc.list_chunks(project, page_size=1000).items
    sizes = sorted(c.size for c in every)
    low, high = sizes[len(sizes) // 4], sizes[3 * len(sizes) // 4]
    ranged = svc.list_chunks(project, min_size=low, max_size=high, page_size=1000)
    assert ranged.total == len([c for c in every if low <= c.size <= high]) and all(low <= c.size <= high for c in ranged.items)
    assert svc.list_chunks(project, has_questions=True).total == 0
    doc = every[0].document_id
    job = svc.generate_questions(project, chunk_filter=ChunkFilter(document_id=doc, min_size=low))
    wanted = [c for c in every if c.document_id == doc and c.size >= low]
    assert job.total == len(wanted) and job.params["filter"] == {"document_id": doc, "min_size": low}
    asked = svc.list_chunks(project, has_questions=True, page_size=1000)
    assert {c.id for c in asked.items} == {c.id for c in wanted}
    assert svc.list_chunks(project, has_questions=False).total == len(every) - len(wanted)


def test_question_filter_picks_the_questions_a_job_answers(svc: Service, project: str) -> None:
    svc.build_tags(project)
    svc.generate_questions(project)
    everything = svc.list_questions(project, page_size=1000)
    untagged = svc.list_questions(project, tag="", page_size=1000)
    assert untagged.total == len([q for q in everything.items if not q.tag])
    chunk = everything.items[0].chunk_id
    job = svc.generate_answers(project, question_filter=QuestionFilter(chunk_id=chunk))
    assert job.params["filter"] == {"chunk_id": chunk}
    assert svc.list_questions(project, answered=True).total == len([q for q in everything.items if q.chunk_id == chunk])


def test_dataset_sort_stars_and_one_statement_batches(svc: Service, project: str) -> None:
    svc.generate_questions(project)
    svc.generate_answers(project)
    items = svc.list_dataset(project, page_size=1000).items
    for stars, item in zip((5, 1, 3), items):
        svc.rate_dataset_item(project, item.id, stars)
    assert [i.rating for i in svc.list_dataset(project, sort="-rating", page_size=3).items] == [5, 3, 1]
    assert [i.id for i in svc.list_dataset(project, sort="-id").items] == sorted((i.id for i in items), reverse=True)
    assert svc.list_dataset(project, DatasetFilter(min_rating=3)).total == 2
    with pytest.raises(UserError, match="Unknown sort order"):
        svc.list_dataset(project, sort="question")
    result = svc.confirm_dataset(project, DatasetFilter(min_rating=1))
    assert (result.matched, result.changed) == (3, 3)
    again = svc.confirm_dataset(project, DatasetFilter(min_rating=1))
    assert (again.matched, again.changed) == (3, 0)
    with pytest.raises(NotFound):
        svc.confirm_dataset(project, DatasetFilter(ids=[items[0].id, 999_999]))
    assert svc.delete_dataset(project, DatasetFilter(confirmed=True)).changed == 3
    assert svc.list_dataset(project).total == len(items) - 3


def test_active_jobs_usage_tokens_and_the_shipped_prompt(svc: Service, project: str) -> None:
    from datetime import datetime, timezone

    from loreforge.store.models import LLMCall

    svc.generate_questions(project)
    assert svc.list_jobs(project, active=True) == [] and svc.list_jobs(project)
    pid = svc.get_project(project).id
    with svc.db.session() as session:
        for hour, latency in ((9, 100.0), (9, 300.0), (11, 50.0)):
            session.add(LLMCall(project_id=pid, stage="questions", provider="custom", model="m", prompt_name="questions",
                                prompt_hash="h", tokens_in=10, tokens_out=5, latency_ms=latency, status="ok",
                                created_at=datetime(2026, 1, 2, hour, 30, tzinfo=timezone.utc)))
    usage = svc.usage(project)
    assert [(p.hour, p.calls, p.tokens) for p in usage.by_hour] == [("2026-01-02T09:00Z", 2, 30), ("2026-01-02T11:00Z", 1, 15)]
    assert usage.by_model[0].latency_ms == 150.0
    assert svc.get_project(project).counts.tokens == 45
    assert svc.show_prompt(project, "questions").shipped_text is None
    changed = svc.show_prompt(project, "questions").text + "\nBe brief."
    svc.set_prompt(project, "questions", changed)
    view = svc.show_prompt(project, "questions")
    assert view.text == changed and view.shipped_text is not None and view.shipped_text != changed


def test_the_rest_api_takes_the_new_filters(svc: Service, project: str) -> None:
    client = TestClient(create_app(svc))
    pid = svc.get_project(project).id
    total = client.get(f"/api/projects/{pid}/chunks", params={"min_size": 0, "has_questions": "false"}).json()["total"]
    assert total == svc.list_chunks(project).total
    job = client.post(f"/api/projects/{pid}/questions/generate", json={"filter": {"max_size": 10**6}}).json()
    assert job["params"]["filter"] == {"max_size": 10**6}
    assert client.get("/api/jobs", params={"active": "true"}).status_code == 200
    answers = client.post(f"/api/projects/{pid}/answers/generate", json={"filter": {"tag": ""}})
    assert answers.status_code == 202 and answers.json()["params"]["filter"] == {"tag": ""}
    assert client.get(f"/api/projects/{pid}/dataset", params={"sort": "-score", "min_rating": 2}).status_code == 200
    assert client.get(f"/api/projects/{pid}/dataset", params={"min_rating": 9}).status_code == 422
