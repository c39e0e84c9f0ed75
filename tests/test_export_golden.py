"""Golden-file tests of every export format and option, and of the LLaMA Factory bundle.

The exported bytes are compared with tests/golden/export/. After an intended change of output, regenerate
with `LOREFORGE_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_export_golden.py` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from loreforge.export import export_dataset, export_llamafactory, make_options
from loreforge.records import QAPair

GOLDEN = Path(__file__).parent / "golden" / "export"
UPDATE = os.environ.get("LOREFORGE_UPDATE_GOLDEN") == "1"
FORMATS = ["alpaca", "sharegpt", "sharegpt-messages", "messages", "custom", "multilingual-thinking"]
SYSTEM = "你是一名严谨的财务分析助手，回答要引用原文数字。"


def load_pairs() -> list[QAPair]:
    raw = json.loads((GOLDEN / "pairs.json").read_text(encoding="utf-8"))
    return [QAPair(**{**p, "history": tuple(tuple(t) for t in p.get("history", []))}) for p in raw]


PAIRS = load_pairs()


def check_golden(actual: Path, golden: Path, replace: dict[str, str] | None = None) -> None:
    text = actual.read_bytes().decode("utf-8")
    for old, new in (replace or {}).items():
        text = text.replace(old, new)
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(text.encode("utf-8"))
    assert golden.exists(), f"missing golden file {golden}; run with LOREFORGE_UPDATE_GOLDEN=1"
    assert text == golden.read_bytes().decode("utf-8"), f"{actual.name} differs from {golden}"


# (golden name, options) beyond the format x cot x file-type grid
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    (
        "alpaca/system-history-think",
        {"format": "alpaca", "cot": "think", "system_prompt": SYSTEM, "include_history": True},
    ),
    ("alpaca/system-field", {"format": "alpaca", "cot": "field", "system_prompt": SYSTEM}),
    (
        "sharegpt/system-history-think",
        {"format": "sharegpt", "cot": "think", "system_prompt": SYSTEM, "include_history": True},
    ),
    (
        "sharegpt-messages/system-history-think",
        {"format": "sharegpt-messages", "cot": "think", "system_prompt": SYSTEM, "include_history": True},
    ),
    ("messages/system-history-none", {"format": "messages", "system_prompt": SYSTEM, "include_history": True}),
    (
        "custom/fields-system-history-field",
        {
            "format": "custom",
            "cot": "field",
            "system_prompt": SYSTEM,
            "include_history": True,
            "custom_fields": {
                "question": "prompt",
                "answer": "completion",
                "cot": "reasoning",
                "system": "sys",
                "tag": "label",
                "history": "turns",
            },
        },
    ),
    (
        "multilingual-thinking/system-chinese-think",
        {"format": "multilingual-thinking", "cot": "think", "system_prompt": SYSTEM, "reasoning_language": "Chinese"},
    ),
]
GRID = [(f"{fmt}/{cot}", {"format": fmt, "cot": cot}) for fmt in FORMATS for cot in ("think", "field", "none")]


@pytest.mark.parametrize("file_type", ["json", "jsonl", "csv"])
@pytest.mark.parametrize("name,values", GRID + VARIANTS, ids=[n for n, _ in GRID + VARIANTS])
def test_format_golden(tmp_path: Path, name: str, values: dict[str, Any], file_type: str) -> None:
    options = make_options(**{"val_size": 0.0, **values}, file_type=file_type)
    result = export_dataset(lambda: iter(PAIRS), tmp_path / "out", options, manifest_extra={"project": "golden"})
    assert result.counts == {"train": len(PAIRS), "val": 0, "total": len(PAIRS)}
    assert [p.name for p in result.files] == [f"train.{file_type}", "manifest.json"]
    check_golden(result.files[0], GOLDEN / f"{name}.{file_type}")


def test_json_and_jsonl_goldens_hold_the_same_records() -> None:
    for name, _ in GRID + VARIANTS:
        array = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
        lines = (GOLDEN / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        assert array == [json.loads(line) for line in lines], name


def test_cot_modes_as_documented() -> None:
    think = json.loads((GOLDEN / "alpaca/think.json").read_text(encoding="utf-8"))
    field = json.loads((GOLDEN / "alpaca/field.json").read_text(encoding="utf-8"))
    none = json.loads((GOLDEN / "alpaca/none.json").read_text(encoding="utf-8"))
    assert think[0]["output"] == f"<think>{PAIRS[0].cot}</think>\n\n{PAIRS[0].answer}"
    assert think[1]["output"] == PAIRS[1].answer  # no CoT: no empty think block
    assert field[0]["cot"] == PAIRS[0].cot and field[0]["output"] == PAIRS[0].answer
    assert set(none[0]) == {"instruction", "input", "output"}  # no system key without a system prompt
    mt = json.loads((GOLDEN / "multilingual-thinking/none.json").read_text(encoding="utf-8"))
    assert mt[0]["analysis"] is None and mt[0]["messages"][2]["thinking"] is None
    mt = json.loads((GOLDEN / "multilingual-thinking/system-chinese-think.json").read_text(encoding="utf-8"))
    assert set(mt[0]) == {"reasoning_language", "developer", "user", "analysis", "final", "messages"}
    assert mt[0]["analysis"] == PAIRS[0].cot and mt[0]["final"] == PAIRS[0].answer
    assert [m["role"] for m in mt[0]["messages"]] == ["system", "user", "assistant"]
    assert mt[0]["messages"][2] == {"content": PAIRS[0].answer, "role": "assistant", "thinking": PAIRS[0].cot}


def test_history_becomes_turns() -> None:
    alpaca = json.loads((GOLDEN / "alpaca/system-history-think.json").read_text(encoding="utf-8"))
    assert alpaca[3]["history"] == [["营收是多少？", "46.8亿元。"]] and alpaca[0]["history"] == []
    chat = json.loads((GOLDEN / "sharegpt-messages/system-history-think.json").read_text(encoding="utf-8"))
    assert [m["role"] for m in chat[3]["messages"]] == ["system", "user", "assistant", "user", "assistant"]
    sharegpt = json.loads((GOLDEN / "sharegpt/system-history-think.json").read_text(encoding="utf-8"))
    assert [t["from"] for t in sharegpt[3]["conversations"]] == ["human", "gpt", "human", "gpt"]
    assert sharegpt[3]["system"] == SYSTEM


# ---- LLaMA Factory bundle ---------------------------------------------------------------------------
# Keys LLaMA Factory 0.9.5 reads from a dataset_info.json entry (src/llamafactory/data/parser.py,
# DatasetAttr.join and get_dataset_list) and the formatting values it accepts (DATASET_CONVERTERS).
LF_ENTRY_KEYS = {"file_name", "formatting", "ranking", "subset", "split", "folder", "num_samples", "columns", "tags"}
LF_FORMATTINGS = {"alpaca", "sharegpt", "openai"}
LF_COLUMNS = {
    "prompt",
    "query",
    "response",
    "history",
    "messages",
    "system",
    "tools",
    "images",
    "videos",
    "audios",
    "chosen",
    "rejected",
    "kto_tag",
}
LF_TAGS = {"role_tag", "content_tag", "user_tag", "assistant_tag", "observation_tag", "function_tag", "system_tag"}
LF_FILE_TYPES = {"arrow", "csv", "json", "jsonl", "parquet", "txt"}  # extras/constants.py FILEEXT2TYPE


def lf_check_entry(bundle: Path, entry: dict[str, Any]) -> int:
    """Apply LLaMA Factory's own rules (converter.py) to every row of an entry's file; returns rows."""
    assert set(entry) <= LF_ENTRY_KEYS and entry["formatting"] in LF_FORMATTINGS
    assert set(entry["columns"]) <= LF_COLUMNS and set(entry.get("tags", {})) <= LF_TAGS
    assert entry["file_name"].rsplit(".", 1)[-1] in LF_FILE_TYPES
    rows = json.loads((bundle / entry["file_name"]).read_text(encoding="utf-8"))
    cols = entry["columns"]
    for row in rows:
        if entry["formatting"] == "alpaca":
            for column in cols.values():
                assert column in row  # AlpacaDatasetConverter indexes example[column]
            assert isinstance(row[cols["response"]], str) and row[cols["prompt"]]
            continue
        tags = entry["tags"]
        messages = row[cols["messages"]]
        if messages[0][tags["role_tag"]] == tags["system_tag"]:
            messages = messages[1:]
        accept = (tags["user_tag"], tags["assistant_tag"])
        assert [m[tags["role_tag"]] for m in messages] == [accept[i % 2] for i in range(len(messages))]
        assert len(messages) % 2 == 0 and all(isinstance(m[tags["content_tag"]], str) for m in messages)
    return len(rows)


def test_llamafactory_bundle_golden(tmp_path: Path) -> None:
    options = make_options(format="alpaca", cot="think", system_prompt=SYSTEM, val_size=0.25, include_history=True)
    result = export_llamafactory(
        lambda: iter(PAIRS), tmp_path / "bundle", options, name="财报 demo", manifest_extra={"project": "财报 demo"}
    )
    bundle = tmp_path / "bundle"
    names = [
        "alpaca.json",
        "sharegpt.json",
        "alpaca_val.json",
        "sharegpt_val.json",
        "dataset_info.json",
        "train_lora.yaml",
        "manifest.json",
    ]
    assert [p.name for p in result.files] == names
    assert result.counts["val"] == 2 and result.counts["total"] == len(PAIRS)
    for name in names[:-2]:
        check_golden(bundle / name, GOLDEN / "llamafactory" / name)
    check_golden(bundle / "train_lora.yaml", GOLDEN / "llamafactory" / "train_lora.yaml", {str(bundle): "<BUNDLE_DIR>"})
    info = json.loads((bundle / "dataset_info.json").read_text(encoding="utf-8"))
    assert list(info) == ["财报_demo_alpaca", "财报_demo_sharegpt", "财报_demo_alpaca_val", "财报_demo_sharegpt_val"]
    counted = {name: lf_check_entry(bundle, entry) for name, entry in info.items()}
    assert counted["财报_demo_alpaca"] + counted["财报_demo_alpaca_val"] == len(PAIRS)
    config = yaml.safe_load((bundle / "train_lora.yaml").read_text(encoding="utf-8"))
    assert config["dataset_dir"] == str(bundle) and Path(config["dataset_dir"]).is_absolute()
    assert config["dataset"] in info and config["eval_dataset"] in info
    expected = {
        "model_name_or_path": "MODEL_PATH",
        "stage": "sft",
        "do_train": True,
        "finetuning_type": "lora",
        "lora_rank": 16,
        "lora_alpha": 32,
        "lora_dropout": 0.0,
        "lora_target": "all",
        "template": "qwen",
        "cutoff_len": 1024,
        "learning_rate": 1.0e-4,
        "lr_scheduler_type": "cosine",
        "num_train_epochs": 8.0,
        "per_device_train_batch_size": 2,
        "gradient_accumulation_steps": 16,
        "bf16": True,
        "plot_loss": True,
        "overwrite_output_dir": True,
        "eval_strategy": "steps",
    }
    assert {k: config[k] for k in expected} == expected
    assert all(type(config[k]) is type(v) for k, v in expected.items())
    assert 'eval_strategy: "steps"' in (bundle / "train_lora.yaml").read_text(encoding="utf-8")
    manifest = json.loads(result.manifest_path.read_text(encoding="utf-8"))
    assert manifest["format"] == "llamafactory" and manifest["project"] == "财报 demo"
    assert manifest["llamafactory"]["entries"] == list(info)


def test_llamafactory_without_split_or_system(tmp_path: Path) -> None:
    result = export_llamafactory(
        lambda: iter(PAIRS),
        tmp_path / "b",
        make_options(val_size=0.0, format="alpaca"),
        name="p",
        model_path_placeholder="/models/qwen",
    )
    info = json.loads((tmp_path / "b" / "dataset_info.json").read_text(encoding="utf-8"))
    assert list(info) == ["p_alpaca", "p_sharegpt"]
    assert info["p_alpaca"]["columns"] == {"prompt": "instruction", "query": "input", "response": "output"}
    config = yaml.safe_load((tmp_path / "b" / "train_lora.yaml").read_text(encoding="utf-8"))
    assert config["model_name_or_path"] == "/models/qwen"
    assert "eval_dataset" not in config and "eval_strategy" not in config
    assert [p.name for p in result.files][:2] == ["alpaca.json", "sharegpt.json"]
    for entry in info.values():
        lf_check_entry(tmp_path / "b", entry)
