"""The web UI's pages of issue 15's ways of making data, at the HTTP level (httpx through the app, no browser), each
acting through the real service against the fake LLM (tests/ui_modes_responder.py): genre–audience pairs, dialogues
(generate, review every round, edit a round), distillation (estimate before the run, the run's jobs, the tree
edited), cleaning (a job over a filter, the diff with a flagged figure, restore), question templates (answer types,
a refused JSON format shown with the CLI's text), images (upload, QA job, review with the image), PDF conversion
(a job per upload, the MinerU token write-only), the vision model type on the settings page, the dataset's mode
filters; every page in both languages with every message present, and user data escaped everywhere."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fake_llm import FakeLLM
from fastapi.testclient import TestClient
from PIL import Image as PILImage
from ui_modes_responder import INVENTED, respond

from loreforge.filters import DatasetFilter
from loreforge.jobs.status import ACTIVE
from loreforge.service import Service
from loreforge.settings import AppConfig
from loreforge.web.app import create_app
from tests.conftest import examples

UI = Path(__file__).resolve().parent.parent / "loreforge" / "web" / "ui"
HX = {"HX-Request": "true"}
P = "/ui/p/modes"
EVIL = "<script>alert('x')</script>"
SLASHLESS = "<b onmouseover=alert(1)>x"  # a file name keeps no slash


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLM]:
    with FakeLLM(responder=respond) as server:
        yield server


@pytest.fixture(scope="module")
def app_service(tmp_path_factory: pytest.TempPathFactory, fake: FakeLLM) -> Iterator[tuple[TestClient, Service]]:
    """A project with the example documents, questions and answers from the fake LLM, a text and a vision model."""
    service = Service(AppConfig.from_env(tmp_path_factory.mktemp("ui-modes-home")))
    service.create_project("modes")
    service.add_model("modes", "custom", "fake-qa", name="fake", base_url=fake.base_url)
    service.add_model("modes", "custom", "fake-vl", name="vl", base_url=fake.base_url, type="vision")
    service.ingest("modes", examples())
    service.generate_questions("modes")
    service.generate_answers("modes")
    with TestClient(create_app(service)) as client:
        yield client, service
    service.close()


@pytest.fixture()
def client(app_service: tuple[TestClient, Service]) -> TestClient:
    client = app_service[0]
    client.cookies.clear()
    return client


def wait(service: Service, job_id: int, timeout: float = 60) -> None:
    """Until the background job has ended (completed, or with failures named)."""
    deadline = time.monotonic() + timeout
    while service.get_job(job_id).status in ACTIVE:
        assert time.monotonic() < deadline, f"job {job_id} still {service.get_job(job_id).status}"
        time.sleep(0.05)
    job = service.get_job(job_id)
    assert job.status == "completed", (job.status, job.error, [f.error for f in job.failures])


def job_id(html: str) -> int:
    """The job a started action's answer shows live (its card follows /ui/jobs/ID/events)."""
    found = re.search(r'sse-connect="/ui/jobs/(\d+)/events"', html)
    assert found, html[:500]
    return int(found.group(1))


def png(color: tuple[int, int, int], size: tuple[int, int] = (48, 32)) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


# -- every page, both languages, every message ------------------------------------------------------------------

PAGES = ("modes", "ga", "dialogues", "distill", "cleaning", "cleaning?flagged=true", "templates", "images", "pdf",
         "dataset?kind=dialogue&ga=false&distilled=false&images=false", "chunks?cleaned=true&flagged=false")
MISSING_KEY = re.compile(r"\b(?:modes|ga|dialogue|distill|clean|template|image|pdf)\.[a-z_\-]+\b")


def test_every_mode_page_renders_in_both_languages(app_service: tuple[TestClient, Service]) -> None:
    client, service = app_service
    settings = sorted((row.key for row in service.show_settings("modes")), key=len, reverse=True)  # shown by name on purpose
    for lang, word in (("en", "More data"), ("zh-CN", "更多造数")):
        client.cookies.set("loreforge_lang", lang)
        for path in PAGES:
            response = client.get(f"{P}/{path}")
            assert response.status_code == 200, (path, response.text[:500])
            assert word in response.text and 'class="twin" href="/api/' in response.text, path
            shown = _visible(response.text)
            for key in settings:
                shown = shown.replace(key, "")
            assert not MISSING_KEY.findall(shown), (lang, path, MISSING_KEY.findall(shown)[:5])
    client.cookies.clear()


