"""The trainer core end to end on a tiny random Qwen2 model (CPU): full fine-tuning lowers the loss, a LoRA
adapter saves and reloads to the same logits, `trainer_log.jsonl` has LLaMA Factory's fields and the loss plot
is drawn, and a validation split logs eval loss and reports the best checkpoint. Plus the collator and the
first-example log as units."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from loreforge.train.callbacks import LOG_FIELDS, TRAINER_LOG  # noqa: E402
from loreforge.train.collate import SFTCollator  # noqa: E402
from loreforge.train.config import load_train_config  # noqa: E402
from loreforge.train.data import IGNORE_INDEX  # noqa: E402
from train_workspace import alpaca_workspace  # noqa: E402
from loreforge.train.trainer import TrainResult, describe_example, run_training  # noqa: E402

# A fictional company: 云栖星辰科技 (Yunqi Xingchen Technology).
FACTS = [
    ("云栖星辰科技成立于哪一年？", "云栖星辰科技成立于2011年。"),
    ("云栖星辰科技的总部在哪里？", "总部位于杭州市余杭区。"),
    ("云栖星辰科技的创始人是谁？", "创始人是林望舒。"),
    ("云栖星辰科技的主营业务是什么？", "主营业务是卫星遥感数据服务。"),
    ("2024年营业收入是多少？", "2024年营业收入为27.3亿元。"),
    ("2024年净利润是多少？", "2024年净利润为3.8亿元。"),
    ("营业收入同比增长多少？", "同比增长18.6%。"),
    ("公司有多少名员工？", "截至2024年末共有员工2150人。"),
    ("研发人员占比是多少？", "研发人员占比为46%。"),
    ("研发投入是多少？", "2024年研发投入为4.1亿元。"),
    ("公司在哪个交易所上市？", "公司在上海证券交易所科创板上市。"),
    ("股票代码是多少？", "股票代码为688917。"),
    ("公司拥有几颗在轨卫星？", "公司拥有14颗在轨遥感卫星。"),
    ("最新发射的卫星叫什么？", "最新发射的卫星名为星辰十四号。"),
    ("公司的董事长是谁？", "董事长是林望舒。"),
    ("公司的总经理是谁？", "总经理是周砚秋。"),
    ("公司最大的客户来自哪个行业？", "最大的客户来自农业保险行业。"),
    ("海外收入占比是多少？", "海外收入占比为12%。"),
    ("公司的毛利率是多少？", "2024年综合毛利率为41.5%。"),
    ("公司有多少项发明专利？", "公司拥有发明专利326项。"),
    ("公司的数据中心在哪里？", "数据中心位于贵州省贵安新区。"),
    ("公司的口号是什么？", "口号是让地球每天都被看见。"),
    ("公司的经营现金流是多少？", "2024年经营活动现金流净额为5.2亿元。"),
    ("公司分红方案是什么？", "每10股派发现金红利3元。"),
    ("公司的资产负债率是多少？", "资产负债率为28.4%。"),
    ("公司2025年的收入目标是多少？", "2025年收入目标为33亿元。"),
    ("公司的主要竞争对手是谁？", "主要竞争对手是长光遥感。"),
    ("公司在哪一年上市？", "公司于2019年上市。"),
    ("公司的英文名称是什么？", "英文名称是Yunqi Stellar Technology。"),
    ("公司的客服电话是多少？", "客服电话是400-820-2011。"),
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = [{"instruction": q, "input": "", "output": a} for q, a in FACTS]
    return alpaca_workspace(tmp_path_factory.mktemp("train"), {"yunqi": rows})


def config(**overrides: Any) -> Any:
    base = {
        "model_name_or_path": "model", "stage": "sft", "do_train": True, "dataset": "yunqi", "dataset_dir": "data",
        "cutoff_len": 128, "per_device_train_batch_size": 8, "logging_steps": 2, "save_strategy": "no",
        "disable_gradient_checkpointing": True, "report_to": "none", "overwrite_output_dir": True, "seed": 7,
    }
    return load_train_config(base | overrides)


def read_log(output_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (output_dir / TRAINER_LOG).read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def full_run(workspace: Path) -> tuple[TrainResult, list[str]]:
    lines: list[str] = []
    cfg = config(finetuning_type="full", output_dir="out_full", learning_rate=3e-3, num_train_epochs=12,
                 lr_scheduler_type="cosine", warmup_ratio=0.05)
    return run_training(cfg, cwd=workspace, log=lines.append), lines


def test_full_finetuning_lowers_the_loss(full_run: tuple[TrainResult, list[str]]) -> None:
    result, _ = full_run
    losses = [r["loss"] for r in read_log(result.output_dir) if "loss" in r]
    assert len(losses) >= 10
    assert losses[0] > 2 * losses[-1], losses
    assert result.global_step == 12 * 4  # 30 examples, batch 8 -> 4 steps per epoch
    assert result.train_loss is not None and result.eval_loss is None and result.best_checkpoint is None
    names = {p.name for p in result.output_dir.iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "all_results.json", "trainer_state.json"} <= names
    tokenizer_files = (result.output_dir / "tokenizer_config.json").read_text() + "".join(
        p.read_text() for p in result.output_dir.glob("chat_template.*"))
    assert "<|im_start|>" in tokenizer_files  # the chat template travels with the model
    assert json.loads((result.output_dir / "all_results.json").read_text())["train_loss"] == pytest.approx(result.train_loss)


def test_log_shows_first_example_and_parameter_counts(full_run: tuple[TrainResult, list[str]]) -> None:
    _, lines = full_run
    text = "\n".join(lines)
    assert "inputs:\n<|im_start|>system" in text and FACTS[0][0] in text
    assert "labels:\n[-100 x " in text and f"]{FACTS[0][1]}<|im_end|>" in text
    assert "trainable params: " in text and "trainable%: 100.0000" in text


def test_trainer_log_has_llamafactory_fields_and_plot(full_run: tuple[TrainResult, list[str]]) -> None:
    result, _ = full_run
    records = read_log(result.output_dir)
    train_keys = set(LOG_FIELDS) - {"eval_loss"}
    assert records and all(set(r) == train_keys for r in records), records[0]
    assert [r["current_steps"] for r in records] == list(range(2, result.global_step + 1, 2))
    assert all(r["total_steps"] == result.global_step for r in records)
    assert records[-1]["percentage"] == 100.0 and records[-1]["epoch"] == pytest.approx(12)
    assert all(r["elapsed_time"].count(":") == 2 for r in records)
    png = result.output_dir / "training_loss.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (result.output_dir / "training_eval_loss.png").exists()


def test_lora_adapter_reloads_to_the_same_logits(workspace: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    lines: list[str] = []
    cfg = config(finetuning_type="lora", lora_rank=4, lora_target="all", output_dir="out_lora", learning_rate=5e-3,
                 max_steps=3, logging_steps=1)
    result = run_training(cfg, cwd=workspace, log=lines.append, return_model=True)
    assert result.global_step == 3
    names = {p.name for p in result.output_dir.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json"} <= names
    assert "model.safetensors" not in names
    adapter = json.loads((result.output_dir / "adapter_config.json").read_text())
    assert adapter["r"] == 4 and adapter["lora_alpha"] == 8
    assert set(adapter["target_modules"]) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert any(line.startswith("trainable params: ") and "trainable%: 100.0000" not in line for line in lines)

    inputs = torch.tensor([[5, 17, 42, 99, 256, 301, 12]])
    trained = result.model.eval()
    base = AutoModelForCausalLM.from_pretrained(workspace / "model", dtype=torch.float32)
    with torch.no_grad():
        base_logits = base(input_ids=inputs).logits
        reloaded = PeftModel.from_pretrained(base, result.output_dir).eval()
        expected = trained(input_ids=inputs).logits
        got = reloaded(input_ids=inputs).logits
    assert torch.allclose(expected, got, atol=1e-5)
    assert not torch.allclose(base_logits, got, atol=1e-4)  # the adapter learned something


def test_validation_split_reports_eval_loss_and_best_checkpoint(workspace: Path) -> None:
    cfg = config(finetuning_type="full", output_dir="out_eval", learning_rate=3e-3, num_train_epochs=3,
                 val_size=0.2, eval_strategy="steps", eval_steps=3, save_strategy="steps", save_steps=3,
                 per_device_train_batch_size=4, logging_steps=3)
    result = run_training(cfg, cwd=workspace, log=lambda _: None)
    records = read_log(result.output_dir)
    evals = [r for r in records if "eval_loss" in r]
    assert evals and all(set(r) == set(LOG_FIELDS) - {"loss", "lr"} for r in evals)
    assert result.global_step == 18  # 24 training examples, batch 4 -> 6 steps per epoch
    assert result.eval_loss is not None and result.metrics["eval_loss"] == result.eval_loss
    best = min(evals, key=lambda r: r["eval_loss"])
    assert result.best_checkpoint == result.output_dir / f"checkpoint-{best['current_steps']}"
    assert result.best_checkpoint.is_dir() and result.metrics["best_eval_loss"] == pytest.approx(best["eval_loss"])
    assert (result.output_dir / "training_eval_loss.png").exists()
    assert json.loads((result.output_dir / "all_results.json").read_text())["eval_loss"] == pytest.approx(result.eval_loss)


def test_collator_pads_labels_with_ignore_index() -> None:
    batch = SFTCollator(pad_token_id=0)([
        {"input_ids": [5, 6, 7], "labels": [-100, 6, 7]},
        {"input_ids": [8], "labels": [8]},
    ])
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [8, IGNORE_INDEX, IGNORE_INDEX]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    packed = SFTCollator(pad_token_id=0, pad_to_multiple_of=4)([
        {"input_ids": [1, 2, 3], "labels": [1, 2, 3], "position_ids": [0, 0, 1]},
    ])
    assert packed["position_ids"].tolist() == [[0, 0, 1, 0]] and "attention_mask" not in packed
    assert packed["labels"].tolist() == [[1, 2, 3, -100]]


def test_describe_example_marks_masked_spans() -> None:
    class Tok:
        def decode(self, ids: list[int], skip_special_tokens: bool = False) -> str:
            return "".join(chr(ord("a") + i) for i in ids)

    text = describe_example(Tok(), [0, 1, 2, 3, 4], [-100, -100, 2, -100, 4])
    assert text.endswith("labels:\n[-100 x 2]c[-100 x 1]e")
    assert "inputs:\nabcde" in text


def test_packed_batch_gives_the_unpacked_loss(workspace: Path) -> None:
    """Attention stays within each packed example: the same examples, packed or padded, give the same loss."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from loreforge.train.data import encode, load_dataset, pack
    from loreforge.train.templates import get_template

    tok = AutoTokenizer.from_pretrained(workspace / "model")
    model = AutoModelForCausalLM.from_pretrained(workspace / "model", dtype=torch.float32).eval()
    convs = load_dataset(["yunqi"], workspace / "data").conversations[:3]
    examples = [encode(c, tok, get_template(None, tok), 512) for c in convs]
    rows, dropped = pack(examples, 512)
    assert dropped == 0 and len(rows) == 1
    collate = SFTCollator(tok.pad_token_id)
    padded = collate([{"input_ids": i, "labels": lab} for i, lab in examples])
    packed = collate([{"input_ids": r.input_ids, "labels": r.labels, "position_ids": r.position_ids} for r in rows])
    with torch.no_grad():
        unpacked_loss = model(**padded, use_cache=False).loss
        packed_loss = model(**packed, use_cache=False).loss  # packing is detected only without a KV cache
    assert torch.allclose(unpacked_loss, packed_loss, atol=1e-4), (unpacked_loss, packed_loss)


