"""Trainer features beyond the core loop, on a tiny random Qwen2 model (CPU): resuming from a checkpoint
continues the step count and the learning-rate schedule; early stopping; length-grouped batches; `freeze`
layer choice; the named template's chat template saved with the model; ModelScope downloads when
`USE_MODELSCOPE_HUB=1`; progress reports."""

from __future__ import annotations

import json
import shutil
import sys
import types
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from loreforge.errors import ConfigError, MissingDependency  # noqa: E402
from loreforge.train.callbacks import TRAINER_LOG  # noqa: E402
from loreforge.train.config import load_train_config  # noqa: E402
from loreforge.train.templates import TEMPLATES  # noqa: E402
from train_workspace import alpaca_workspace  # noqa: E402
from loreforge.train.methods import apply_finetuning  # noqa: E402
from loreforge.train.trainer import build_trainer, model_source, run_training  # noqa: E402

# A fictional research institute, questions of very different lengths (so length grouping shows).
FACTS = [
    (f"北辰海洋研究所第{i}号观测站在哪里？",
     f"第{i}号观测站位于东经{120 + i}度" + "".join(f"，第{j}层深{j * 37 + i}米测{'温盐流氧'[j % 4]}" for j in range(i % 6 * 4)) + "。")
    for i in range(96)
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = [{"instruction": q, "input": "", "output": a} for q, a in FACTS]
    return alpaca_workspace(tmp_path_factory.mktemp("features"), {"beichen": rows}, layers=3)


def config(**overrides: Any) -> Any:
    base = {
        "model_name_or_path": "model", "stage": "sft", "do_train": True, "dataset": "beichen", "dataset_dir": "data",
        "cutoff_len": 128, "per_device_train_batch_size": 4, "logging_steps": 1, "save_strategy": "no",
        "disable_gradient_checkpointing": True, "overwrite_output_dir": True, "seed": 11, "finetuning_type": "full",
        "learning_rate": 2e-3,
    }
    return load_train_config(base | overrides)


def read_log(output_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (output_dir / TRAINER_LOG).read_text(encoding="utf-8").splitlines()]


def test_resume_continues_step_count_and_schedule(workspace: Path) -> None:
    """Stop after step 3 (checkpoint), resume: steps 4..6 follow with the learning rates and losses of an
    uninterrupted run."""
    common = {"max_steps": 6, "lr_scheduler_type": "cosine", "warmup_steps": 2, "save_strategy": "steps", "save_steps": 3}
    whole = run_training(config(output_dir="resume_whole", **common), cwd=workspace, log=lambda _: None)
    reference = {r["current_steps"]: r for r in read_log(whole.output_dir)}

    part = workspace / "resume_part"
    run_training(config(output_dir="resume_part", **common), cwd=workspace, log=lambda _: None)
    shutil.rmtree(part / "checkpoint-6")  # as if the run had been killed after the checkpoint at step 3
    lines: list[str] = []
    resumed = run_training(config(output_dir="resume_part", overwrite_output_dir=False, **common), cwd=workspace,
                           log=lines.append)
    assert any("Resuming training from" in line and "checkpoint-3" in line for line in lines)
    assert resumed.global_step == 6
    assert [r["current_steps"] for r in read_log(part)] == [1, 2, 3, 4, 5, 6]  # each step once: 4..6 logged again
    new = read_log(part)[3:]
    for r in new:
        assert r["total_steps"] == 6
        assert r["lr"] == pytest.approx(reference[r["current_steps"]]["lr"], rel=1e-6)
        assert r["loss"] == pytest.approx(reference[r["current_steps"]]["loss"], rel=1e-3)


def test_early_stopping_ends_the_run_when_eval_loss_stops_improving(workspace: Path) -> None:
    # a learning rate so high the eval loss cannot keep improving: patience 1 stops long before max_steps
    cfg = config(output_dir="early", max_steps=60, learning_rate=0.5, val_size=6, eval_strategy="steps", eval_steps=1,
                 save_strategy="steps", save_steps=1, load_best_model_at_end=True, early_stopping_steps=1,
                 save_total_limit=2)
    result = run_training(cfg, cwd=workspace, log=lambda _: None)
    evals = [r["eval_loss"] for r in read_log(result.output_dir) if "eval_loss" in r]
    assert result.global_step < 60
    assert len(evals) >= 2 and evals[-1] >= min(evals[:-1])  # stopped right after an eval that did not improve
    assert result.best_checkpoint is not None and result.best_checkpoint.is_dir()


def test_early_stopping_needs_best_model_tracking() -> None:
    with pytest.raises(ConfigError, match="early_stopping_steps"):
        config(early_stopping_steps=2)


def _padding_share(cfg: Any, workspace: Path) -> float:
    run = build_trainer(cfg, workspace, lambda _: None)
    pads = total = 0
    for batch in run.trainer.get_train_dataloader():
        mask = batch["attention_mask"]
        pads += int((mask == 0).sum())
        total += mask.numel()
    return pads / total


def test_length_grouped_batches_cut_padding(workspace: Path) -> None:
    # transformers' LengthGroupedSampler sorts "megabatches" of up to 50 batches; 96 examples make 6 of 4 each
    plain = _padding_share(config(output_dir="lg_plain", cutoff_len=512), workspace)
    grouped = _padding_share(config(output_dir="lg_grouped", cutoff_len=512, group_by_length=True), workspace)
    assert grouped < plain * 0.7, (plain, grouped)


@pytest.mark.parametrize(("layers", "trainable"), [(1, {2}), (2, {1, 2}), (-1, {0})])
def test_freeze_trains_the_chosen_layers_only(workspace: Path, layers: int, trainable: set[int]) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(workspace / "model")
    model = apply_finetuning(model, config(finetuning_type="freeze", freeze_trainable_layers=layers))
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert names and all(".layers." in n for n in names)
    assert {int(n.split(".layers.")[1].split(".")[0]) for n in names} == trainable


def test_named_template_is_saved_as_the_models_chat_template(workspace: Path) -> None:
    from transformers import AutoTokenizer

    progress: list[dict[str, Any]] = []
    result = run_training(config(output_dir="tmpl", template="chatml", finetuning_type="lora", max_steps=2),
                          cwd=workspace, log=lambda _: None, on_progress=progress.append)
    tok = AutoTokenizer.from_pretrained(result.output_dir)
    assert tok.chat_template == TEMPLATES["chatml"].jinja()
    text = tok.apply_chat_template([{"role": "user", "content": "Q"}], tokenize=False)
    assert text == "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"  # chatml: no default system
    assert progress and progress[-1]["current_steps"] == 2 and progress[-1]["percentage"] == 100


def test_modelscope_hub_is_used_when_enabled(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    fake = types.ModuleType("modelscope")

    def snapshot_download(model_id: str, **options: Any) -> str:
        calls.append((model_id, options))
        return str(workspace / "model")

    fake.snapshot_download = snapshot_download  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "modelscope", fake)
    assert model_source("Qwen/Qwen2.5-3B-Instruct", workspace) == "Qwen/Qwen2.5-3B-Instruct"  # off by default
    monkeypatch.setenv("USE_MODELSCOPE_HUB", "1")
    assert model_source("model", workspace) == str(workspace / "model")  # a local folder wins
    assert model_source("Qwen/Qwen2.5-3B-Instruct", workspace) == str(workspace / "model")
    assert model_source("Qwen/Qwen2.5-3B-Instruct", workspace, "v1.0", "/cache") == str(workspace / "model")
    assert calls == [("Qwen/Qwen2.5-3B-Instruct", {"revision": "master", "cache_dir": None}),
                     ("Qwen/Qwen2.5-3B-Instruct", {"revision": "v1.0", "cache_dir": "/cache"})]
    monkeypatch.setitem(sys.modules, "modelscope", None)  # not installed
    with pytest.raises(MissingDependency, match="modelscope"):
        model_source("Qwen/Qwen2.5-3B-Instruct", workspace)


@pytest.mark.parametrize(("kind", "keys", "on_gpu", "bf16_ok", "expected"), [
    ("lora", {}, False, False, "float32"),
    ("lora", {"bf16": True}, False, True, "float32"),  # CPU: always fp32
    ("lora", {}, True, True, "bfloat16"),  # auto on a bf16 GPU
    ("lora", {}, True, False, "float16"),  # auto on an older GPU / DCU without bf16
    ("lora", {"fp16": True}, True, True, "float16"),
    ("freeze", {"bf16": True}, True, True, "bfloat16"),
    ("full", {"bf16": True}, True, True, "float32"),  # fp32 master weights, bf16 autocast
])
def test_load_dtype_auto(kind: str, keys: dict[str, Any], on_gpu: bool, bf16_ok: bool, expected: str) -> None:
    from loreforge.train.trainer import load_dtype

    assert load_dtype(config(finetuning_type=kind, **keys), on_gpu, bf16_ok) == expected


def test_resume_skips_a_checkpoint_cut_short_while_saving(tmp_path: Path) -> None:
    from loreforge.train.trainer import last_complete_checkpoint

    for step, complete in ((4, True), (8, True), (12, False), (16, False)):
        (tmp_path / f"checkpoint-{step}").mkdir()
        if complete:
            (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text(f'{{"global_step": {step}}}')
            (tmp_path / f"checkpoint-{step}" / "adapter_model.safetensors").write_bytes((2).to_bytes(8, "little") + b"{}")
    (tmp_path / "checkpoint-x").mkdir()
    lines: list[str] = []
    assert last_complete_checkpoint(tmp_path, lines.append) == tmp_path / "checkpoint-8"
    assert len(lines) == 2 and "checkpoint-16" in lines[0] and "incomplete" in lines[0]
    assert last_complete_checkpoint(tmp_path / "empty", lines.append) is None
