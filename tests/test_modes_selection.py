"""What the service gained for the data-mode pages, through the Python API, the REST API and the CLI: the chunk
filter's `cleaned` / `flagged`, cleaning and dialogue jobs over a filter (a page's "every row matching the filter"),
a dialogue's earlier rounds and system prompt edited, and a PDF conversion started in the background answering with
its job. Offline (the extractive strategy) where no model is needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from conftest import examples
from loreforge.cli import cli
from loreforge.errors import UserError
from loreforge.filters import ChunkFilter, DatasetFilter, QuestionFilter
from loreforge.service import Service
from loreforge.web.app import create_app


@pytest.fixture()
def proj(svc: Service) -> str:
    svc.create_project("sel")
    svc.ingest("sel", examples())
    svc.generate_questions("sel", provider="extractive")
    return "sel"


def test_cleaning_over_a_filter_and_the_cleaned_and_flagged_filters(svc: Service, proj: str) -> None:
    doc = svc.list_documents(proj)[0].id
    one = svc.list_chunks(proj, document_id=doc, page_size=1).items[0]
    svc.edit_chunk(proj, one.id, one.text + "\n\n第 3 页 共 20 页")
    job = svc.clean_chunks(proj, provider="extractive", chunk_filter=ChunkFilter(document_id=doc))
    assert job.total == svc.list_chunks(proj, document_id=doc).total < svc.list_chunks(proj).total
    assert job.params["filter"] == {"document_id": doc}
    cleaned = svc.list_chunks(proj, cleaned=True, page_size=100).items
    assert one.id in {c.id for c in cleaned} and all(c.cleaned and c.document_id == doc for c in cleaned)
    assert svc.list_chunks(proj, cleaned=False).total == svc.list_chunks(proj).total - len(cleaned)
    assert svc.list_chunks(proj, flagged=True).total == 0 and svc.list_chunks(proj, flagged=False).total == svc.list_chunks(proj).total
    with TestClient(create_app(svc)) as client:
        listed = client.get(f"/api/projects/{proj}/chunks", params={"cleaned": "true"}).json()
        assert listed["total"] == len(cleaned)
        again = client.post(f"/api/projects/{proj}/chunks/clean", json={"provider": "extractive", "force": True, "filter": {"text": "第 3 页"}})
        assert again.status_code == 202 and again.json()["params"]["filter"] == {"text": "第 3 页"}
    result = CliRunner().invoke(cli, ["chunks", "list", proj, "--cleaned", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["total"] == len(cleaned)
    result = CliRunner().invoke(cli, ["chunks", "clean", proj, "--provider", "extractive", "--document", str(doc), "--force", "--json"])
    assert result.exit_code == 0, result.output


def test_dialogues_over_a_question_filter(svc: Service, proj: str) -> None:
    chunk = svc.list_questions(proj, page_size=1).items[0].chunk_id
    wanted = svc.list_questions(proj, chunk_id=chunk).total
    job = svc.generate_dialogues(proj, provider="extractive", question_filter=QuestionFilter(chunk_id=chunk))
    assert job.total == wanted and job.params["filter"] == {"chunk_id": chunk}
    assert svc.list_dataset(proj, DatasetFilter(kind="dialogue")).total == wanted
    with TestClient(create_app(svc)) as client:
        sent = client.post(f"/api/projects/{proj}/dialogues/generate", json={"provider": "extractive", "filter": {"text": "zzz-none"}})
        assert sent.status_code == 202 and sent.json()["total"] == 0
    result = CliRunner().invoke(cli, ["dialogues", "generate", proj, "--provider", "extractive", "--chunk", str(chunk), "--force", "--json"])
    assert result.exit_code == 0 and f'"total": {wanted},' in result.output  # the job as JSON (after the progress line)


def test_a_dialogues_earlier_rounds_and_system_prompt_edited(svc: Service, proj: str) -> None:
    svc.generate_dialogues(proj, provider="extractive", question_ids=[svc.list_questions(proj, page_size=1).items[0].id])
    item = svc.list_dataset(proj, DatasetFilter(kind="dialogue")).items[0]
    view = svc.edit_dataset_item(proj, item.id, history=[["  问一？ ", "答一。"]], system="系统")
    assert view.history == [["问一？", "答一。"]] and view.system == "系统" and view.grounding == {}
    for bad in ([["问", " "]], [["只有一边"]], ["ab"]):
        with pytest.raises(UserError, match="needs a user message and an assistant reply"):
            svc.edit_dataset_item(proj, item.id, history=bad)  # type: ignore[arg-type]
    with TestClient(create_app(svc)) as client:
        sent = client.patch(f"/api/projects/{proj}/dataset/{item.id}", json={"history": [["q1", "a1"], ["q2", "a2"]]})
        assert sent.status_code == 200 and sent.json()["history"] == [["q1", "a1"], ["q2", "a2"]]
    result = CliRunner().invoke(cli, ["dataset", "edit", proj, str(item.id), "--history", '[["u", "a"]]', "--system", ""])
    assert result.exit_code == 0 and svc.show_dataset_item(proj, item.id).history == [["u", "a"]]
    assert svc.show_dataset_item(proj, item.id).system == ""
    bad = CliRunner().invoke(cli, ["dataset", "edit", proj, str(item.id), "--history", "[oops"])
    assert bad.exit_code != 0 and "--history is not valid JSON" in bad.output


def test_a_pdf_conversion_in_the_background_answers_with_its_job(svc: Service, proj: str, tmp_path: Path) -> None:
    from fake_llm import FakeLLM
    from test_ingest_formats import make_pdf, text_at
    from ui_modes_responder import respond

    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(make_pdf([text_at(72, 700, f"Page {i}") for i in range(1, 4)]))
    with FakeLLM(responder=respond) as fake:
        svc.add_model(proj, "custom", "fake-vl", name="vl", base_url=fake.base_url, type="vision")
        view = svc.convert_pdf(proj, [pdf], strategy="vision", background=True)
        assert view.started_in_background and [j.kind for j in view.jobs] == ["pdf_pages"] and view.jobs[0].total == 3
        import time

        deadline = time.monotonic() + 60
        while not any(d.filename == "scan.pdf" for d in svc.list_documents(proj)):
            assert time.monotonic() < deadline, svc.get_job(view.jobs[0].id)
            time.sleep(0.1)
        assert svc.get_job(view.jobs[0].id).status == "completed"


def test_what_each_way_of_making_data_has_made(svc: Service, proj: str) -> None:
    empty = svc.mode_summary(proj)
    assert (empty.dialogues, empty.cleaned_chunks, empty.templates, empty.cot_setting) == (0, 0, 0, "auto")
    svc.generate_dialogues(proj, provider="extractive", question_ids=[svc.list_questions(proj, page_size=1).items[0].id])
    chunk = svc.list_chunks(proj, page_size=1).items[0]
    svc.edit_chunk(proj, chunk.id, chunk.text + "\n\n第 3 页 共 20 页")
    svc.clean_chunks(proj, provider="extractive", chunk_ids=[chunk.id])
    svc.add_template(proj, "基调？")
    summary = svc.mode_summary(proj)
    assert (summary.dialogues, summary.cleaned_chunks, summary.flagged_chunks, summary.templates) == (1, 1, 0, 1)
    with TestClient(create_app(svc)) as client:
        assert client.get(f"/api/projects/{proj}/modes").json()["dialogues"] == 1
    result = CliRunner().invoke(cli, ["project", "modes", proj])
    assert result.exit_code == 0 and "1 (0 flagged: figures changed)" in result.output and "dialogues" in result.output