def test_bad_rows_are_skipped_and_named_in_the_log(workspace: Path) -> None:
    data = workspace / "data"
    rows = [json.dumps({"instruction": q, "output": a}, ensure_ascii=False) for q, a in FACTS[:8]]
    (data / "messy.jsonl").write_text("\n".join([*rows[:4], "{not json", json.dumps({"instruction": "空"}), *rows[4:]]),
                                      encoding="utf-8")
    info = json.loads((data / "dataset_info.json").read_text(encoding="utf-8"))
    (data / "dataset_info.json").write_text(json.dumps(info | {"messy": {"file_name": "messy.jsonl"}}), encoding="utf-8")
    lines: list[str] = []
    result = run_training(config(dataset="messy", output_dir="out_messy", max_steps=1), cwd=workspace, log=lines.append)
    assert result.global_step == 1
    log = "\n".join(lines)
    assert "skipped 2 dataset row(s)" in log and "train examples: 8" in log
    assert "messy.jsonl line 5: not valid JSON" in log and "messy.jsonl line 6: no string response" in log


def test_a_broken_dataset_fails_before_the_model_loads(workspace: Path) -> None:
    from loreforge.errors import ConfigError

    (workspace / "data" / "broken.json").write_text('[{"instruction": "问"', encoding="utf-8")
    info = json.loads((workspace / "data" / "dataset_info.json").read_text(encoding="utf-8"))
    (workspace / "data" / "dataset_info.json").write_text(json.dumps(info | {"broken": {"file_name": "broken.json"}}),
                                                          encoding="utf-8")
    # The model path does not exist either; the dataset is read first, so its error is the one reported.
    with pytest.raises(ConfigError, match=r"broken\.json is not valid JSON"):
        run_training(config(dataset="broken", model_name_or_path="no-such-model", output_dir="out_broken"), cwd=workspace)


