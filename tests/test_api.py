"""The REST API over real HTTP semantics (FastAPI TestClient): same actions, same errors as the CLI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from conftest import examples
from loreforge.service import Service
from loreforge.web import create_app


@pytest.fixture()
def client(svc: Service) -> Iterator[TestClient]:
    with TestClient(create_app(svc)) as c:
        yield c


def test_openapi_and_docs(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/projects/{project}/chunks" in paths
    assert client.get("/api/version").json()["version"]


def test_projects_and_settings(client: TestClient) -> None:
    assert client.post("/api/projects", json={"name": "p"}).status_code == 201
    dup = client.post("/api/projects", json={"name": "p"})
    assert dup.status_code == 409 and "already exists" in dup.json()["message"]
    assert client.get("/api/projects").json()[0]["name"] == "p"
    assert client.patch("/api/projects/p", json={"name": "q"}).json()["name"] == "q"
    missing = client.get("/api/projects/p")
    assert missing.status_code == 404 and missing.json()["error"] == "NotFound"
    ok = client.put("/api/projects/q/settings/split.max_length", json={"value": 1700})
    assert ok.status_code == 200 and ok.json()["source"] == "project"
    bad = client.put("/api/projects/q/settings/split.max_length", json={"value": 5})
    assert bad.status_code == 422 and "split.max_length" in bad.json()["message"]
    assert client.delete("/api/projects/q/settings/split.max_length").json()["source"] == "default"
    assert client.delete("/api/projects/q").json()["deleted"] == 1


def test_upload_split_toc_chunks(client: TestClient) -> None:
    client.post("/api/projects", json={"name": "p"})
    report_md, faq_html = examples()[1], examples()[0]  # written for LoreForge, shipped with it
    files = [
        ("files", ("星河.md", report_md.read_bytes(), "text/markdown")),
        ("files", ("../../escape.html", faq_html.read_bytes(), "text/html")),
        ("files", ("broken.pdf", b"%PDF-1.4 truncated", "application/pdf")),
        ("files", ("again.md", report_md.read_bytes(), "text/markdown")),
    ]
    report = client.post("/api/projects/p/documents", files=files).json()
    assert [i["status"] for i in report["items"]] == ["added", "added", "failed", "duplicate"]
    assert "broken.pdf" in report["items"][2]["error"]
    docs = client.get("/api/projects/p/documents").json()
    assert {d["filename"] for d in docs} == {"星河.md", "../../escape.html"}
    doc_id = docs[0]["id"]
    assert "星河" in client.get(f"/api/projects/p/documents/{doc_id}/text").text
    split = client.post("/api/projects/p/split", json={"document_id": doc_id, "strategy": "fixed", "overrides": {"split.chunk_size": 400, "split.min_length": 100, "split.max_length": 500}}).json()
    assert split["strategy"] == "fixed" and split["stats"]["max"] <= 500
    assert client.get("/api/projects/p/toc").json()["documents"]
    page = client.get("/api/projects/p/chunks", params={"document_id": doc_id, "page_size": 3}).json()
    ids = [c["id"] for c in page["items"]]
    assert client.get(f"/api/projects/p/chunks/{ids[0]}").json()["id"] == ids[0]
    assert client.put(f"/api/projects/p/chunks/{ids[0]}", json={"text": "改过的文本。"}).json()["edited"] is True
    assert client.post("/api/projects/p/chunks/merge", json={"chunk_ids": ids[1:3]}).json()["id"] == ids[1]
    halves = client.post(f"/api/projects/p/chunks/{ids[1]}/split", json={"position": 5}).json()
    assert len(halves) == 2
    assert client.post("/api/projects/p/chunks/delete", json={"chunk_ids": [ids[0]]}).json()["deleted"] == 1
    assert client.delete(f"/api/projects/p/chunks/{halves[1]['id']}").json()["deleted"] == 1
    assert client.delete(f"/api/projects/p/documents/{doc_id}").json()["deleted"] == 1
    assert client.get(f"/api/projects/p/chunks/{ids[0]}").status_code == 404


def test_demo_endpoint(client: TestClient) -> None:
    report = client.post("/api/demo", json={}).json()
    assert report["project"]["name"] == "demo" and report["split"]["stats"]["count"] > 0
