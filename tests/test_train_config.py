"""TrainConfig: LLaMA Factory's SFT keys, defaults, traps and error messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from loreforge.errors import ConfigError
from loreforge.export.llamafactory import render_train_yaml
from loreforge.export.options import TrainRecipe
from loreforge.train import TrainConfig, load_train_config

# LLaMA Factory's examples/train_lora/qwen3_lora_sft.yaml, examples/train_full/qwen3_full_sft.yaml (as of 2026-08)
LF_LORA = """\
### model
model_name_or_path: Qwen/Qwen3-4B-Instruct-2507
trust_remote_code: true

### method
stage: sft
do_train: true
finetuning_type: lora
lora_rank: 8
lora_target: all

### dataset
dataset: identity,alpaca_en_demo
template: qwen3_nothink
cutoff_len: 2048
max_samples: 1000
preprocessing_num_workers: 16
dataloader_num_workers: 4

### output
output_dir: saves/qwen3-4b/lora/sft
logging_steps: 10
save_steps: 500
plot_loss: true
overwrite_output_dir: true
save_only_model: false
report_to: none  # choices: [none, wandb, tensorboard, swanlab, mlflow]

### train
per_device_train_batch_size: 1
gradient_accumulation_steps: 8
learning_rate: 1.0e-4
num_train_epochs: 3.0
lr_scheduler_type: cosine
warmup_ratio: 0.1
bf16: true
ddp_timeout: 180000000
resume_from_checkpoint: null

