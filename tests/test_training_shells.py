"""`loreforge env` and `loreforge tiny-model` through the CLI and the API."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner
from fastapi.testclient import TestClient

from conftest import examples
from train_workspace import assert_merged_matches_adapter
from loreforge.cli import cli
from loreforge.service import Service
from loreforge.web import create_app


def test_env_and_tiny_model_cli(home: Path, tmp_path: Path) -> None:
    text = CliRunner().invoke(cli, ["env"]).output
    assert "Accelerator: cpu" in text and "Recommended dtype: fp32" in text
    report = json.loads(CliRunner().invoke(cli, ["env", "--json"]).output)
    assert report["accelerator"] == "cpu" and report["recommended_dtype"] == "fp32"
    out = CliRunner().invoke(cli, ["tiny-model", str(tmp_path / "tiny"), "--json"])
    info = json.loads(out.output[out.output.index("{"):])
    assert info["parameters"] > 0 and (tmp_path / "tiny" / "model.safetensors").exists()
    again = CliRunner().invoke(cli, ["tiny-model", str(tmp_path / "tiny")])
    assert again.exit_code == 1 and "overwrite" in again.output.lower()


def test_env_and_tiny_model_api(svc: Service, tmp_path: Path) -> None:
    with TestClient(create_app(svc)) as client:
        env = client.get("/api/env").json()
        assert env["report"]["accelerator"] == "cpu" and "Accelerator" in env["text"]
        made = client.post("/api/tiny-model", json={"out": str(tmp_path / "t"), "shape": {"hidden_size": 32}}).json()
        assert made["path"] == str((tmp_path / "t").resolve()) and made["parameters"] > 0


def _confirmed_project() -> CliRunner:
    """Project "p" with two corpus reports ingested, questions and answers generated (extractive) and confirmed."""
    runner = CliRunner()
    runner.invoke(cli, ["project", "create", "p"])
    runner.invoke(cli, ["ingest", "p", *map(str, examples())])
    runner.invoke(cli, ["questions", "generate", "p"])
    runner.invoke(cli, ["answers", "generate", "p"])
    runner.invoke(cli, ["dataset", "confirm", "p"])
    return runner


def test_train_cli_on_our_bundle_records_the_run(home: Path, tmp_path: Path) -> None:
    runner = _confirmed_project()
    assert runner.invoke(cli, ["export", "p", "--out", str(tmp_path / "bundle"), "--val-size", "0.2"]).exit_code == 0
    runner.invoke(cli, ["tiny-model", str(tmp_path / "tiny"), "--text", str(examples()[1])])
    sets = {"model_name_or_path": str(tmp_path / "tiny"), "output_dir": str(tmp_path / "out"), "max_steps": 2, "bf16": False,
            "cutoff_len": 128, "per_device_train_batch_size": 1, "gradient_accumulation_steps": 1, "eval_steps": 1,
            "save_steps": 2, "logging_steps": 1}
    args = ["train", str(tmp_path / "bundle" / "train_lora.yaml"), "--project", "p"]
    for key, value in sets.items():
        args += ["--set", f"{key}={value}"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "completed: 2 steps" in result.output
    loss = re.search(r"train loss (\S+),", result.output)
    assert loss and re.fullmatch(r"\d+(\.\d{1,4})?", loss.group(1)), result.output  # rounded, never 6.414355754852295
    assert "None" not in result.output
    runs = json.loads(runner.invoke(cli, ["runs", "list", "--json"]).output)
    assert runs[0]["status"] == "completed" and runs[0]["metrics"]["global_step"] == 2 and runs[0]["metrics"]["eval_loss"]
    assert (tmp_path / "out" / "adapter_config.json").exists() and (tmp_path / "out" / "trainer_log.jsonl").exists()
    shown = runner.invoke(cli, ["runs", "show", str(runs[0]["id"])]).output
    assert "best checkpoint" in shown and "None" not in shown
    listed = runner.invoke(cli, ["runs", "list"]).output
    assert "None" not in listed and not re.search(r"\d\.\d{5,}", listed), listed
    bad = runner.invoke(cli, ["train", str(tmp_path / "bundle" / "train_lora.yaml"), "--set", "lora_rnak=4"])
    assert bad.exit_code == 1 and "lora_rank" in bad.output

    merged = runner.invoke(cli, ["export-model", "--model", str(tmp_path / "tiny"), "--adapter", str(runs[0]["id"]), "--out", str(tmp_path / "merged")])
    assert merged.exit_code == 0, merged.output
    assert_merged_matches_adapter(tmp_path / "tiny", tmp_path / "out", tmp_path / "merged")
    again = runner.invoke(cli, ["export-model", "--model", str(tmp_path / "tiny"), "--adapter", str(tmp_path / "nothing"), "--out", str(tmp_path / "m2")])
    assert again.exit_code == 1 and "No LoRA adapter" in again.output


def test_train_straight_from_a_project(home: Path, tmp_path: Path) -> None:
    runner = _confirmed_project()
    runner.invoke(cli, ["tiny-model", str(tmp_path / "tiny")])
    assert "--project P --base-model PATH" in runner.invoke(cli, ["train"]).output
    result = runner.invoke(cli, ["train", "--project", "p", "--base-model", str(tmp_path / "tiny"), "--set", "max_steps=1",
                                 "--set", "bf16=false", "--set", "cutoff_len=128", "--set", "per_device_train_batch_size=1",
                                 "--set", "gradient_accumulation_steps=1", "--set", "eval_steps=1", "--set", "save_steps=1", "--json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    assert run["status"] == "completed" and run["project_id"] and "/runs/" in run["output_dir"]
    assert run["config"]["lora_rank"] == 16 and run["config"]["template"] == "qwen"


def test_a_failing_run_is_recorded_with_a_clear_error(home: Path, tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(f"model_name_or_path: {tmp_path / 'no-such-model'}\nstage: sft\ndo_train: true\n"
                      f"dataset: x\ndataset_dir: {tmp_path}\noutput_dir: {tmp_path / 'out'}\n", encoding="utf-8")
    no_data = CliRunner().invoke(cli, ["train", str(config)])  # the dataset is read first
    assert no_data.exit_code == 1 and "Traceback" not in no_data.output
    assert f"No dataset_info.json in {tmp_path}" in no_data.output
    (tmp_path / "dataset_info.json").write_text('{"x": {"file_name": "x.json"}}', encoding="utf-8")
    (tmp_path / "x.json").write_text('[{"instruction": "Q", "output": "A"}]', encoding="utf-8")
    no_model = CliRunner().invoke(cli, ["train", str(config)])
    assert no_model.exit_code == 1 and "Traceback" not in no_model.output
    assert "failed" in no_model.output and "runs show" in no_model.output
    runs = json.loads(CliRunner().invoke(cli, ["runs", "list", "--json"]).output)
    assert [r["status"] for r in runs] == ["failed", "failed"]
    assert "no-such-model" in runs[0]["error"] and "dataset_info.json" in runs[1]["error"]