def test_preflight_problems_fail_before_anything_loads(workspace: Path, tmp_path: Path) -> None:
    import importlib.util

    from loreforge.errors import MissingDependency, NotFound, UserError

    # model_name_or_path does not exist either: these checks come first.
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    with pytest.raises(UserError, match="cannot write to .*a-file — got a file, not a folder"):
        run_training(config(model_name_or_path="no-such-model", output_dir=str(tmp_path / "a-file")), cwd=workspace)
    with pytest.raises(UserError, match="cannot write to .*a-file/out"):
        run_training(config(model_name_or_path="no-such-model", output_dir=str(tmp_path / "a-file" / "out")), cwd=workspace)
    with pytest.raises(NotFound, match="DeepSpeed config .*nothing.json does not exist"):
        run_training(config(model_name_or_path="no-such-model", deepspeed="nothing.json", output_dir="o1"), cwd=workspace)
    if importlib.util.find_spec("deepspeed") is None:
        ds = tmp_path / "ds.json"
        ds.write_text('{"zero_optimization": {"stage": 2}}', encoding="utf-8")
        with pytest.raises(MissingDependency, match="'deepspeed' is needed for `deepspeed` in the training config"):
            run_training(config(model_name_or_path="no-such-model", deepspeed=str(ds), output_dir="o2"), cwd=workspace)
    if importlib.util.find_spec("comet_ml") is None:
        with pytest.raises(MissingDependency, match="'comet_ml' is needed for `report_to: comet_ml`"):
            run_training(config(model_name_or_path="no-such-model", report_to=["comet_ml"], output_dir="o3"), cwd=workspace)