### eval
eval_dataset: alpaca_en_demo
per_device_eval_batch_size: 1
eval_strategy: steps
eval_steps: 500
"""

LF_FULL_DS3 = """\
model_name_or_path: Qwen/Qwen3-4B-Instruct-2507
trust_remote_code: true
stage: sft
do_train: true
finetuning_type: full
deepspeed: examples/deepspeed/ds_z3_config.json
dataset: identity,alpaca_en_demo
template: qwen3_nothink
cutoff_len: 2048
max_samples: 1000
output_dir: saves/qwen3-4b/full/sft
learning_rate: 1.0e-5
val_size: 0.1
eval_strategy: steps
eval_steps: 100
packing: true
neat_packing: true
flash_attn: fa2
gradient_checkpointing: false
"""


@pytest.mark.parametrize("text", [LF_LORA, LF_FULL_DS3], ids=["lora", "full-ds3"])
def test_llamafactory_examples_parse(tmp_path: Path, text: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    cfg = load_train_config(path)
    assert cfg.datasets == ["identity", "alpaca_en_demo"]
    assert cfg.stage == "sft" and cfg.do_train


def test_lora_example_values() -> None:
    cfg = load_train_config({"model_name_or_path": "m", "learning_rate": "1e-4"} | {"lora_target": "q_proj, v_proj"})
    assert cfg.learning_rate == 1e-4  # PyYAML leaves 1e-4 a string; cast like HfArgumentParser
    assert cfg.lora_targets == ["q_proj", "v_proj"]


@pytest.mark.parametrize("with_val", [False, True])
def test_our_bundle_yaml_parses(tmp_path: Path, with_val: bool) -> None:
    path = tmp_path / "train_lora.yaml"
    path.write_text(render_train_yaml("proj", tmp_path, TrainRecipe(), with_val), encoding="utf-8")
    cfg = load_train_config(path)
    assert cfg.dataset == "proj_alpaca" and cfg.template == "qwen"
    assert cfg.eval_strategy == ("steps" if with_val else "no")
    assert cfg.load_best_model_at_end is with_val


def test_llamafactory_defaults() -> None:
    cfg = TrainConfig(model_name_or_path="m")
    assert (cfg.cutoff_len, cfg.lora_rank, cfg.lora_alpha, cfg.effective_lora_alpha) == (2048, 8, None, 16)
    assert (cfg.lora_target, cfg.finetuning_type, cfg.dataset_dir, cfg.template) == ("all", "lora", "data", None)
    assert (cfg.learning_rate, cfg.num_train_epochs, cfg.per_device_train_batch_size) == (5e-5, 3.0, 8)
    assert (cfg.logging_steps, cfg.save_steps, cfg.seed, cfg.eval_strategy) == (None, 500, 42, "no")  # unset: auto
    assert cfg.gradient_checkpointing_choice is None and not cfg.use_packing and cfg.flash_attn == "auto"
    assert TrainConfig(model_name_or_path="m", neat_packing=True).use_packing
    assert TrainConfig(model_name_or_path="m", disable_gradient_checkpointing=True).gradient_checkpointing_choice is False
    assert TrainConfig(model_name_or_path="m", gradient_checkpointing=True).gradient_checkpointing_choice is True


def test_unquoted_no_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("model_name_or_path: m\neval_strategy: no\nsave_strategy: no\n", encoding="utf-8")
    cfg = load_train_config(path)
    assert cfg.eval_strategy == "no" and cfg.save_strategy == "no"


def test_unknown_key_names_nearest() -> None:
    with pytest.raises(ConfigError) as err:
        load_train_config({"model_name_or_path": "m", "lora_rnak": 16})
    assert "`lora_rnak`" in str(err.value) and "`lora_rank`" in str(err.value)
    with pytest.raises(ConfigError, match="Did you mean `learning_rate`"):
        load_train_config({"model_name_or_path": "m", "lerning_rate": 2e-4})


@pytest.mark.parametrize(
    ("key", "value"),
    [("cutoff_len", "long"), ("lora_dropout", 1.5), ("finetuning_type", "qlora"), ("stage", "dpo"),
     ("flash_attn", "fa9"), ("eval_strategy", "sometimes"), ("lora_rank", 0)],
)
def test_bad_value_names_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=key):
        load_train_config({"model_name_or_path": "m", key: value})


def test_inconsistent_options() -> None:
    with pytest.raises(ConfigError, match="mask_history"):
        load_train_config({"model_name_or_path": "m", "mask_history": True, "train_on_prompt": True})
    with pytest.raises(ConfigError, match="val_size"):
        load_train_config({"model_name_or_path": "m", "dataset": "a", "eval_dataset": "b", "val_size": 0.1})
    with pytest.raises(ConfigError, match="model_name_or_path"):
        load_train_config({})
    with pytest.raises(ConfigError, match="`loraplus_lr_ratio` is only valid for `finetuning_type: lora`"):
        load_train_config({"model_name_or_path": "m", "finetuning_type": "full", "loraplus_lr_ratio": 16})


def test_anchored_makes_adapter_and_cache_paths_absolute(tmp_path: Path) -> None:
    cfg = load_train_config({"model_name_or_path": "m", "adapter_name_or_path": "a, /abs/b", "cache_dir": "hf"})
    fixed = cfg.anchored(tmp_path)
    assert fixed.adapters == [str(tmp_path / "a"), "/abs/b"] and fixed.cache_dir == str(tmp_path / "hf")


def test_dataset_dir_relative_to_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "c.yaml"
    path.write_text("model_name_or_path: m\ndataset_dir: mydata\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_train_config(path).resolved_dataset_dir() == tmp_path / "mydata"


def test_bad_yaml(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_train_config(path)


@pytest.mark.parametrize(("content", "message"), [
    (b"stage: sft\nlora_target: [q_proj\n", r"not valid YAML — got expected ',' or '\]', but got '<stream end>' at line 3 column 1"),
    ("stage: sft\ndataset: 财报\n".encode("gbk"), "is not UTF-8 text"),
])
def test_unreadable_yaml_names_the_file_and_place(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=message) as caught:
        load_train_config(path)
    assert str(path) in str(caught.value)


def test_llamafactory_features_we_lack_are_accepted_off_and_refused_on() -> None:
    off = {"model_name_or_path": "m", "use_galore": False, "galore_rank": 16, "quantization_bit": None,
           "double_quantization": True, "use_unsloth": False, "rope_scaling": None, "preprocessing_batch_size": 1000}
    cfg = load_train_config(off)
    assert cfg.trainer_extras == {}  # off switches and their settings change nothing, and are not passed on
    with pytest.raises(ConfigError, match=r"`quantization_bit: 4` asks for QLoRA .* does not support. Remove `quantization_bit`"):
        load_train_config({"model_name_or_path": "m", "quantization_bit": 4, "quantization_method": "bnb"})
    with pytest.raises(ConfigError, match="the GaLore optimizer"):
        load_train_config({"model_name_or_path": "m", "use_galore": True})
    with pytest.raises(ConfigError, match="`hf_hub_token` is not taken from a config file.* Set the HF_TOKEN"):
        load_train_config({"model_name_or_path": "m", "hf_hub_token": "hf_secret"})
    assert "hf_hub_token" not in load_train_config({"model_name_or_path": "m", "hf_hub_token": None}).model_dump()


def test_transformers_training_arguments_pass_through() -> None:
    pytest.importorskip("transformers")
    cfg = load_train_config({"model_name_or_path": "m", "neftune_noise_alpha": 5, "tf32": False,
                             "lr_scheduler_kwargs": {"min_lr_rate": 0.1}})
    assert cfg.trainer_extras == {"neftune_noise_alpha": 5, "tf32": False, "lr_scheduler_kwargs": {"min_lr_rate": 0.1}}
    assert cfg.model_dump()["neftune_noise_alpha"] == 5  # recorded with the run, reloaded the same
    assert load_train_config(cfg.model_dump()) == cfg
    with pytest.raises(ConfigError, match="Unknown training key `include_num_input_token_seen`. Did you mean "
                                          "`include_num_input_tokens_seen`"):
        load_train_config({"model_name_or_path": "m", "include_num_input_token_seen": True})
