"""Image QA datasets (issue 15, feature 6): images added from files, folders, zips and PDF pages, stored like
documents (content hash, safe names, size and pixel limits, a bad one reported while the rest go on); a vision model
(`--type vision`) writes questions and answers — and the image templates' answers — in one call per image, over
OpenAI image content parts to the fake server; exports name the images and copy them; the LLaMA Factory bundle gets
its multimodal entry."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_llm import FakeLLM, Recorded, Reply
from fastapi.testclient import TestClient
from PIL import Image as PILImage
from test_ingest_formats import make_pdf, text_at

from loreforge.errors import NotFound, UserError
from loreforge.filters import DatasetFilter
from loreforge.service import Service


def png(color: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def sees(req: Recorded) -> Reply:
    """A vision 'model': N questions about the image it was sent, and the template questions answered."""
    assert req.images and req.images[0].startswith("data:image/"), "no image content part"
    n = int(m.group(1)) if (m := re.search(r"提出 (\d+) 个", req.prompt)) else 0
    qa = [{"question": f"图中第{k}处是什么颜色？", "answer": f"第{k}处是纯色。"} for k in range(1, n + 1)]
    listed = re.findall(r"^(\d+)\. ", req.prompt.split("answers（id 是编号）：", 1)[-1], re.M) if "answers（id" in req.prompt else []
    return Reply(text=json.dumps({"qa": qa, "answers": [{"id": int(i), "answer": "红色"} for i in listed]}, ensure_ascii=False))


@pytest.fixture()
def fake() -> Iterator[FakeLLM]:
    with FakeLLM(responder=sees) as server:
        yield server


@pytest.fixture()
def proj(svc: Service, fake: FakeLLM) -> str:
    svc.create_project("img")
    svc.add_model("img", "custom", "fake-vl", name="vl", base_url=fake.base_url, type="vision")
    return "img"


def test_images_from_files_folders_zips_and_pdfs_with_bad_ones_reported(svc: Service, proj: str, tmp_path: Path) -> None:
    (tmp_path / "red.png").write_bytes(png((255, 0, 0)))
    (tmp_path / "folder" / "sub").mkdir(parents=True)
    (tmp_path / "folder" / "sub" / "green.png").write_bytes(png((0, 255, 0)))
    (tmp_path / "folder" / "notes.txt").write_text("not an image")
    with zipfile.ZipFile(tmp_path / "pack.zip", "w") as z:
        z.writestr("blue.png", png((0, 0, 255)))
        z.writestr("again-red.png", png((255, 0, 0)))
        z.writestr("readme.md", "skip me")
    (tmp_path / "doc.pdf").write_bytes(make_pdf([text_at(72, 700, "Page one"), text_at(72, 700, "Page two")]))
    (tmp_path / "broken.png").write_bytes(png((1, 2, 3))[:60])
    (tmp_path / "fake.png").write_text("I am text")
    svc.set_setting(proj, "images.max_pixels", 2_000_000)  # a rendered page (1224×1584) fits
    (tmp_path / "huge.png").write_bytes(png((9, 9, 9), (1500, 1500)))  # 2,250,000 pixels: refused before decoding
    sources = ["red.png", "folder", "pack.zip", "doc.pdf", "broken.png", "fake.png", "huge.png", "missing.png"]
    report = svc.add_images(proj, [tmp_path / s for s in sources])
    assert (report.added, report.duplicates, report.failed) == (5, 1, 4), report.items
    errors = " ".join(i.error or "" for i in report.items)
    assert "broken.png: is not a readable image" in errors and "fake.png: is not a readable image" in errors
    assert "more than images.max_pixels" in errors and "missing.png: no such file" in errors
    listed = svc.list_images(proj).items
    assert sorted(i.origin for i in listed) == ["file", "folder", "pdf", "pdf", "zip"]
    page = next(i for i in listed if i.page == 2)
    assert page.filename == "doc.pdf#page=2" and page.width == 1224 and Path(page.path).name.endswith(".png")
    assert all(Path(i.path).is_file() and Path(i.path).name == f"{i.content_hash[:16]}.{i.format}" for i in listed)
    svc.delete_images(proj, [page.id])
    assert not Path(page.path).exists() and svc.list_images(proj).total == 4


def test_image_qa_in_one_vision_call_per_image_with_templates(svc: Service, proj: str, fake: FakeLLM, tmp_path: Path) -> None:
    for name, color in (("a.png", (255, 0, 0)), ("b.png", (0, 0, 255))):
        (tmp_path / name).write_bytes(png(color))
    svc.add_images(proj, [tmp_path / "a.png", tmp_path / "b.png"])
    tone = svc.add_template(proj, "图片的主色调是什么？", answer_type="label", labels=["红色", "蓝色"], source="image")
    assert svc.apply_template(proj, tone.id).created == 2
    job = svc.generate_image_qa(proj)
    assert job.status == "completed", job.failures
    assert len(fake.chat_requests()) == 2  # questions, answers and the template's answer: one call per image
    body = fake.chat_requests()[0].body["messages"][-1]["content"]
    assert body[0]["type"] == "image_url" and body[1]["type"] == "text"
    items = svc.list_dataset(proj, filter=DatasetFilter(images=True), page_size=100).items
    assert len(items) == 2 * 3 + 2 and all(i.image_id for i in items)
    assert sorted({i.answer for i in items if i.question == "图片的主色调是什么？"}) == ["红色"]
    assert items[0].model == "fake-vl" and items[0].prompt_hash and items[0].tokens_in > 0
    assert [(r.rows, r.calls) for r in svc.usage(proj).per_row if r.stage == "image_qa"] == [(8, 2)]
    fake.reset()
    assert svc.generate_image_qa(proj).total == 0 and not fake.chat_requests()  # done: asked once


def test_image_items_export_and_the_bundle_multimodal_entry(svc: Service, proj: str, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(png((255, 0, 0)))
    svc.add_images(proj, [tmp_path / "a.png"])
    svc.generate_image_qa(proj, questions_per_image=2)
    svc.confirm_dataset(proj, DatasetFilter())
    alpaca = Path(svc.export(proj, tmp_path / "a", format="alpaca", val_size=0).folder)
    record = json.loads((alpaca / "train.json").read_text(encoding="utf-8"))[0]
    assert record["images"] and (alpaca / record["images"][0]).is_file()
    messages = Path(svc.export(proj, tmp_path / "m", format="messages", file_type="jsonl", val_size=0).folder)
    user = json.loads((messages / "train.jsonl").read_text(encoding="utf-8").splitlines()[0])["messages"][0]
    assert user["content"][0] == {"type": "image_url", "image_url": {"url": record["images"][0]}} and user["content"][1]["type"] == "text"
    with pytest.raises(UserError, match="image QA items export to json or jsonl"):
        svc.export(proj, tmp_path / "p", format="alpaca", file_type="csv", val_size=0)
    bundle = Path(svc.export(proj, tmp_path / "b", val_size=0).folder)
    info = json.loads((bundle / "dataset_info.json").read_text(encoding="utf-8"))
    assert info["img_mllm"] == {"file_name": "mllm.json", "formatting": "sharegpt", "columns": {"messages": "messages", "images": "images"},
                                "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
                                         "system_tag": "system"}}
    rows = json.loads((bundle / "mllm.json").read_text(encoding="utf-8"))
    assert len(rows) == 2 and rows[0]["messages"][0]["content"].startswith("<image>") and (bundle / rows[0]["images"][0]).is_file()
    assert json.loads((bundle / "alpaca.json").read_text(encoding="utf-8")) == []  # text entries hold no image item


def test_vision_needs_a_vision_config_and_the_api_serves_the_file(svc: Service, fake: FakeLLM, tmp_path: Path) -> None:
    from loreforge.web.app import create_app

    svc.create_project("t")
    svc.add_model("t", "custom", "fake-model", name="text", base_url=fake.base_url)
    with pytest.raises(NotFound, match="No model config of type vision is active"):
        svc.generate_image_qa("t")
    svc.add_model("t", "ollama", "llava", name="olla", type="vision")
    with pytest.raises(UserError, match="is not OpenAI-compatible"):
        svc.generate_image_qa("t")
    assert [m.active for m in svc.list_models("t")] == [True, True]  # active per type
    client = TestClient(create_app(svc))
    sent = client.post("/api/projects/t/images", files=[("files", ("x.png", png((5, 5, 5)), "image/png")),
                                                        ("files", ("y.txt", b"no", "text/plain"))])
    report = sent.json()
    assert (report["added"], report["failed"]) == (1, 1), report
    image_id = report["items"][0]["image_id"]
    got = client.get(f"/api/projects/t/images/{image_id}/file")
    assert got.status_code == 200 and got.headers["content-type"] == "image/png" and got.content == png((5, 5, 5))
