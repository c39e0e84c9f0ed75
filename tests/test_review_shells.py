"""Review and export through the CLI and the REST API (same actions as the service tests)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from conftest import examples
from loreforge.cli import cli
from loreforge.service import Service
from loreforge.web import create_app


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.output


def test_review_cli(home: Path, tmp_path: Path) -> None:
    run("project", "create", "p")
    run("ingest", "p", str(examples()[1]))
    run("questions", "generate", "p")
    run("answers", "generate", "p")
    items = json.loads(run("dataset", "list", "p", "--json")[1])["items"]
    ids = [i["id"] for i in items]
    assert "source chunk" in run("dataset", "show", "p", str(ids[0]))[1]
    assert "3 of 3 matching items confirmed" in run("dataset", "confirm", "p", "--ids", ",".join(map(str, ids[:3])))[1]
    assert "1 of 1 matching items unconfirmed" in run("dataset", "unconfirm", "p", "--confirmed", "--ids", str(ids[0]))[1]
    assert run("dataset", "rate", "p", str(ids[1]), "4")[0] == 0
    assert run("dataset", "edit", "p", str(ids[1]), "--answer", "经调整净利润增长48.7%。")[0] == 0
    code, out = run("dataset", "check", "p")
    assert code == 0 and "48.7%" in out and "failed the grounding check" in out
    assert "duplicates" in run("dataset", "dedup", "p")[1]
    code, out = run("export", "p", "--out", str(tmp_path / "lf"))
    assert code == 0 and str((tmp_path / "lf").resolve()) in out and "train 2" in out
    code, out = run("export", "p", "--out", str(tmp_path / "lf"))
    assert code == 1 and "--force" in out
    code, out = run("export", "p", "--out", str(tmp_path / "csv"), "--format", "custom", "--file-type", "csv", "--all",
                    "--field", "question=prompt", "--field", "answer=completion")
    assert code == 0
    header = (tmp_path / "csv" / "train.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("prompt,completion")
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    code, out = run("dataset", "import", "p", str(bad))
    assert code == 1 and "bad.csv" in out
    code, out = run("dataset", "import", "p", str(tmp_path / "csv" / "train.csv"), "--format", "custom",
                    "--map", "question=prompt", "--map", "answer=completion")
    with (tmp_path / "csv" / "train.csv").open(encoding="utf-8", newline="") as f:
        exported = len(list(csv.DictReader(f)))
    assert 0 < exported <= len(ids)  # the train split (a share of the items is held out for validation)
    assert code == 0 and f"Imported {exported} items" in out
    assert "Deleted 1" in run("dataset", "delete", "p", "--ids", str(ids[-1]), "--yes")[1]


@pytest.fixture()
def client(svc: Service) -> Iterator[TestClient]:
    with TestClient(create_app(svc)) as c:
        yield c


def test_review_api(client: TestClient, svc: Service, tmp_path: Path) -> None:
    svc.create_project("p")
    svc.ingest("p", examples())
    svc.generate_questions("p")
    svc.generate_answers("p")
    page = client.get("/api/projects/p/dataset", params={"page_size": 5}).json()
    first = page["items"][0]["id"]
    assert client.get(f"/api/projects/p/dataset/{first}").json()["source_text"]
    assert client.patch(f"/api/projects/p/dataset/{first}", json={"note": "ok", "labels": ["a"]}).json()["labels"] == ["a"]
    assert client.put(f"/api/projects/p/dataset/{first}/rating", json={"rating": 5}).json()["rating"] == 5
    assert client.put(f"/api/projects/p/dataset/{first}/rating", json={"rating": 9}).status_code == 400
    assert client.post("/api/projects/p/dataset/confirm", json={"filter": {}, "confirmed": True}).json()["changed"] == page["total"]
    assert client.get("/api/projects/p/dataset", params={"confirmed": True}).json()["total"] == page["total"]
    two = [item["id"] for item in page["items"][:2]]
    picked = client.get("/api/projects/p/dataset", params=[("ids", two[0]), ("ids", two[1])]).json()
    assert sorted(item["id"] for item in picked["items"]) == sorted(two)
    assert client.post("/api/projects/p/dataset/check", json={}).json()["checked"] == page["total"]
    assert client.post("/api/projects/p/dataset/dedup", json={}).json()["duplicates"] == 0
    score = client.post("/api/projects/p/dataset/score", json={})
    assert score.status_code == 400 and "needs an LLM" in score.json()["message"]
    out = client.post("/api/projects/p/export", json={"out": str(tmp_path / "x"), "options": {"val_size": 0.3}}).json()
    assert Path(out["folder"], "dataset_info.json").exists() and out["counts"]["total"] == page["total"]
    upload = client.post("/api/projects/p/dataset/import", files={"file": ("mine.jsonl", b'{"instruction": "q", "output": "a"}\n{bad\n')})
    assert upload.status_code == 422 and "mine.jsonl" in upload.json()["message"] and "line 2" in upload.json()["message"]
    kept = client.post("/api/projects/p/dataset/import", files={"file": ("mine.jsonl", b'{"instruction": "q", "output": "a"}\n{bad\n')},
                       data={"keep_good_lines": "true"}).json()
    assert kept["imported"] == 1 and kept["skipped"] == 1
    gone = client.post("/api/projects/p/dataset/delete", json={"filter": {"ids": [first]}}).json()
    assert gone["changed"] == 1


def test_score_cli_min_score_auto_confirms(home: Path) -> None:
    from fake_llm import FakeLLM, Reply

    def judge(req: object) -> Reply:
        answer = req.prompt.split("答案：")[-1]  # type: ignore[attr-defined]
        s = 5 if "亿" in answer else 1
        return Reply(text=json.dumps({"question_quality": s, "accuracy": s, "relevance": s, "consistency": s, "reason": "r"}))

    with FakeLLM(responder=judge) as fake:
        run("project", "create", "p")
        run("ingest", "p", str(examples()[1]))
        run("questions", "generate", "p")
        run("answers", "generate", "p")
        run("models", "add", "p", "--provider", "custom", "--model", "judge", "--base-url", fake.base_url)
        code, out = run("dataset", "score", "p", "--min-score", "4")
        assert code == 0 and "completed" in out
        items = json.loads(run("dataset", "list", "p", "--json", "--page-size", "500")[1])["items"]
        assert items and all(i["confirmed"] == (i["score"] == 5.0) for i in items)
        high = json.loads(run("dataset", "list", "p", "--json", "--min-score", "4.5")[1])["total"]
        assert high == sum(i["score"] == 5.0 for i in items)
