"""Resume means resume: which checkpoint a run continues from (a half-written one is skipped), the trainer log
holding each step once after a resume, a run executed again with no checkpoint saying that it starts over and
why, `logging_steps` chosen for about 20 points when the config leaves it unset, and a run trained from a
bundle's `train_lora.yaml` listed under the bundle's project. (The SIGKILL-and-resume run is in
test_train_runs.py.) Tiny model, a few steps each."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from loreforge.export.options import TrainRecipe
from loreforge.train.config import auto_logging_steps

# A fictional ferry line's timetable: 30 pairs, batch 4 -> 8 steps an epoch.
ROWS = [{"instruction": f"白鹭渡轮第{i}班几点开？", "input": "", "output": f"第{i}班在早上{i % 12 + 6}点{i * 7 % 60}分开。"}
        for i in range(30)]


# ---------------------------------------------------------------- pure parts (no torch)


@pytest.mark.parametrize(("total", "expected"), [(0, 1), (8, 1), (24, 1), (40, 2), (100, 5), (10_000, 500), (10**6, 500)])
def test_auto_logging_steps_gives_about_20_points(total: int, expected: int) -> None:
    assert auto_logging_steps(total) == expected
    assert auto_logging_steps(total, cap=5) == min(expected, 5)


@pytest.mark.parametrize(("rows", "expected"), [(None, 5), (30, 1), (27, 1), (128, 1), (160, 2), (640, 5), (12_800, 5)])
def test_the_bundle_yaml_logs_about_20_points_of_its_own_data(rows: int | None, expected: int) -> None:
    """The reference recipe (batch 2 x accumulation 16, 8 epochs): 30 rows are 8 steps, logged each step (it was
    every 5: one point and an empty chart); the recipe's 5 stays the cap."""
    from loreforge.export.llamafactory import bundle_logging_steps

    assert bundle_logging_steps(TrainRecipe(), rows) == expected


def _safetensors(path: Path, nbytes: int) -> bytes:
    header = json.dumps({"w": {"dtype": "U8", "shape": [nbytes], "data_offsets": [0, nbytes]}}).encode()
    data = len(header).to_bytes(8, "little") + header + bytes(nbytes)
    path.write_bytes(data)
    return data


def _checkpoint(folder: Path, step: int) -> Path:
    folder.mkdir(parents=True)
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": step, "log_history": []}), encoding="utf-8")
    _safetensors(folder / "adapter_model.safetensors", 64)
    return folder


