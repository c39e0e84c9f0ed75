"""Question templates (issue 15, feature 5): a fixed question put to every chunk, with an answer type — free text,
a label from a list (else "other"), or JSON in the user's format (checked when the template is made, enforced on
the answer) — answered by the answers stage against the fake OpenAI-compatible server over real HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fake_llm import FakeLLM, Recorded, Reply
from fastapi.testclient import TestClient

from conftest import examples, small_chunks
from loreforge.errors import UserError
from loreforge.generate.templates import AnswerFormat, check_template, conform, shape_errors
from loreforge.service import Service

NUMBERED = re.compile(r"^(\d+)\. (.+)$", re.M)
LABELS = AnswerFormat("label", ("positive", "negative", "neutral"))
SHAPE = {"company": "x", "revenue": 0, "risks": ["x"], "meta": None}


@pytest.mark.parametrize("answer, label", [
    ("positive", "positive"), ("Negative.", "negative"), ('"neutral"', "neutral"), ("The tone is positive", "positive"),
    ("mixed", "other"), ("positive or negative", "other"),
])
def test_label_answers(answer: str, label: str) -> None:
    assert conform(answer, LABELS, "en") == (label, None)


def test_label_other_is_in_the_project_language() -> None:
    assert conform("不确定", AnswerFormat("label", ("正面", "负面")), "zh") == ("其他", None)


def test_json_answers() -> None:
    fmt = AnswerFormat("json", json_format=json.dumps(SHAPE))
    good = '```json\n{"company": "Acme", "revenue": 12.5, "risks": ["fx", "rates"], "meta": {"a": 1}, "extra": true}\n```'
    assert json.loads(conform(good, fmt, "en")[0])["company"] == "Acme"
    answer, error = conform('{"company": 3, "risks": "fx"}', fmt, "en")
    assert error and "$.company: expected str, got int" in error and "missing key 'revenue'" in error and "$.risks: expected an array" in error
    assert conform("no json at all", fmt, "en")[1] == "the answer is not JSON (the template wants a JSON value)"
    assert shape_errors([{"a": 1}, {"a": "x"}], [{"a": 0}]) == ["$[1].a: expected int, got str"]


@pytest.mark.parametrize("answer_type, labels, fmt, message", [
    ("label", [], "", "A label template needs labels"),
    ("json", [], "", "A json template needs its format"),
    ("json", [], "{not json", "The template's JSON format is not valid JSON"),
    ("json", [], "3", "must be an object or an array"),
    ("yesno", [], "", "Unknown answer type"),
])
def test_bad_templates_are_refused(answer_type: str, labels: list[str], fmt: str, message: str) -> None:
    with pytest.raises(UserError, match=re.escape(message)):
        check_template(answer_type, labels, fmt)


class Responder:
    """Answers each numbered question: a label template gets `label`, a JSON template `json_answer`."""

    def __init__(self) -> None:
        self.label, self.json_answer = "Positive.", '{"company": "星河精密", "revenue": 46.8, "risks": ["汇率"], "meta": null}'

    def __call__(self, req: Recorded) -> Reply:
        asked = NUMBERED.findall(req.prompt.split("\n\n---\n", 1)[1])
        answers = []
        for i, q in asked:
            answer = self.label if "labels" in q else self.json_answer if "JSON" in q else "自由回答。"
            answers.append({"id": int(i), "answer": answer})
        return Reply(text=json.dumps({"answers": answers}, ensure_ascii=False))


@pytest.fixture()
def fake() -> Iterator[FakeLLM]:
    with FakeLLM(responder=Responder()) as server:
        yield server


@pytest.fixture()
def proj(svc: Service, fake: FakeLLM) -> str:
    svc.create_project("t")
    svc.set_setting("t", "language", "en")
    small_chunks(svc, "t")
    svc.ingest("t", examples()[:1])
    svc.add_model("t", "custom", "fake-model", name="fake", base_url=fake.base_url)
    return "t"


def test_templates_put_to_every_chunk_and_answered_in_their_format(svc: Service, proj: str, fake: FakeLLM) -> None:
    chunks = svc.list_chunks(proj, page_size=1000).items
    tone = svc.add_template(proj, "What is the tone of this passage?", answer_type="label", labels=["positive", "negative", " neutral", "positive"])
    facts = svc.add_template(proj, "Extract the key facts.", answer_type="json", json_format=json.dumps(SHAPE), description="Figures as numbers.")
    assert tone.labels == ["positive", "negative", "neutral"]
    assert svc.apply_template(proj, tone.id).created == len(chunks)
    assert svc.apply_template(proj, facts.id, chunk_ids=[chunks[0].id]).created == 1
    again = svc.apply_template(proj, tone.id)
    assert (again.created, again.existing) == (0, len(chunks))  # applying again makes nothing twice
    job = svc.generate_answers(proj)
    assert job.status == "completed", job.failures
    assert len(fake.chat_requests()) == len(chunks)  # template questions answered with the chunk's others: one call
    first = fake.chat_requests()[0].prompt
    assert "answer with exactly one of these labels: positive, negative, neutral" in first and "Figures as numbers." in first
    items = {i.question: i for i in svc.list_dataset(proj, page_size=1000).items}
    assert {i.answer for q, i in items.items() if q.startswith("What is the tone")} == {"positive"}
    assert json.loads(items["Extract the key facts."].answer)["revenue"] == 46.8
    listed = {t.id: t for t in svc.list_templates(proj)}
    assert (listed[tone.id].questions, listed[tone.id].answered) == (len(chunks), len(chunks))
    assert svc.list_questions(proj, page_size=1000).items[0].template_id == tone.id


def test_an_answer_not_in_the_format_fails_its_item_and_retry_asks_again(svc: Service, proj: str, fake: FakeLLM) -> None:
    chunk = svc.list_chunks(proj).items[0]
    facts = svc.add_template(proj, "Extract the key facts.", answer_type="json", json_format=json.dumps(SHAPE))
    tone = svc.add_template(proj, "What is the tone?", answer_type="label", labels=["positive", "negative"])
    svc.apply_template(proj, facts.id, chunk_ids=[chunk.id])
    svc.apply_template(proj, tone.id, chunk_ids=[chunk.id])
    responder = fake.responder
    assert isinstance(responder, Responder)
    responder.json_answer, responder.label = '{"company": "x"}', "upbeat"
    job = svc.generate_answers(proj)
    assert job.status == "completed_with_failures"
    assert "does not have the template's format" in (job.failures[0].error or "") and "missing key 'revenue'" in job.failures[0].error
    assert [i.answer for i in svc.list_dataset(proj).items] == ["other"]  # the label answer is kept, as "other"
    responder.json_answer = '{"company": "x", "revenue": 1, "risks": [], "meta": 0}'
    retried = svc.retry_job(job.id)
    assert retried.status == "completed" and len(svc.list_dataset(proj).items) == 2


def test_template_edit_delete_and_the_api(svc: Service, proj: str) -> None:
    from loreforge.web.app import create_app

    client = TestClient(create_app(svc))
    made = client.post(f"/api/projects/{proj}/templates", json={"question": "Tone?", "answer_type": "label", "labels": ["a", "b"]})
    assert made.status_code == 201, made.text
    tid = made.json()["id"]
    bad = client.post(f"/api/projects/{proj}/templates", json={"question": "Facts?", "answer_type": "json", "json_format": "{oops"})
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["message"]
    applied = client.post(f"/api/projects/{proj}/templates/{tid}/apply", json={})
    assert applied.json()["created"] == len(svc.list_chunks(proj, page_size=1000).items)
    edited = client.patch(f"/api/projects/{proj}/templates/{tid}", json={"labels": ["a", "b", "c"]})
    assert edited.json()["labels"] == ["a", "b", "c"]
    assert client.delete(f"/api/projects/{proj}/templates/{tid}").status_code == 200
    assert svc.list_questions(proj).total == 0  # its unanswered questions went with it
    assert client.get(f"/api/projects/{proj}/templates/{tid}").status_code in (404, 405)
