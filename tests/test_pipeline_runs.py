"""`loreforge run` on the one life cycle (issue 12), with the fake LLM and a tiny model: `--until` / `--from`;
running a recipe again skips what is done and makes no LLM call twice; a changed split setting reruns split and
what depends on it, and says so; the summary, the run folder and its log; the CLI and the REST API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fake_llm import FakeLLM
from fastapi.testclient import TestClient
from qa_responder import respond

from loreforge.service import Service
from pipeline_workspace import recipe, tiny_model, write_recipe


def _questions_calls(fake: FakeLLM) -> list[str]:
    return [r.prompt for r in fake.chat_requests() if "questions about the text above" in r.prompt or "个问题" in r.prompt]


def _answer_calls(fake: FakeLLM) -> list[str]:
    return [r.prompt for r in fake.chat_requests() if '"answers"' in r.prompt]


def test_until_and_from_run_part_of_a_recipe(svc: Service, tmp_path: Path) -> None:
    with FakeLLM(responder=respond) as fake:
        path = write_recipe(tmp_path, recipe(fake.base_url, tiny_model(tmp_path)))
        first = svc.run_pipeline(path, until="export")
        assert first.status == "completed", first.error
        assert [s for s in first.stages if first.stages[s].get("status") == "completed"] == [
            "ingest", "split", "tags", "questions", "answers", "review", "export"]
        assert (Path(first.run_dir) / "dataset" / "dataset_info.json").is_file()
        assert first.stages["train"]["last_decision"] == "after --until export"
        calls = len(fake.chat_requests())
        rest = svc.run_pipeline(path, start="train")
        assert rest.status == "completed", rest.error
        assert len(fake.chat_requests()) == calls  # nothing before train ran again
    assert all(rest.stages[s]["status"] == "completed" for s in ("train", "probes", "eval", "report"))
    assert rest.stages["questions"]["last_decision"] == "before --from train"
    folder = Path(rest.run_dir)
    for name in ("summary.md", "summary.json", "pipeline.log", "model/trainer_log.jsonl", "eval/report.md", "eval/report.json"):
        assert (folder / name).is_file(), name
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary == rest.summary and summary["items"]["confirmed"] > 0 and summary["train"]["loss_first"] is not None
    built = {s["name"]: s["probes"] for s in rest.stages["probes"]["result"]["sets"]}
    assert set(built) == {"t-held-out", "t-key-fact"} and built["t-held-out"] > 0
    assert {row["set"] for row in summary["eval"]["sets"]} == {n for n, k in built.items() if k}  # the fake's answers hold no key
    assert all(row["paired"]["n"] == row["tuned"]["n"] for row in summary["eval"]["sets"])
    log = (folder / "pipeline.log").read_text(encoding="utf-8")
    assert "plan: ingest (skip: before --from train)" in log and "train: completed after" in log and "end: completed" in log
    assert svc.get_job(rest.job_id).kind == "pipeline" and svc.get_job(rest.job_id).status == "completed"
    assert len(svc.list_pipelines("p")) == 1  # the same run, continued


def test_rerunning_skips_what_is_done_and_a_changed_split_reruns_only_what_depends_on_it(svc: Service, tmp_path: Path) -> None:
    with FakeLLM(responder=respond) as fake:
        path = write_recipe(tmp_path, recipe(fake.base_url))
        first = svc.run_pipeline(path)
        assert first.status == "completed", first.error
        chunks_before = {c.id: c.text for c in svc.list_chunks("p", page_size=500).items}
        asked = len(_questions_calls(fake))
        assert asked == len(chunks_before) and len(_answer_calls(fake)) == len(chunks_before)

        again = svc.run_pipeline(path)
        assert again.status == "completed"
        assert {s: r["last_decision"] for s, r in again.stages.items() if s not in ("report", "train", "probes", "eval")} == dict.fromkeys(
            ("ingest", "split", "tags", "questions", "answers", "review", "export"), "done before, unchanged")
        assert len(fake.chat_requests()) == asked + len(chunks_before) + 1  # + the tag tree, all from the first run

        changed = svc.run_pipeline(path, ["split.max_length=300", "split.min_length=100"])
        assert changed.status == "completed", changed.error
        decisions = {s: r.get("reason") for s, r in changed.stages.items()}
        assert decisions["split"] == "changed: split.max_length: 400 → 300; split.min_length: 150 → 100"
        assert decisions["questions"] == "after split, tags" and decisions["export"] == "after review"
        assert changed.stages["ingest"]["last_decision"] == "done before, unchanged"
        chunks_after = {c.id: c.text for c in svc.list_chunks("p", page_size=500).items}
        kept = {i for i, t in chunks_after.items() if chunks_before.get(i) == t}
        new_calls = _questions_calls(fake)[asked:]
        assert len(new_calls) == len(chunks_after) - len(kept)  # a kept chunk is never asked again
        assert changed.stages["split"]["result"]["kept_chunks"] == len(kept)
    items = svc.list_dataset("p", page_size=500).items
    assert all(not i.stale for i in items if i.confirmed) and any(i.stale for i in items) == bool(set(chunks_before) - kept)


def test_cli_run_json_and_the_pipeline_commands(home: Path, tmp_path: Path) -> None:
    from loreforge.cli import cli

    runner = CliRunner()
    with FakeLLM(responder=respond) as fake:
        path = write_recipe(tmp_path, recipe(fake.base_url))
        result = runner.invoke(cli, ["run", str(path), "--json"])
        assert result.exit_code == 0, result.output
        view = json.loads(result.stdout)
        assert view["status"] == "completed" and view["summary"]["items"]["confirmed"] > 0
        text = runner.invoke(cli, ["run", str(path)])
        assert text.exit_code == 0 and "Run 't' (project 'p'): completed" in text.output and "QA pairs" in text.output
        assert "· questions skipped: done before, unchanged" in text.stderr
    listed = runner.invoke(cli, ["pipeline", "list", "--json"])
    assert [r["name"] for r in json.loads(listed.stdout)] == ["t"]
    shown = runner.invoke(cli, ["pipeline", "show", str(view["id"])])
    assert shown.exit_code == 0 and "questions" in shown.output and "run folder" in shown.output
    assert runner.invoke(cli, ["pipeline", "cancel", str(view["id"])]).exit_code == 1  # completed: nothing to cancel
    bad = runner.invoke(cli, ["run"])
    assert bad.exit_code == 2 and "Give a RECIPE" in bad.output


def test_quick_form_needs_no_recipe_file(home: Path, tmp_path: Path) -> None:
    """`loreforge run --docs DIR` (offline generation; no --model: the dataset only)."""
    from conftest import examples
    from loreforge.cli import cli

    docs = tmp_path / "docs"
    docs.mkdir()
    for p in examples():
        (docs / p.name).write_bytes(p.read_bytes())
    result = CliRunner().invoke(cli, ["run", "--docs", str(docs), "--name", "quick", "--json"])
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    assert view["project"] == "quick" and view["stages"]["export"]["status"] == "completed"
    assert view["recipe"]["train"] is None and view["recipe"]["generation"]["provider"] == "extractive"


def test_rest_api_runs_a_recipe_in_a_worker_and_confines_its_paths(svc: Service, tmp_path: Path) -> None:
    import time

    from loreforge.settings.server import ServerSettings
    from loreforge.web.app import create_app

    with FakeLLM(responder=respond) as fake:
        data: dict[str, Any] = recipe(fake.base_url)
        served = TestClient(create_app(svc, ServerSettings(host="127.0.0.1")), base_url="http://127.0.0.1")
        outside = served.post("/api/pipelines", json={"recipe": data}, headers={"Origin": "http://127.0.0.1"})
        assert outside.status_code == 403 and "outside the folders this server may write" in outside.json()["message"]
        inside = {**data, "documents": ["docs/a.md"], "train": {"model_name_or_path": "m", "cache_dir": "/etc/x"}}
        cache = served.post("/api/pipelines", json={"recipe": inside}, headers={"Origin": "http://127.0.0.1"})
        assert cache.status_code == 403 and "train.cache_dir" in cache.json()["message"]
        remote = {**inside, "train": {"model_name_or_path": "m", "trust_remote_code": True}}
        assert served.post("/api/pipelines", json={"recipe": remote}, headers={"Origin": "http://127.0.0.1"}).status_code == 403
        client = TestClient(create_app(svc))  # in-process: trusts its caller like the Python API
        bad = client.post("/api/pipelines", json={"recipe": {**data, "documnets": []}})
        assert bad.status_code == 422 and "documnets" in bad.json()["message"]
        started = client.post("/api/pipelines", json={"recipe": data, "until": "review"})
        assert started.status_code == 202, started.text
        run_id = started.json()["id"]
        deadline = time.monotonic() + 120
        while client.get(f"/api/pipelines/{run_id}").json()["status"] in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.3)
        done = client.get(f"/api/pipelines/{run_id}").json()
        assert done["status"] == "completed", done["error"]
        assert done["stages"]["review"]["status"] == "completed" and done["stages"]["export"]["last_decision"] == "after --until review"
        events = client.get(f"/api/pipelines/{run_id}/events").text
        assert "event: end" in events
        assert client.post(f"/api/pipelines/{run_id}/cancel").status_code == 409
        assert client.get("/api/pipelines", params={"project": "p"}).json()[0]["id"] == run_id


def test_a_bad_document_is_reported_and_the_others_go_on(svc: Service, tmp_path: Path) -> None:
    """A broken file among the recipe's documents: named with its reason in the summary; the run completes."""
    from conftest import examples

    broken = tmp_path / "docs" / "broken.pdf"
    broken.parent.mkdir()
    broken.write_bytes(b"%PDF-1.7\n this is not a PDF at all")
    with FakeLLM(responder=respond) as fake:
        data = recipe(fake.base_url, documents=[str(broken), *(str(p) for p in examples())])
        view = svc.run_pipeline(write_recipe(tmp_path, data))
    assert view.status == "completed", view.error
    failed = view.summary["documents"]["failed"]
    assert [f["file"] for f in failed] == ["broken.pdf"] and failed[0]["error"]
    assert view.summary["documents"]["in_project"] == len(examples()) and view.summary["items"]["confirmed"] > 0
    from loreforge.pipeline.summary import render_text

    assert "1 failed" in render_text(view.summary)