def test_a_checkpoint_is_complete_only_when_its_state_and_weights_are_whole(tmp_path: Path) -> None:
    from loreforge.train.trainer import checkpoint_problem

    whole = _checkpoint(tmp_path / "checkpoint-4", 4)
    assert checkpoint_problem(whole) is None
    no_state = _checkpoint(tmp_path / "checkpoint-8", 8)
    (no_state / "trainer_state.json").unlink()
    assert "no trainer_state.json" in (checkpoint_problem(no_state) or "")
    cut_state = _checkpoint(tmp_path / "checkpoint-12", 12)
    (cut_state / "trainer_state.json").write_text('{"global_step": 12, "log_hist', encoding="utf-8")
    assert "cut short" in (checkpoint_problem(cut_state) or "")
    cut_weights = _checkpoint(tmp_path / "checkpoint-16", 16)
    data = (cut_weights / "adapter_model.safetensors").read_bytes()
    (cut_weights / "adapter_model.safetensors").write_bytes(data[:-10])
    assert "adapter_model.safetensors is cut short" in (checkpoint_problem(cut_weights) or "")
    no_weights = _checkpoint(tmp_path / "checkpoint-20", 20)
    (no_weights / "adapter_model.safetensors").unlink()
    assert "no model or adapter weights" in (checkpoint_problem(no_weights) or "")
    sharded = _checkpoint(tmp_path / "checkpoint-24", 24)
    (sharded / "adapter_model.safetensors").unlink()
    _safetensors(sharded / "model-00001-of-00002.safetensors", 16)
    index = {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
    (sharded / "model.safetensors.index.json").write_text(json.dumps(index), encoding="utf-8")
    assert "model-00002-of-00002.safetensors" in (checkpoint_problem(sharded) or "")
    _safetensors(sharded / "model-00002-of-00002.safetensors", 16)
    assert checkpoint_problem(sharded) is None


def test_the_newest_complete_checkpoint_is_chosen_and_half_written_ones_are_named(tmp_path: Path) -> None:
    from loreforge.train.trainer import last_complete_checkpoint

    _checkpoint(tmp_path / "checkpoint-4", 4)
    _checkpoint(tmp_path / "checkpoint-8", 8)
    killed = _checkpoint(tmp_path / "checkpoint-12", 12)
    (killed / "trainer_state.json").write_text("{", encoding="utf-8")
    lines: list[str] = []
    assert last_complete_checkpoint(tmp_path, lines.append) == tmp_path / "checkpoint-8"
    assert len(lines) == 1 and "checkpoint-12" in lines[0] and "incomplete" in lines[0]


def test_trim_log_keeps_the_steps_up_to_the_checkpoint_and_renames_a_new_file(tmp_path: Path) -> None:
    from loreforge.train.callbacks import trim_log

    log = tmp_path / "trainer_log.jsonl"
    lines = [json.dumps({"current_steps": s, "total_steps": 9, "loss": 1.0}) for s in range(1, 8)]
    lines.insert(4, json.dumps({"current_steps": 4, "total_steps": 9, "eval_loss": 0.5}))  # an evaluation at step 4
    log.write_text("\n".join(lines) + '\n{"current_steps": 8, "tot', encoding="utf-8")  # the kill cut the last line
    inode = log.stat().st_ino
    assert trim_log(log, 4) == 4  # steps 5, 6, 7 and the cut line
    kept = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [r["current_steps"] for r in kept] == [1, 2, 3, 4, 4] and "eval_loss" in kept[-1]
    assert log.stat().st_ino != inode and sorted(p.name for p in tmp_path.iterdir()) == ["trainer_log.jsonl"]
    assert trim_log(log, 4) == 0 and trim_log(tmp_path / "absent.jsonl", 4) == 0


# ---------------------------------------------------------------- runs on a tiny model

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from loreforge.service import Service  # noqa: E402
from loreforge.train.callbacks import TRAINER_LOG  # noqa: E402
from train_workspace import alpaca_workspace  # noqa: E402


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return alpaca_workspace(tmp_path_factory.mktemp("resume"), {"ferry": ROWS})


def config(workspace: Path, out: str, **overrides: Any) -> dict[str, Any]:
    """No `logging_steps`: the trainer chooses it."""
    return {
        "model_name_or_path": str(workspace / "model"), "stage": "sft", "do_train": True, "finetuning_type": "lora",
        "dataset": "ferry", "dataset_dir": str(workspace / "data"), "template": "qwen", "cutoff_len": 96,
        "per_device_train_batch_size": 4, "num_train_epochs": 1, "save_strategy": "no",
        "output_dir": str(workspace / out), "overwrite_output_dir": True, "disable_gradient_checkpointing": True,
    } | overrides


def _steps(out: Path) -> list[int]:
    return [json.loads(line)["current_steps"] for line in (out / TRAINER_LOG).read_text(encoding="utf-8").splitlines()]


def test_unset_logging_steps_logs_about_20_points(svc: Service, workspace: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="loreforge.train"):
        small = svc.train(config(workspace, "small"))  # 30 rows, batch 4: 8 steps, each logged
        longer = svc.train(config(workspace, "longer", max_steps=40))  # every 2nd step
    assert small.status == "completed" and _steps(workspace / "small") == list(range(1, 9))
    assert _steps(workspace / "longer") == list(range(2, 41, 2))
    assert "logging_steps: 1 (unset, so chosen for about 20 points over 8 steps" in caplog.text
    assert longer.metrics["global_step"] == 40


def test_a_run_executed_again_without_a_checkpoint_says_it_starts_over(svc: Service, workspace: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(workspace / "data" / "dataset_info.json", data)
    with pytest.raises(Exception, match="ferry.json"):  # the first attempt: its data file is not there yet
        svc.train(config(workspace, "over", dataset_dir=str(data), max_steps=3))
    failed = svc.list_runs()[0]
    assert failed.status == "failed"
    shutil.copy(workspace / "data" / "ferry.json", data)
    done = svc.execute_run(failed.id)
    assert done.status == "completed" and done.metrics["global_step"] == 3
    note = done.metrics["started_over"]
    assert note.startswith("Starting over from step 0: no complete checkpoint in") and "`save_strategy: no`" in note
    assert done.progress["started_over"] == note  # the run's progress says it too, while it trains
    assert svc.get_job(int(done.job_id or 0)).params["attempt"] == 2


def test_a_run_from_a_bundle_yaml_is_listed_under_its_project(svc: Service, workspace: Path, tmp_path: Path) -> None:
    import yaml

    from loreforge.service.dataset import DatasetFilter

    pairs = tmp_path / "ferry.jsonl"
    pairs.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS), encoding="utf-8")
    svc.create_project("ferry")
    svc.create_project("other")
    svc.import_dataset("ferry", pairs)
    svc.confirm_dataset("ferry", DatasetFilter())
    bundle = Path(svc.export("ferry", tmp_path / "bundle", val_size=0).folder)
    recipe = yaml.safe_load((bundle / "train_lora.yaml").read_text(encoding="utf-8"))
    assert recipe["logging_steps"] == 1  # 30 rows: 8 steps of batch 2 x 16, each one a point on the chart
    recipe.update(model_name_or_path=str(workspace / "model"), output_dir=str(tmp_path / "out"), bf16=False,
                  cutoff_len=96, disable_gradient_checkpointing=True)
    run = svc.train(recipe)  # no project given: the bundle's manifest names it
    assert run.status == "completed" and run.metrics["global_step"] == 8 and _steps(tmp_path / "out") == list(range(1, 9))
    assert [r.id for r in svc.list_runs(project="ferry")] == [run.id] and not svc.list_runs(project="other")
    assert run.project_id == svc.get_project("ferry").id
