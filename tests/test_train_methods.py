"""LLaMA Factory's method keys beyond the basics, on a tiny random Qwen2 model (CPU): `freeze_trainable_modules`
and `freeze_extra_modules`, LoRA `additional_target`, LoRA+ (`loraplus_lr_ratio`), training an earlier adapter
further (`adapter_name_or_path`) or merging it first (`create_new_adapter`), and `default_system`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from loreforge.errors import ConfigError, NotFound  # noqa: E402
from loreforge.train.config import load_train_config  # noqa: E402
from loreforge.train.methods import apply_finetuning  # noqa: E402
from loreforge.train.templates import get_template  # noqa: E402
from loreforge.train.trainer import build_trainer, run_training  # noqa: E402
from train_workspace import alpaca_workspace  # noqa: E402

# A fictional tea cooperative.
ROWS = [{"instruction": f"云雾茶社第{i}号茶园种什么茶？", "input": "", "output": f"第{i}号茶园种的是{'龙井碧螺毛峰'[i % 3 * 2:i % 3 * 2 + 2]}。"}
        for i in range(16)]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return alpaca_workspace(tmp_path_factory.mktemp("methods"), {"tea": ROWS}, layers=3)


def config(**overrides: Any) -> Any:
    base = {
        "model_name_or_path": "model", "stage": "sft", "do_train": True, "dataset": "tea", "dataset_dir": "data",
        "template": "qwen", "cutoff_len": 96, "per_device_train_batch_size": 4, "logging_steps": 1,
        "save_strategy": "no", "disable_gradient_checkpointing": True, "overwrite_output_dir": True, "seed": 3,
        "learning_rate": 1e-2,
    }
    return load_train_config(base | overrides)


def _model(workspace: Path) -> Any:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(workspace / "model")


def _trainable(model: Any) -> list[str]:
    return [name for name, param in model.named_parameters() if param.requires_grad]


def test_freeze_modules_and_extra_modules(workspace: Path) -> None:
    cfg = config(finetuning_type="freeze", freeze_trainable_layers=1, freeze_trainable_modules="mlp",
                 freeze_extra_modules="embed_tokens")
    names = _trainable(apply_finetuning(_model(workspace), cfg))
    assert names == ["model.embed_tokens.weight", *[f"model.layers.2.mlp.{p}_proj.weight" for p in ("gate", "up", "down")]]
    with pytest.raises(ConfigError, match=r"`freeze_trainable_modules`: no module mpl .* expected all, or some of "
                                          r"input_layernorm, mlp, post_attention_layernorm, self_attn"):
        apply_finetuning(_model(workspace), config(finetuning_type="freeze", freeze_trainable_modules="mpl"))
    with pytest.raises(ConfigError, match="`freeze_extra_modules`: no module embeddings"):
        apply_finetuning(_model(workspace), config(finetuning_type="freeze", freeze_extra_modules="embeddings"))


def test_additional_target_trains_whole_modules_beside_lora(workspace: Path) -> None:
    names = _trainable(apply_finetuning(_model(workspace), config(additional_target="embed_tokens")))
    assert any("lora_A" in n for n in names)
    assert [n for n in names if "embed_tokens" in n] == ["base_model.model.model.embed_tokens.modules_to_save.default.weight"]


def test_loraplus_gives_lora_b_a_higher_learning_rate(workspace: Path) -> None:
    prepared = build_trainer(config(loraplus_lr_ratio=16, output_dir="loraplus", max_steps=1), workspace, lambda _: None)
    optimizer = prepared.trainer.create_optimizer()
    named = list(prepared.trainer.model.named_parameters())

    def rates(part: str) -> set[float]:
        wanted = {id(p) for n, p in named if part in n}
        return {g["lr"] for g in optimizer.param_groups if any(id(p) in wanted for p in g["params"])}

    assert sorted(rates("lora_A")) == pytest.approx([1e-2]) and sorted(rates("lora_B")) == pytest.approx([0.16])
    result = run_training(config(loraplus_lr_ratio=16, output_dir="loraplus_run", max_steps=2), cwd=workspace)
    assert result.global_step == 2


def test_an_earlier_adapter_trains_further_or_is_merged_first(workspace: Path) -> None:
    import torch

    first = run_training(config(output_dir="first", max_steps=3), cwd=workspace)
    ids = torch.tensor([[1, 5, 9, 14, 20]])

    def logits(model: Any) -> Any:
        with torch.no_grad():
            return model(ids).logits

    from peft import PeftModel

    expected = logits(PeftModel.from_pretrained(_model(workspace), str(first.output_dir)))
    resumed = apply_finetuning(_model(workspace), config(adapter_name_or_path="first"), workspace)
    assert torch.allclose(logits(resumed), expected, atol=1e-5)
    assert any("lora_B" in n for n in _trainable(resumed))  # the adapter itself trains on
    fresh = apply_finetuning(_model(workspace), config(adapter_name_or_path=str(first.output_dir),
                                                       create_new_adapter=True), workspace)
    assert torch.allclose(logits(fresh), expected, atol=1e-5)  # merged, plus a new adapter that starts at zero
    assert len(_trainable(fresh)) == len(_trainable(resumed))
    assert not any(".lora_" in n and "default" not in n for n in _trainable(fresh))
    second = run_training(config(adapter_name_or_path="first", output_dir="second", max_steps=2), cwd=workspace)
    assert second.global_step == 2 and (second.output_dir / "adapter_model.safetensors").exists()
    with pytest.raises(NotFound, match="No LoRA adapter"):
        apply_finetuning(_model(workspace), config(adapter_name_or_path="nothing-here"), workspace)


def test_default_system_replaces_the_templates(workspace: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(workspace / "model")
    template = get_template("qwen", tok, default_system="你是茶社助手。")
    prepared = build_trainer(config(default_system="你是茶社助手。", output_dir="system", max_steps=1), workspace,
                             lambda _: None)
    first = prepared.trainer.train_dataset[0]["input_ids"]
    assert "你是茶社助手。" in tok.decode(first) and "Qwen" not in tok.decode(first)
    assert "你是茶社助手。" in template.jinja()  # and the saved chat template carries it
