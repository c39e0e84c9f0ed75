"""The shipped example configs stay valid: examples/train (our trainer's YAML keys), examples/deepspeed (DeepSpeed
JSON whose "auto" values the transformers Trainer fills) and examples/accelerate (`accelerate launch` configs)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from loreforge.export.llamafactory import dataset_info
from loreforge.export.options import make_options
from loreforge.train import load_train_config
from loreforge.train.config import TrainConfig

ROOT = Path(__file__).resolve().parent.parent
TRAIN = ROOT / "examples" / "train"
DEEPSPEED = ROOT / "examples" / "deepspeed"
ACCELERATE = ROOT / "examples" / "accelerate"

TRAIN_FILES = sorted(TRAIN.glob("*.yaml"))
DEEPSPEED_FILES = sorted(DEEPSPEED.glob("*.json"))
ACCELERATE_FILES = sorted(ACCELERATE.glob("*.yaml"))

# The "auto" values transformers' HfTrainerDeepSpeedConfig fills in (trainer_config_process / _finalize).
AUTO_FILLED = {
    "train_batch_size",
    "train_micro_batch_size_per_gpu",
    "gradient_accumulation_steps",
    "gradient_clipping",
    "bf16.enabled",
    "fp16.enabled",
    "optimizer.params.lr",
    "optimizer.params.betas",
    "optimizer.params.eps",
    "optimizer.params.weight_decay",
    "scheduler.params.warmup_min_lr",
    "scheduler.params.warmup_max_lr",
    "scheduler.params.warmup_num_steps",
    "scheduler.params.total_num_steps",
    "zero_optimization.reduce_bucket_size",
    "zero_optimization.stage3_prefetch_bucket_size",
    "zero_optimization.stage3_param_persistence_threshold",
}


def _names(paths: list[Path]) -> set[str]:
    return {p.name for p in paths}


def test_the_documented_examples_exist() -> None:
    assert {
        "qwen2.5_lora_sft.yaml",
        "qwen2.5_full_sft_ds3.yaml",
        "qwen2.5_freeze_sft.yaml",
        "qwen2.5_lora_sft_ds2.yaml",
        "qwen2.5_lora_sft_packing.yaml",
        "tiny_cpu_smoke.yaml",
    } <= _names(TRAIN_FILES)
    assert {
        "ds_z0_config.json",
        "ds_z2_config.json",
        "ds_z2_offload_config.json",
        "ds_z3_config.json",
        "ds_z3_offload_config.json",
    } <= _names(DEEPSPEED_FILES)
    assert {"fsdp_config.yaml", "multi_gpu.yaml", "multi_node_rank0.yaml"} <= _names(ACCELERATE_FILES)


# ---------------------------------------------------------------- examples/train


@pytest.mark.parametrize("path", TRAIN_FILES, ids=lambda p: p.name)
def test_train_example_loads(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#"), "each example opens with a comment block"
    header = text.split("\n###", 1)[0]
    assert "loreforge train examples/train/" + path.name in header, "the header shows how to run it"
    config = load_train_config(path)
    assert isinstance(config, TrainConfig)
    assert config.do_train and config.dataset, "an example trains on a dataset"
    if config.deepspeed:
        assert not Path(config.deepspeed).is_absolute()
        assert (ROOT / config.deepspeed).is_file(), f"{config.deepspeed} does not exist (relative to the repo root)"


@pytest.mark.parametrize("path", TRAIN_FILES, ids=lambda p: p.name)
def test_train_example_names_a_bundle_entry(path: Path) -> None:
    """`dataset` / `eval_dataset` are entries that `loreforge export PROJECT` writes into dataset_info.json."""
    config = load_train_config(path)
    prefix = config.datasets[0].rsplit("_", 1)[0]
    entries = set(dataset_info(prefix, make_options(format="sharegpt-messages"), with_val=True))
    assert set(config.datasets + config.eval_datasets) <= entries


@pytest.mark.parametrize("path", [p for p in TRAIN_FILES if re.search(r"_ds\d", p.name)], ids=lambda p: p.name)
def test_train_example_deepspeed_stage_matches_its_name(path: Path) -> None:
    config = load_train_config(path)
    assert config.deepspeed, "a *_ds<N> example names a DeepSpeed config"
    wanted = int(re.search(r"_ds(\d)", path.name).group(1))  # type: ignore[union-attr]
    ds = json.loads((ROOT / config.deepspeed).read_text(encoding="utf-8"))
    assert ds["zero_optimization"]["stage"] == wanted


@pytest.mark.parametrize("path", TRAIN_FILES, ids=lambda p: p.name)
def test_train_example_makes_valid_training_arguments(path: Path, tmp_path: Path) -> None:
    """transformers accepts the keys together (e.g. save_steps a multiple of eval_steps with
    load_best_model_at_end). DeepSpeed is left out: TrainingArguments needs the package installed for it."""
    pytest.importorskip("transformers")
    pytest.importorskip("torch")
    from loreforge.train.trainer import training_arguments

    config = load_train_config(path).model_copy(update={"deepspeed": None})
    has_eval = bool(config.val_size or config.eval_dataset)
    args = training_arguments(config, tmp_path, has_eval=has_eval, on_gpu=False,
                              checkpointing=config.gradient_checkpointing_choice is not False)
    assert args.gradient_accumulation_steps == config.gradient_accumulation_steps


def test_the_effective_batch_of_the_reference_recipe() -> None:
    config = load_train_config(TRAIN / "qwen2.5_lora_sft.yaml")
    assert (config.per_device_train_batch_size, config.gradient_accumulation_steps) == (1, 8)
    assert config.model_name_or_path == "Qwen/Qwen2.5-3B-Instruct"
    assert (config.lora_rank, config.lora_target, config.template, config.cutoff_len) == (8, "all", "qwen", 2048)
    assert (config.learning_rate, config.num_train_epochs, config.lr_scheduler_type) == (1e-4, 3.0, "cosine")
    assert (config.warmup_ratio, config.bf16, config.val_size, config.plot_loss) == (0.1, True, 0.1, True)
    assert config.load_best_model_at_end and config.eval_strategy == "steps"


# ---------------------------------------------------------------- examples/deepspeed


def _walk(node: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [item for key, value in node.items() for item in _walk(value, f"{prefix}{key}.")]
    return [(prefix.rstrip("."), node)]


@pytest.mark.parametrize("path", DEEPSPEED_FILES, ids=lambda p: p.name)
def test_deepspeed_config(path: Path) -> None:
    match = re.fullmatch(r"ds_z(\d)(_offload)?_config\.json", path.name)
    assert match, f"{path.name}: name it ds_z<stage>[_offload]_config.json"
    stage, offload = int(match.group(1)), bool(match.group(2))
    config = json.loads(path.read_text(encoding="utf-8"))
    zero = config["zero_optimization"]
    assert zero["stage"] == stage
    for key in ("train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps", "gradient_clipping"):
        assert config[key] == "auto", f"{key} is left to the Trainer"
    assert config["bf16"]["enabled"] == "auto" and config["fp16"]["enabled"] == "auto"
    autos = {key for key, value in _walk(config) if value == "auto"}
    assert autos <= AUTO_FILLED, f"'auto' where transformers fills nothing: {sorted(autos - AUTO_FILLED)}"
    if stage == 3:
        assert zero["stage3_gather_16bit_weights_on_model_save"] is True, "so save_model writes a full model"
    if offload:
        assert zero["offload_optimizer"] == {"device": "cpu", "pin_memory": True}
        if stage == 3:
            assert zero["offload_param"] == {"device": "cpu", "pin_memory": True}
        else:
            assert "offload_param" not in zero, "parameter offload exists in ZeRO-3 only"
        # DeepSpeed refuses ZeRO-Offload with the Trainer's torch AdamW unless told otherwise.
        assert "optimizer" in config or config.get("zero_force_ds_cpu_optimizer") is False
    else:
        assert "offload_optimizer" not in zero and "offload_param" not in zero


# ---------------------------------------------------------------- examples/accelerate


EXPECTED_TYPE = {"fsdp_config.yaml": "FSDP", "multi_gpu.yaml": "MULTI_GPU", "multi_node_rank0.yaml": "MULTI_GPU"}


@pytest.mark.parametrize("path", ACCELERATE_FILES, ids=lambda p: p.name)
def test_accelerate_config_loads(path: Path) -> None:
    pytest.importorskip("accelerate")
    from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file

    config = load_config_from_file(str(path))  # raises on unknown keys
    assert isinstance(config, ClusterConfig)
    assert path.name in EXPECTED_TYPE, f"add {path.name} to EXPECTED_TYPE"
    assert config.distributed_type.value == EXPECTED_TYPE[path.name]
    assert config.mixed_precision == "no", "precision comes from the training YAML's bf16/fp16"
    assert config.num_processes >= 2 and config.num_processes % config.num_machines == 0
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert raw["distributed_type"] == EXPECTED_TYPE[path.name]


def test_fsdp_config_saves_a_loadable_model() -> None:
    pytest.importorskip("accelerate")
    from accelerate.commands.config.config_args import load_config_from_file

    fsdp = load_config_from_file(str(ACCELERATE / "fsdp_config.yaml")).fsdp_config
    assert fsdp["fsdp_state_dict_type"] == "FULL_STATE_DICT"
    assert fsdp["fsdp_reshard_after_forward"] == "FULL_SHARD"
    assert fsdp["fsdp_auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
    assert fsdp["fsdp_activation_checkpointing"] is False, "the trainer's gradient checkpointing would clash"


def test_multi_node_config() -> None:
    pytest.importorskip("accelerate")
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(ACCELERATE / "multi_node_rank0.yaml"))
    assert (config.num_machines, config.machine_rank) == (2, 0)
    assert config.main_process_ip and config.main_process_port


def _launch_args(config: Path, *extra: str) -> Any:
    accelerate_launch = pytest.importorskip("accelerate.commands.launch")
    validate = getattr(accelerate_launch, "_validate_launch_command", None)
    if validate is None:
        pytest.skip("this accelerate has no _validate_launch_command")
    parser = accelerate_launch.launch_command_parser()
    args = parser.parse_args(["--config_file", str(config), *extra, "-m", "loreforge", "train", "CONFIG.yaml"])
    return validate(args)[0]


def test_accelerate_launch_reads_the_fsdp_config() -> None:
    """What `accelerate launch --config_file examples/accelerate/fsdp_config.yaml -m loreforge train` hands
    the processes: the FSDP settings as the environment the Trainer's Accelerator reads."""
    args = _launch_args(ACCELERATE / "fsdp_config.yaml")
    from accelerate.utils.launch import prepare_multi_gpu_env

    assert args.use_fsdp and args.module and args.training_script == "loreforge"
    assert args.training_script_args == ["train", "CONFIG.yaml"]
    env = prepare_multi_gpu_env(args)
    assert env["ACCELERATE_USE_FSDP"] == "true"
    assert env["FSDP_VERSION"] == "1"
    assert env["FSDP_STATE_DICT_TYPE"] == "FULL_STATE_DICT"
    assert env["FSDP_RESHARD_AFTER_FORWARD"].upper() == "FULL_SHARD"
    assert env["FSDP_AUTO_WRAP_POLICY"] == "TRANSFORMER_BASED_WRAP"
    assert env["FSDP_ACTIVATION_CHECKPOINTING"] == "false"


def test_accelerate_launch_multi_node_rank_override() -> None:
    """Node 1 reuses node 0's file with `--machine_rank 1`; the command line wins over the file."""
    args = _launch_args(ACCELERATE / "multi_node_rank0.yaml", "--machine_rank", "1")
    assert args.multi_gpu and not args.use_fsdp
    assert (args.num_machines, int(args.machine_rank), args.num_processes) == (2, 1, 16)
    assert args.main_process_ip == "10.0.0.1" and args.main_process_port == 29500
