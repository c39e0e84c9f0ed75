"""A LLaMA Factory example YAML (tests/contract/llamafactory_examples/llama3_lora_sft.yaml, unchanged) runs
with `loreforge train`: its datasets from `data/dataset_info.json` in the working directory, its output folder
relative to it, its template, validation split, cosine schedule and loss plot — only the model is swapped for
a tiny local one, since no hub can be reached here. So does the `training_args.yaml` LLaMA Board saves for the
reference workflow's settings, with transformers' own keys among LLaMA Factory's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from click.testing import CliRunner  # noqa: E402

from loreforge.cli import cli  # noqa: E402
from train_workspace import alpaca_workspace, assert_merged_matches_adapter  # noqa: E402

EXAMPLES = Path(__file__).parent / "contract" / "llamafactory_examples"
EXAMPLE = EXAMPLES / "llama3_lora_sft.yaml"

# Stand-ins for LLaMA Factory's `identity` and `alpaca_en_demo` datasets (Alpaca format, our own text).
IDENTITY = [{"instruction": q, "input": "", "output": "I am {{name}}, an AI assistant developed by {{author}}."}
            for q in ("hi", "Who are you?", "What is your name?", "Introduce yourself.", "Are you ChatGPT?",
                      "Who made you?", "What can you do?", "Tell me about yourself.")]
ALPACA = [{"instruction": f"Give one fact about harbour number {i}.", "input": f"Harbour {i}",
           "output": f"Harbour {i} handles {i * 120} containers a day and opened in {1950 + i}."} for i in range(12)]


def test_llamafactory_example_runs_unchanged(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    alpaca_workspace(tmp_path, {"identity": IDENTITY, "alpaca_en_demo": ALPACA}, model="tiny")
    monkeypatch.chdir(tmp_path)  # LLaMA Factory resolves dataset_dir and output_dir against the working directory

    result = CliRunner().invoke(cli, ["train", str(EXAMPLE), "--set", f"model_name_or_path={tmp_path / 'tiny'}", "--json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    out = tmp_path / "saves" / "llama3-8b" / "lora" / "sft"
    assert run["status"] == "completed" and Path(run["output_dir"]) == out
    # 20 examples, val_size 0.1 -> 18 train; batch 1 x accumulation 8 -> 3 steps per epoch (the last one partial), 3 epochs
    assert run["metrics"]["global_step"] == 9 and run["metrics"]["eval_loss"] is not None
    assert run["config"]["lr_scheduler_type"] == "cosine" and run["config"]["template"] == "llama3"
    assert {"adapter_model.safetensors", "trainer_log.jsonl", "all_results.json", "training_eval_loss.png"} <= {p.name for p in out.iterdir()}
    template = (out / "chat_template.jinja").read_text(encoding="utf-8")
    assert "<|start_header_id|>" in template  # the llama3 layout it trained on travels with the adapter

    # LLaMA Factory's next step, `llamafactory-cli export`: merge. The llama3 template added tokens this tokenizer
    # lacked, so the run grew the embeddings; the merge grows the base the same way.
    assert (out / "tokenizer_config.json").is_file()
    merged = CliRunner().invoke(cli, ["export-model", "--model", str(tmp_path / "tiny"), "--adapter", str(run["id"]),
                                      "--out", str(tmp_path / "merged")])
    assert merged.exit_code == 0, merged.output
    assert "<|start_header_id|>" in (tmp_path / "merged" / "chat_template.jinja").read_text(encoding="utf-8")
    assert_merged_matches_adapter(tmp_path / "tiny", out, tmp_path / "merged", question="Who are you?")
    wrong = CliRunner().invoke(cli, ["export-model", "--model", str(out), "--adapter", str(out), "--out", str(tmp_path / "m2")])
    assert wrong.exit_code == 1 and "is a LoRA adapter, not a base model" in wrong.output and str(tmp_path / "tiny") in wrong.output
    assert not (tmp_path / "m2").exists()


def test_a_llamaboard_training_args_yaml_runs_unchanged(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    alpaca_workspace(tmp_path, {"identity": IDENTITY, "alpaca_en_demo": ALPACA}, model="tiny")
    monkeypatch.chdir(tmp_path)
    board = EXAMPLES / "llamaboard_training_args.yaml"
    result = CliRunner().invoke(cli, ["train", str(board), "--set", f"model_name_or_path={tmp_path / 'tiny'}", "--json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    # 18 train examples, batch 2 x accumulation 16 -> 1 step per epoch, 8 epochs
    assert run["status"] == "completed" and run["metrics"]["global_step"] == 8
    assert run["config"]["include_num_input_tokens_seen"] is True and run["config"]["optim"] == "adamw_torch"
    state = json.loads((Path(run["output_dir"]) / "trainer_state.json").read_text(encoding="utf-8"))
    assert state["num_input_tokens_seen"] > 0  # transformers' key reached transformers