def _visible(html: str) -> str:
    html = re.sub(r"<(script|code|dt)\b.*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_the_mode_pages_dynamic_messages_are_in_both_languages() -> None:
    """Keys the templates build from a vocabulary (`t("template.type_" ~ kind)`) — the static ones are checked by
    tests/test_ui_pages.py's scan of every template."""
    from loreforge.service.kinds import KINDS
    from loreforge.service.model_configs import MODEL_TYPES
    from loreforge.service.pdf_convert import STRATEGIES
    from loreforge.web.ui import pages_dialogues, pages_distill, pages_ga, pages_modes, pages_templates

    keys = {f"modes.{m}" for m in pages_modes.MODES} | {f"modes.cot_{m}" for m in pages_modes.COT_MODES}
    keys |= {f"modes.cot_from_{m}" for m in ("reply", "native", "synthesized")} | {f"modes.kind_{k}" for k in ("qa", "dialogue")}
    keys |= {f"template.type_{a}" for a in pages_templates.ANSWER_TYPES} | {f"template.source_{s}" for s in pages_templates.SOURCES}
    keys |= {f"pdf.strategy_{s}" for s in STRATEGIES} | {f"pdf.strategy_help_{s}" for s in STRATEGIES}
    keys |= {f"image.origin_{o}" for o in ("file", "folder", "zip", "pdf")} | {f"image.model_type_{m}" for m in MODEL_TYPES}
    keys |= {f"dialogue.mode_{m}" for m in pages_dialogues.MODES} | {f"distill.mode_{m}" for m in pages_distill.MODES}
    keys |= {f"ga.{f}" for f in pages_ga.FIELDS} | {"ga.use_in_questions_on", "ga.use_in_questions_off"}
    keys |= {f"clean.filter_{f}" for f in ("cleaned", "flagged")} | {f"kind.{k}" for k in pages_distill.KINDS}
    keys |= {"template.answer_chunks", "template.answer_images"}
    assert set(pages_distill.KINDS) <= set(KINDS)
    for lang in ("en", "zh-CN"):
        table = json.loads((UI / "messages" / f"{lang}.json").read_text(encoding="utf-8"))
        assert not keys - set(table), (lang, sorted(keys - set(table)))


# -- genre–audience pairs -------------------------------------------------------------------------------------

def test_genre_audience_pairs_proposed_toggled_edited_added_deleted(app_service: tuple[TestClient, Service]) -> None:
    client, service = app_service
    doc = service.list_documents("modes")[0].id
    started = client.post(f"{P}/ga/generate", headers=HX, data={"document_id": str(doc)})
    assert started.status_code == 200 and "genre–audience pairs" in started.text
    wait(service, job_id(started.text))
    pairs = service.list_ga_pairs("modes", document_id=doc)
    assert len(pairs) == 5 and all(p.source == "llm" and p.active for p in pairs)
    page = client.get(f"{P}/ga?document_id={doc}").text
    assert pairs[0].genre_title in page and f'/dataset?ga_pair_id={pairs[0].id}"' in page and "data-confirm=" in page
    off = client.post(f"{P}/ga/{pairs[0].id}/toggle", headers=HX, data={"active": "false"})
    assert off.headers["HX-Trigger"] == "lf-changed" and not service.list_ga_pairs("modes", document_id=doc)[0].active
    client.post(f"{P}/ga/{pairs[1].id}/edit", headers=HX, data={"genre_title": "速查型", "genre_description": "一个数字",
                                                                 "audience_title": pairs[1].audience_title, "audience_description": ""})
    edited = next(p for p in service.list_ga_pairs("modes", document_id=doc) if p.id == pairs[1].id)
    assert edited.genre_title == "速查型" and edited.source == "manual"
    client.post(f"{P}/ga", headers=HX, data={"document_id": str(doc), "genre_title": EVIL, "audience_title": "投资者"})
    assert "&lt;script&gt;alert(" in client.get(f"{P}/ga?document_id={doc}").text
    assert "<script>alert(" not in client.get(f"{P}/ga?document_id={doc}").text
    empty = client.post(f"{P}/ga", headers=HX, data={"document_id": str(doc), "genre_title": " ", "audience_title": "x"})
    assert empty.status_code == 400 and "cannot be empty" in empty.text and 'class="msg error"' in empty.text
    mine = service.list_ga_pairs("modes", document_id=doc)[-1]
    client.post(f"{P}/ga/{mine.id}/delete", headers=HX, data={"document_id": str(doc)})
    assert mine.id not in {p.id for p in service.list_ga_pairs("modes", document_id=doc)}
    asked = client.post(f"{P}/ga/questions", headers=HX, data={"document_id": str(doc)})
    wait(service, job_id(asked.text))
    styled = [q for q in service.list_questions("modes", page_size=500).items if q.ga_pair_id]
    assert styled and {q.ga_pair_id for q in styled} <= {p.id for p in service.list_ga_pairs("modes", document_id=doc) if p.active}
    assert client.get(f"{P}/ga?document_id=999999").status_code == 404


# -- dialogues ----------------------------------------------------------------------------------------------------

def test_dialogues_generated_with_options_and_reviewed_round_by_round(app_service: tuple[TestClient, Service]) -> None:
    client, service = app_service
    first = service.list_questions("modes", page_size=2).items
    started = client.post(f"{P}/dialogues/generate", headers=HX, data={
        "from": "questions", "ids": [str(q.id) for q in first], "d_rounds": "2", "d_user_role": "投资者", "d_assistant_role": "分析师",
        "d_scenario": "业绩说明会", "d_system_prompt": "你是分析师。", "d_mode": ""})
    wait(service, job_id(started.text))
    made = service.list_dataset("modes", DatasetFilter(kind="dialogue"), page_size=10).items
    assert len(made) == 2 and made[0].meta["user_role"] == "投资者" and made[0].system == "你是分析师。"
    assert len(made[0].history or []) + 1 == 2
    listed = client.get(f"{P}/dialogues").text
    assert "投资者 ↔ 分析师" in listed and f"/dataset/{made[0].id}?kind=dialogue" in listed
    item = made[0]
    client.post(f"{P}/dataset/batch", headers=HX, data={"action": "check", "ids": [str(item.id)]})
    review = client.get(f"{P}/dataset/{item.id}").text
    assert "Round 1" in review and "Round 2" in review and 'name="assistant_2"' in review and "业绩说明会" in review
    rounds = {"user_1": EVIL, "assistant_1": "营收 987654 亿元。", "user_2": item.question, "assistant_2": item.answer,
              "system": "新的系统提示词", "tag": "", "note": "", "labels": ""}
    saved = client.post(f"{P}/dataset/{item.id}/dialogue", headers=HX, data=rounds)
    assert saved.status_code == 200 and saved.headers["HX-Trigger"] == "lf-changed"
    view = service.show_dataset_item("modes", item.id)
    assert view.history == [[EVIL, "营收 987654 亿元。"]] and view.system == "新的系统提示词"
    client.post(f"{P}/dataset/{item.id}/check", headers=HX)
    review = client.get(f"{P}/dataset/{item.id}").text
    assert "&lt;script&gt;alert(" in review and "<script>alert(" not in review
    assert re.search(r'<mark class="missing">987654 亿元</mark>', review), "round 1's figure not in the source is marked"
    assert "not in the source: 987654 亿元" in review
    half = client.post(f"{P}/dataset/{item.id}/dialogue", headers=HX, data={**rounds, "assistant_1": " "})
    assert half.status_code == 400 and "Round 1 of the history" in half.text
    assert client.post(f"{P}/dialogues/generate", headers=HX, data={"from": "questions"}).text.count("Nothing selected") == 1
    matching = client.post(f"{P}/dialogues/generate", headers=HX, data={"from": "questions", "all": "1", "f_chunk_id": str(first[0].chunk_id),
                                                                        "offline": "on", "force": "on"})
    job = service.get_job(job_id(matching.text))
    assert job.params["filter"] == {"chunk_id": first[0].chunk_id} and job.params["provider"] == "extractive"
    wait(service, job.id)


# -- distillation -------------------------------------------------------------------------------------------------

def test_distillation_estimate_first_then_the_run_and_the_tree_edited(app_service: tuple[TestClient, Service]) -> None:
    client, service = app_service
    shape = {"topic": "咖啡烘焙", "levels": "1", "tags_per_level": "2", "questions_per_leaf": "2", "mode": "single"}
    estimate = client.post(f"{P}/distill/estimate", headers=HX, data=shape)
    assert estimate.status_code == 200 and "2 tags, 2 leaves, 4 questions" in estimate.text
    assert 'name="topic" value="咖啡烘焙"' in estimate.text and "Start distilling" in estimate.text
    assert service.list_distill_tags("modes") == []  # nothing started before the run
    run = client.post(f"{P}/distill/run", headers=HX, data=shape)
    assert 'id="mode-jobs"' in run.text and 'hx-swap-oob="outerHTML"' in run.text and "&amp;after=" in run.text
    deadline = time.monotonic() + 60
    while not (tree := service.list_distill_tags("modes")) or sum(t.items for t in tree[0].children) < 4:
        assert time.monotonic() < deadline, tree
        time.sleep(0.1)
    assert service.list_dataset("modes", DatasetFilter(distilled=True)).total == 4
    page = client.get(f"{P}/distill").text
    leaf = tree[0].children[0]
    assert "咖啡烘焙-1" in page and "2 tags · 2 leaves · 4 questions · 4 answered" in page
    assert f"distilled=true&amp;tag={quote(leaf.label, safe='')}" in page
    client.post(f"{P}/distill/tree/{leaf.id}/rename", headers=HX, data={"label": EVIL})
    client.post(f"{P}/distill/tree", headers=HX, data={"label": "手冲", "parent": str(tree[0].id)})
    page = client.get(f"{P}/distill").text
    assert "&lt;script&gt;alert(" in page and "<script>alert(" not in page and "手冲" in page
    asked = client.post(f"{P}/distill/{tree[0].id}/questions", headers=HX)
    wait(service, job_id(asked.text))
    answered = client.post(f"{P}/distill/{tree[0].id}/answers", headers=HX)
    wait(service, job_id(answered.text))
    new = next(t for t in service.list_distill_tags("modes")[0].children if t.label == "手冲")
    assert new.questions == new.items == 5  # distill.questions_per_leaf: the run's own shape is not a setting
    item = service.list_dataset("modes", DatasetFilter(distilled=True), page_size=1).items[0]
    review = client.get(f"{P}/dataset/{item.id}").text
    assert "Distilled: answered from the model" in review and "never counted as grounded" in review
    gone = client.post(f"{P}/distill/tree/{tree[0].id}/delete", headers=HX)
    assert "4 tag(s) deleted" in gone.text and service.list_distill_tags("modes") == []
    jobs = client.get(f"{P}/modes/jobs?kinds=distill_tags,distill_questions,distill_answers").text
    assert "distillation tags" in jobs and "distilled answers" in jobs and "every 2s" not in jobs


# -- cleaning -----------------------------------------------------------------------------------------------------

def test_cleaning_a_filter_the_diff_with_a_flagged_figure_and_restore(app_service: tuple[TestClient, Service]) -> None:
    client, service = app_service
    chunk = service.list_chunks("modes", page_size=1).items[0]
    original = chunk.text
    service.edit_chunk("modes", chunk.id, original + "\n\n第 3 页 共 20 页\nINVENT")
    started = client.post(f"{P}/chunks/clean", headers=HX, data={"all": "1", "f_text": "INVENT"})
    job = service.get_job(job_id(started.text))
    assert job.total == 1 and job.params["filter"] == {"text": "INVENT"}
    wait(service, job.id)
    flagged = service.list_chunks("modes", flagged=True).items
    assert [c.id for c in flagged] == [chunk.id] and flagged[0].cleaned
    listed = client.get(f"{P}/cleaning?flagged=true").text
    assert f"/chunks/{chunk.id}/diff" in listed and "flagged" in listed and "data-confirm=" in listed
    diff = client.get(f"{P}/chunks/{chunk.id}/diff").text
    assert '<mark class="missing">9.9 亿元</mark>' in diff and "第 3 页 共 20 页" in diff and 'class="add"' in diff
    assert "Cleaned by llm (fake-qa)" in diff and INVENTED.strip("。") in diff
    assert f'class="badge bad" href="/ui/p/modes/chunks/{chunk.id}/diff"' in client.get(f"{P}/chunks?cleaned=true").text
    back = client.post(f"{P}/chunks/{chunk.id}/restore", headers=HX)
    assert back.status_code == 200 and service.get_chunk("modes", chunk.id).text.endswith("INVENT")
    ruled = client.post(f"{P}/chunks/clean", headers=HX, data={"ids": [str(chunk.id)], "rules": "on", "back": "https://evil.example/"})
    wait(service, job_id(ruled.text))
    assert service.get_job(job_id(ruled.text)).params["provider"] == "extractive"
    assert "第 3 页" not in service.get_chunk("modes", chunk.id).text
    plain = client.post(f"{P}/chunks/clean", data={"ids": [str(chunk.id)], "rules": "on", "force": "on", "back": "https://evil.example/"},
                        follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"] == f"{P}/cleaning"  # never to another site
    wait(service, service.list_jobs("modes", kind="clean", limit=1)[0].id)
    again = client.post(f"{P}/chunks/clean", headers=HX, data={"ids": [str(chunk.id)], "rules": "on"})  # done already: nothing to do
    assert 'class="msg warn"' in again.text and "had nothing to do" in again.text and "sse-connect" not in again.text
    service.edit_chunk("modes", chunk.id, original)


# -- question templates --------------------------------------------------------------------------------------------

def test_templates_added_validated_edited_applied_deleted(app_service: tuple[TestClient, Service]) -> None:
    client, service = app_service
    added = client.post(f"{P}/templates", headers=HX, data={"question": "这段文字的基调是什么？", "answer_type": "label",
                                                            "labels": "正面，负面、中性", "source": "text"})
    assert added.status_code == 200
    label = service.list_templates("modes")[-1]
    assert label.labels == ["正面", "负面", "中性"]
    bad = client.post(f"{P}/templates", headers=HX, data={"question": "提取数据", "answer_type": "json", "json_format": "{not json"})
    assert bad.status_code == 400 and 'class="msg error"' in bad.text
    from loreforge.errors import UserError

    with pytest.raises(UserError) as raised:
        service.add_template("modes", "提取数据", answer_type="json", json_format="{not json")
    assert str(raised.value).split("\n")[0] in bad.text.replace("&#39;", "'").replace("&#34;", '"').replace("&quot;", '"')
    client.post(f"{P}/templates/{label.id}/edit", headers=HX, data={"question": EVIL, "answer_type": "label", "labels": "a\nb"})
    assert service.list_templates("modes")[-1].labels == ["a", "b"]
    page = client.get(f"{P}/templates").text
    assert "&lt;script&gt;alert(" in page and "<script>alert(" not in page and "data-confirm=" in page
    applied = client.post(f"{P}/templates/{label.id}/apply", headers=HX)
    chunks = service.list_chunks("modes", page_size=1).total
    assert f"{chunks} question(s) made; 0 already had it" in applied.text and "answered=false" in applied.text
    client.post(f"{P}/templates/{label.id}/delete", headers=HX)
    assert label.id not in {t.id for t in service.list_templates("modes")}


# -- images ---------------------------------------------------------------------------------------------------------

def test_images_uploaded_answered_by_the_vision_model_and_reviewed_beside_the_image(app_service: tuple[TestClient, Service]) -> None:
    client, service = app_service
    proj = service.get_project("modes").id
    assert "No images yet" in client.get(f"{P}/images").text
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as z:
        z.writestr("blue.png", png((0, 0, 255)))
        z.writestr("bad.png", b"not an image")
    for name, data in ((f"{SLASHLESS}.png", png((255, 0, 0))), ("pack.zip", packed.getvalue())):  # one request per file, as the page does
        sent = client.post(f"/api/projects/{proj}/images", files={"files": (name, data)})
        assert sent.status_code == 200, sent.text
    assert [i["status"] for i in sent.json()["items"]] == ["failed", "added"] and "bad.png" in sent.json()["items"][0]["error"]
    page = client.get(f"{P}/images").text
    assert page.count(f'src="/api/projects/{proj}/images/') == 2 and "&lt;b onmouseover" in page and "<b onmouseover" not in page
    started = client.post(f"{P}/images/batch", headers=HX, data={"action": "qa", "all": "1", "questions_per_image": "2"})
    wait(service, job_id(started.text))
    items = service.list_dataset("modes", DatasetFilter(images=True), page_size=10).items
    assert len(items) == 4 and all(i.image_id for i in items)
    review = client.get(f"{P}/dataset/{items[0].id}").text
    src = f'/api/projects/{proj}/images/{items[0].image_id}/file'
    assert f'class="review-image" src="{src}"' in review and client.get(src).content[:4] == b"\x89PNG"
    assert f'img class="thumb" src="{src}"' in client.get(f"{P}/dataset?images=true").text
    none = client.post(f"{P}/images/batch", headers=HX, data={"action": "delete"})
    assert "Nothing selected" in none.text
    gone = client.post(f"{P}/images/batch", headers=HX, data={"action": "delete", "ids": [str(items[0].image_id)]})
    assert "1 image(s) deleted" in gone.text and client.get(f"{P}/dataset/{items[0].id}").status_code == 200


# -- PDF conversion, the MinerU key, the vision model type -----------------------------------------------------------

def test_pdf_converted_by_the_vision_model_page_by_page(app_service: tuple[TestClient, Service]) -> None:
    from test_ingest_formats import make_pdf, text_at

    client, service = app_service
    service.set_setting("modes", "split.min_length", 10)
    pdf = make_pdf([text_at(72, 700, f"Page {i}") for i in range(1, 3)])
    sent = client.post(f"{P}/pdf/convert", headers=HX, data={"strategy": "vision"},
                       files=[("files", ("scan.pdf", pdf, "application/pdf")), ("files", ("notes.txt", b"no", "text/plain"))])
    assert sent.status_code == 200 and "2 item(s) to convert" in sent.text and "notes.txt" in sent.text and "is not a .pdf" in sent.text
    wait(service, job_id(sent.text))
    deadline = time.monotonic() + 30
    while not any(d.filename == "scan.pdf" for d in service.list_documents("modes")):
        assert time.monotonic() < deadline, "the converted PDF never became a document"
        time.sleep(0.1)
    assert "PDF pages by vision model" in client.get(f"{P}/pdf").text
    assert "Choose one or more PDF files" in client.post(f"{P}/pdf/convert", headers=HX, data={"strategy": "vision"}).text
    secret = "mineru-SECRET-token-0123456789"
    stored = client.post(f"{P}/pdf/mineru-key", headers=HX, data={"key": secret})
    assert stored.status_code == 200 and "MinerU token stored" in stored.text and secret not in stored.text
    assert secret not in client.get(f"{P}/pdf").text and 'type="password"' in client.get(f"{P}/pdf").text


def test_settings_add_a_vision_model_and_the_dataset_mode_filters(app_service: tuple[TestClient, Service], fake: FakeLLM) -> None:
    client, service = app_service
    added = client.post(f"{P}/models", headers=HX, data={"provider": "custom", "model": "qwen-vl", "name": "vl2", "base_url": fake.base_url,
                                                         "type": "vision", "activate": "on"})
    assert added.status_code == 200
    models = {m.name: m for m in service.list_models("modes")}
    assert models["vl2"].type == "vision" and models["vl2"].active and models["fake"].active  # active per type
    assert "vision (reads images)" in client.get(f"{P}/settings").text
    service.use_model("modes", "vl")
    dialogues = service.list_dataset("modes", DatasetFilter(kind="dialogue")).total
    page = client.get(f"{P}/dataset?kind=dialogue&page_size=200").text
    assert page.count("dialogue · ") == dialogues and '<details class="mode-filters" open>' in page
    assert client.get(f"{P}/dataset?kind=dialogue").status_code == 200
    twin = re.search(r'class="twin" href="([^"]+)"', client.get(f"{P}/dataset?ga=true&distilled=false").text).group(1)
    assert "ga=true" in twin and "distilled=false" in twin


# -- chain of thought: where it came from ----------------------------------------------------------------------------

def test_review_shows_where_a_chain_of_thought_came_from(app_service: tuple[TestClient, Service]) -> None:
    client, service = app_service
    chunk = service.list_chunks("modes", page_size=1).items[0]
    asked = service.add_question("modes", chunk.id, "NOCOT 这一段的营收是多少？")
    service.set_setting("modes", "answers.cot", "ask")
    try:
        started = client.post(f"{P}/questions/batch", headers=HX, data={"action": "answers", "ids": [str(asked.id)], "mode": "batched"})
        wait(service, job_id(started.text))
    finally:
        service.reset_setting("modes", "answers.cot")
    synthesized = next(i for i in service.list_dataset("modes", DatasetFilter(text="NOCOT"), page_size=5).items if i.kind == "qa")
    assert synthesized.cot == "补写的推理1" and synthesized.meta == {"cot": "synthesized"}
    assert "Chain of thought: synthesized by one extra call" in client.get(f"{P}/dataset/{synthesized.id}").text
    replied = next(i for i in service.list_dataset("modes", DatasetFilter(has_cot=True), page_size=50).items if i.meta == {"cot": "reply"})
    client.cookies.set("loreforge_lang", "zh-CN")
    assert "思维链: 与答案一同生成" in client.get(f"{P}/dataset/{replied.id}").text
