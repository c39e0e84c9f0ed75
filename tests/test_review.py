"""Dataset review and export through the service: filters, show with source, edit, confirm, rate, delete,
grounding check, dedup, AI score (fake server), import, and exports incl. the LLaMA Factory bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_llm import FakeLLM, Reply

from conftest import examples
from loreforge.errors import UserError
from loreforge.service import Service
from loreforge.service.dataset import DatasetFilter as F


@pytest.fixture()
def qa(svc: Service) -> str:
    svc.create_project("fin")
    svc.ingest("fin", examples())
    svc.generate_questions("fin")
    svc.generate_answers("fin")
    return "fin"


def _ids(svc: Service, p: str, f: F | None = None) -> list[int]:
    return [i.id for i in svc.list_dataset(p, f, page_size=1000).items]


def test_filters_show_edit_confirm_rate_delete(svc: Service, qa: str) -> None:
    ids = _ids(svc, qa)
    assert len(ids) > 5
    shown = svc.show_dataset_item(qa, ids[0])
    assert shown.source_text and shown.answer.rstrip("；;，,")[:10] in shown.source_text
    assert svc.confirm_dataset(qa, F(ids=ids[:3])).changed == 3
    assert _ids(svc, qa, F(confirmed=True)) == ids[:3]
    assert len(_ids(svc, qa, F(confirmed=False))) == len(ids) - 3
    svc.rate_dataset_item(qa, ids[0], 5)
    with pytest.raises(UserError, match="0 to 5"):
        svc.rate_dataset_item(qa, ids[0], 6)
    edited = svc.edit_dataset_item(qa, ids[1], answer="新答案 46.8亿元", cot="推理", labels=["好", "财报"], note="checked")
    assert edited.labels == ["好", "财报"] and edited.cot == "推理"
    assert _ids(svc, qa, F(label="财报")) == [ids[1]]
    assert _ids(svc, qa, F(has_cot=True)) == [ids[1]]
    assert _ids(svc, qa, F(text="新答案")) == [ids[1]]
    docs = svc.list_documents(qa)
    per_doc = [len(_ids(svc, qa, F(document_id=d.id))) for d in docs]
    assert sum(per_doc) == len(ids) and all(per_doc)
    with pytest.raises(UserError, match="--all"):
        svc.delete_dataset(qa, F())
    assert svc.delete_dataset(qa, F(ids=[ids[-1]])).changed == 1
    assert len(_ids(svc, qa)) == len(ids) - 1


def test_grounding_flags_a_wrong_figure(svc: Service, qa: str) -> None:
    target = next(i for i in svc.list_dataset(qa, F(text="27.9%")).items)  # the gross margin
    svc.edit_dataset_item(qa, target.id, answer=target.answer.replace("27.9%", "48.7%"))
    report = svc.check_dataset(qa)
    assert report.checked == len(_ids(svc, qa))
    flagged = {item["id"]: item["missing"] for item in report.items}
    assert "48.7%" in flagged[target.id]
    assert report.failed <= 2  # extractive answers are the chunk's own sentences
    assert target.id in _ids(svc, qa, F(grounding_failed=True))


def test_dedup_marks_and_removes(svc: Service, qa: str, tmp_path: Path) -> None:
    items = svc.list_dataset(qa, page_size=3).items
    dump = tmp_path / "again.jsonl"
    dump.write_text("\n".join(json.dumps({"instruction": i.question, "input": "", "output": i.answer}, ensure_ascii=False) for i in items), encoding="utf-8")
    assert svc.import_dataset(qa, dump).imported == 3
    report = svc.dedup_dataset(qa)
    assert report.duplicates == 3 and all(len(g) == 2 for g in report.groups)
    assert len(_ids(svc, qa, F(duplicate=True))) == 3
    before = len(_ids(svc, qa))
    assert svc.dedup_dataset(qa, remove=True).removed == 3
    assert len(_ids(svc, qa)) == before - 3


def test_ai_score_with_auto_confirm(svc: Service, qa: str) -> None:
    def judge(req: object) -> Reply:
        prompt = req.prompt  # type: ignore[attr-defined]
        good = "亿" in prompt.split("答案：")[-1]
        s = 5 if good else 2
        return Reply(text=json.dumps({"question_quality": s, "accuracy": s, "relevance": s, "consistency": s, "reason": "理由"}))

    with FakeLLM(responder=judge) as fake:
        svc.add_model(qa, "custom", "judge", name="judge", base_url=fake.base_url)
        job = svc.score_dataset(qa, min_score=4)
        assert job.status == "completed" and job.done == len(_ids(svc, qa))
        items = svc.list_dataset(qa, page_size=1000).items
        assert all(i.score in (5.0, 2.0) and i.score_reason == "理由" for i in items)
        assert all(i.confirmed == (i.score == 5.0) for i in items)
        assert {i.id for i in items if i.score == 5.0} == set(_ids(svc, qa, F(min_score=4.5)))
        again = svc.score_dataset(qa)
        assert again.total == 0  # already scored with this prompt and model


def test_export_bundle_confirmed_only(svc: Service, qa: str, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="nothing to export"):
        svc.export(qa, tmp_path / "none")
    assert not (tmp_path / "none").exists()
    ids = _ids(svc, qa)
    svc.confirm_dataset(qa, F(ids=ids[:-2]))
    report = svc.export(qa, tmp_path / "lf", val_size=0.2)
    folder = Path(report.folder)
    info = json.loads((folder / "dataset_info.json").read_text(encoding="utf-8"))
    assert {"fin_alpaca", "fin_sharegpt", "fin_alpaca_val", "fin_sharegpt_val"} <= set(info)
    assert info["fin_alpaca"]["formatting"] == "alpaca" and info["fin_sharegpt"]["formatting"] == "sharegpt"
    train = json.loads((folder / "alpaca.json").read_text(encoding="utf-8"))
    val = json.loads((folder / "alpaca_val.json").read_text(encoding="utf-8"))
    assert len(train) + len(val) == len(ids) - 2  # confirmed only
    assert "train_lora.yaml" in {Path(f).name for f in report.files} or (folder / "train_lora.yaml").exists()
    with pytest.raises(UserError, match="--force"):
        svc.export(qa, folder)
    assert svc.export(qa, folder, force=True).counts["total"] == len(ids) - 2
    everything = svc.export(qa, tmp_path / "all", format="messages", file_type="jsonl", include_all=True)
    assert everything.counts["total"] == len(ids)


def test_export_import_export_round_trip(svc: Service, qa: str, tmp_path: Path) -> None:
    first = svc.export(qa, tmp_path / "a", format="alpaca", include_all=True, cot="field", val_size=0)
    svc.create_project("copy")
    imported = svc.import_dataset("copy", Path(first.folder) / "train.json")
    assert imported.imported == first.counts["total"] and imported.format == "alpaca"
    second = svc.export("copy", tmp_path / "b", format="alpaca", include_all=True, cot="field", val_size=0)
    assert (Path(first.folder) / "train.json").read_bytes() == (Path(second.folder) / "train.json").read_bytes()


def test_import_reports_bad_lines(svc: Service, qa: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "q1", "output": "a1"}\n{not json}\n{"instruction": "q3", "output": "a3"}\n', encoding="utf-8")
    before = len(_ids(svc, qa))
    with pytest.raises(UserError, match="line 2"):
        svc.import_dataset(qa, bad)
    assert len(_ids(svc, qa)) == before  # nothing stored
    report = svc.import_dataset(qa, bad, keep_good_lines=True)
    assert report.imported == 2 and report.skipped == 1 and report.issues[0]["line"] == 2
    assert len(_ids(svc, qa, F(confirmed=False))) >= 2
