"""The generation API: model configs (keys in, never out), prompts, tags, questions and answers as
background jobs (202), job progress as server-sent events, retry, usage."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from fake_llm import FakeLLM
from fastapi.testclient import TestClient
from qa_responder import respond

from conftest import examples
from loreforge.service import Service
from loreforge.web import create_app

KEY = "sk-api-SECRET-abcdef123456"


@pytest.fixture()
def client(svc: Service) -> Iterator[TestClient]:
    with TestClient(create_app(svc)) as c:
        yield c


def _wait(client: TestClient, job_id: int) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] not in ("queued", "running", "cancelling"):
            return job
        time.sleep(0.1)
    raise AssertionError("job did not finish")


def test_generation_over_http(client: TestClient) -> None:
    with FakeLLM(responder=respond, api_key=KEY) as fake:
        client.post("/api/projects", json={"name": "p"})
        files = [("files", ("xinghe.md", examples()[1].read_bytes(), "text/markdown"))]
        client.post("/api/projects/p/documents", files=files)
        added = client.post("/api/projects/p/models", json={"provider": "custom", "model": "fake-model", "name": "fake", "base_url": fake.base_url, "api_key": KEY, "options": {"temperature": 0.2}})
        assert added.status_code == 201 and KEY not in added.text
        assert KEY not in client.get("/api/projects/p/models").text
        bad = client.post("/api/projects/p/models", json={"provider": "nope", "model": "x"})
        assert bad.status_code == 422 and "Unknown provider" in bad.json()["message"]
        assert client.post("/api/projects/p/models/fake/test").json()["ok"] is True
        assert client.get("/api/projects/p/models/fake/remote").json() == ["fake-model", "fake-small"]
        assert client.get("/api/presets").json()[0]["name"] == "openai"

        tree = client.post("/api/projects/p/tags/build", json={}).json()
        assert [t["label"] for t in tree] == ["财务", "业务"]
        started = client.post("/api/projects/p/questions/generate", json={})
        assert started.status_code == 202
        job = _wait(client, started.json()["id"])
        assert job["status"] == "completed"
        events = client.get(f"/api/jobs/{job['id']}/events").text
        assert "event: end" in events and '"status": "completed"' in events
        questions = client.get("/api/projects/p/questions").json()
        assert questions["total"] > 0
        qid = questions["items"][0]["id"]
        assert client.patch(f"/api/projects/p/questions/{qid}", json={"tag": "利润"}).json()["tag"] == "利润"
        answers_job = _wait(client, client.post("/api/projects/p/answers/generate", json={}).json()["id"])
        assert answers_job["done"] == answers_job["total"] > 0
        pairs = client.get("/api/projects/p/dataset").json()
        assert pairs["total"] == questions["total"]
        fake.script("更好的答案：73.7%。")
        better = client.post(f"/api/projects/p/answers/{pairs['items'][0]['id']}/optimize", json={"advice": "给出准确数字"}).json()
        assert better["answer"] == "更好的答案：73.7%。"
        usage = client.get("/api/projects/p/usage").json()
        assert {r["key"] for r in usage["by_stage"]} >= {"questions", "answers", "tags", "optimize"}
        jobs = client.get("/api/jobs", params={"project": "p"}).json()
        assert len(jobs) == 2 and all(KEY not in json.dumps(j) for j in jobs)


def test_prompt_overrides_over_http(client: TestClient) -> None:
    client.post("/api/projects", json={"name": "p"})
    shown = client.get("/api/projects/p/prompts/questions").json()
    assert shown["variables"] == ["chunk", "n", "tags"] and not shown["overridden"]
    bad = client.put("/api/projects/p/prompts/questions", json={"text": "Ask {{n}} questions."})
    assert bad.status_code == 422 and "chunk" in bad.json()["message"]
    good = client.put("/api/projects/p/prompts/questions", json={"text": "{{chunk}}\nAsk {{n}} questions; tags: {{tags}}"}).json()
    assert good["overridden"] and good["hash"] != shown["hash"]
    assert client.delete("/api/projects/p/prompts/questions").json()["hash"] == shown["hash"]
