"""The model half's actions behind web UI part 2 (issue 14), through the service, the CLI and the API, on a tiny
model trained for six steps: a run's folder read (curve, checkpoints with the best marked, tokens/s, the first
example), two runs compared, the config preview is what `train` runs, chat answers streamed from base and tuned
at once and an exchange kept as a dataset item, blind tests that hide the models until the vote is stored, an
evaluation's whole report, and the API's streamed chat answer and blind test. (A background model server is started, used and stopped from
its page: tests/test_ui_model_pages.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from fastapi.testclient import TestClient
from model_workspace import PROJECT, Trained, trained_home, train_config

from loreforge.errors import ConfigError, Conflict, UserError
from loreforge.evaluate.arena_stats import results, winner_of
from loreforge.train import run_files
from loreforge.train.devices import parse_nvidia_smi, parse_rocm_smi


@pytest.fixture(scope="module")
def t(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    return trained_home(tmp_path_factory)


# -- pure parts ----------------------------------------------------------------------------------------------

def test_a_growing_log_is_read_line_by_line_and_the_example_found(tmp_path: Path) -> None:
    log = tmp_path / "running_log.txt"
    log.write_text("gradient checkpointing: off\ninput_ids:\n[1, 2]\ninputs:\nQ\nA\nlabel_ids:\n[-100, 2]\nlabels:\n"
                   "[-100 x 1]A\ntrain examples: 4, eval examples: 1\nhalf a li", encoding="utf-8")
    lines, offset = run_files.lines_after(log, 0)
    assert lines[-1] == "train examples: 4, eval examples: 1" and "half a li" not in lines
    with log.open("a", encoding="utf-8") as f:
        f.write("ne\n")
    assert run_files.lines_after(log, offset) == (["half a line"], log.stat().st_size)
    assert run_files.example_from_log(log) == "input_ids:\n[1, 2]\ninputs:\nQ\nA\nlabel_ids:\n[-100, 2]\nlabels:\n[-100 x 1]A"
    log.write_text("new attempt\n", encoding="utf-8")  # a shorter log is a new one: read from its start
    assert run_files.lines_after(log, offset)[0] == ["new attempt"]


def test_trainer_log_records_cut_short_are_left_for_the_next_read(tmp_path: Path) -> None:
    (tmp_path / "trainer_log.jsonl").write_text('{"current_steps": 1, "loss": 2.0}\n{"current_steps": 2, "lo', encoding="utf-8")
    assert run_files.read_points(tmp_path) == ([{"current_steps": 1, "loss": 2.0}], 1)
    assert run_files.read_points(tmp_path, after=1) == ([], 1)


def test_device_tools_output_is_parsed() -> None:
    nvidia = parse_nvidia_smi("0, NVIDIA H100 80GB HBM3, 1024, 81559, 37, 41\n1, NVIDIA H100 80GB HBM3, [N/A], 81559, 0, 35\n")
    assert [(d.index, d.memory_used_mb, d.utilization) for d in nvidia] == [(0, 1024.0, 37.0), (1, None, 0.0)]
    rocm = parse_rocm_smi(json.dumps({"card0": {"Card series": "K100_AI", "VRAM Total Memory (B)": "68702699520",
                                                "VRAM Total Used Memory (B)": "1073741824", "GPU use (%)": "12",
                                                "Temperature (Sensor edge) (C)": "45.0"}}))
    assert rocm[0].name == "K100_AI" and rocm[0].memory_used_mb == 1024.0 and rocm[0].utilization == 12.0
    assert parse_rocm_smi("not json") == []


def test_arena_votes_map_to_models_and_results_have_intervals() -> None:
    assert [winner_of(v, "a") for v in ("left", "right", "both_good")] == ["a", "b", "both_good"]
    assert winner_of("left", "b") == "b" and winner_of("right", "b") == "a"
    r = results(["b"] * 7 + ["a"] + ["both_good"] * 2)
    assert r["counts"] == {"a": 1, "b": 7, "both_good": 2, "both_bad": 0} and r["decided"] == 8
    b = r["models"]["b"]
    assert (b["win_rate"]["k"], b["win_rate"]["n"]) == (7, 8) and (b["good_rate"]["k"], b["good_rate"]["n"]) == (9, 10)
    assert b["win_rate"]["low"] < 7 / 8 < b["win_rate"]["high"] and r["sign_p"] == pytest.approx(0.0703125)
    assert results([])["sign_p"] is None


# -- runs ----------------------------------------------------------------------------------------------------

def test_inspect_run_reads_its_folder(t: Trained) -> None:
    detail = t.svc.inspect_run(t.run.id, example=True)
    steps = [p["current_steps"] for p in detail.points if "loss" in p]
    assert steps == list(range(1, 7)) and {p["current_steps"] for p in detail.points if "eval_loss" in p} == {3, 6}
    assert detail.tokens_per_second and detail.tokens_per_second > 0 and detail.total_tokens
    assert [c.name for c in detail.checkpoints] == ["checkpoint-3", "checkpoint-6"]
    assert [c.best for c in detail.checkpoints].count(True) == 1 and all(c.complete for c in detail.checkpoints)
    assert detail.example and "labels:\n[-100 x " in detail.example and "<|im_start|>" in detail.example
    rest = t.svc.inspect_run(t.run.id, after=detail.point_count - 1)
    assert rest.points == detail.points[-1:] and rest.point_count == detail.point_count


def test_preview_is_exactly_what_train_runs(t: Trained) -> None:
    preview = t.svc.preview_train(t.config)
    assert yaml.safe_load(preview.yaml) == preview.config and preview.config == t.config
    assert list(preview.sections)[:2] == ["model", "method"] and "include_num_input_tokens_seen" in preview.sections["transformers"]
    assert 'eval_strategy: "steps"' in preview.yaml  # a bare `no`/`steps` could be read back as a boolean
    with pytest.raises(ConfigError) as bad:
        t.svc.preview_train({**t.config, "lora_rnak": 8})
    assert "Did you mean `lora_rank`?" in str(bad.value)


def test_two_runs_side_by_side(t: Trained) -> None:
    second = t.svc.train(train_config(t.bundle, t.model, t.root / "run2", max_steps=2, save_steps=2, eval_steps=2),
                         project=PROJECT)
    view = t.svc.compare_runs(t.run.id, second.id)
    differing = [s["key"] for s in view.settings if not s["same"]]
    assert differing[:3] == ["eval_steps", "include_num_input_tokens_seen", "max_steps"] and differing[-1] == "output_dir"
    assert len([p for p in view.points_b if "loss" in p]) == 2


# -- chat and the dataset --------------------------------------------------------------------------------------

def test_chat_streams_base_and_tuned_both_loaded(t: Trained) -> None:
    from loreforge.service.model_pool import pool_of

    pieces: list[str] = []
    tuned = t.svc.chat_reply("What is the revenue?", "", adapter=str(t.run.id), max_new_tokens=6, on_piece=pieces.append)
    base = t.svc.chat_reply([{"role": "user", "content": "What is the revenue?"}], str(t.model), system="Be brief.",
                            max_new_tokens=6)
    assert "".join(pieces) == tuned.text and tuned.completion_tokens == 6 and tuned.finish_reason == "length"
    assert tuned.model.startswith(f"run {t.run.id}") and base.model == "tiny"
    assert {tuned_key[1] is not None for tuned_key in pool_of(t.svc).loaded()} == {True, False}  # both stay loaded
    with pytest.raises(UserError, match="end with the user's message"):
        t.svc.chat_reply([{"role": "assistant", "content": "hi"}], str(t.model))
    with pytest.raises(UserError, match="No model folder"):
        t.svc.chat_reply("hi", str(t.root / "missing"), project=PROJECT)


def test_an_exchange_becomes_a_dataset_item(t: Trained) -> None:
    item = t.svc.save_chat_exchange(PROJECT, " What is X? ", "X is 42.", model="run 1", confirmed=True)
    shown = t.svc.show_dataset_item(PROJECT, item.id)
    assert (shown.question, shown.answer, shown.source, shown.model, shown.confirmed) == ("What is X?", "X is 42.", "manual", "run 1", True)
    with pytest.raises(UserError, match="needs a question and an answer"):
        t.svc.save_chat_exchange(PROJECT, "Q", "  ")
    t.svc.delete_dataset(PROJECT, _ids(item.id))


def _ids(*ids: int) -> Any:
    from loreforge.filters import DatasetFilter

    return DatasetFilter(ids=list(ids))


# -- blind tests ------------------------------------------------------------------------------------------------

def test_a_blind_test_hides_the_models_until_the_vote_is_stored(t: Trained) -> None:
    arena = t.svc.create_arena(PROJECT, str(t.model), "", adapter_b=str(t.run.id), size=3, max_new_tokens=4, seed=5)
    assert arena.rounds == 3 and arena.models["b"].run_id == t.run.id and arena.results["votes"] == 0
    first = t.svc.next_arena_round(arena.id)
    assert first is not None and first.revealed is None and first.reference is None and first.left is None
    assert t.svc.next_arena_round(arena.id).id == first.id  # a reload keeps the round (and its order)
    with pytest.raises(Conflict, match="not both answers"):
        t.svc.vote_arena_round(arena.id, first.id, "left")
    streamed: list[str] = []
    t.svc.answer_arena_round(arena.id, first.id, "left", on_piece=streamed.append)
    shown = t.svc.answer_arena_round(arena.id, first.id, "right")
    assert shown.left == "".join(streamed) and shown.right is not None and shown.revealed is None
    again: list[str] = []
    assert t.svc.answer_arena_round(arena.id, first.id, "left", on_piece=again.append).left == shown.left
    assert again == [shown.left] or shown.left == ""  # stored: handed over whole, not generated again
    voted = t.svc.vote_arena_round(arena.id, first.id, "right")
    assert voted.revealed is not None and voted.reference
    right_model = voted.revealed["right_model"]
    assert voted.revealed["winner"] == right_model and voted.revealed["right"] == arena.models[right_model].name
    with pytest.raises(Conflict, match="already voted"):
        t.svc.vote_arena_round(arena.id, first.id, "left")
    counts = t.svc.get_arena(arena.id).results["counts"]
    assert counts[right_model] == 1 and sum(counts.values()) == 1
    assert t.svc.next_arena_round(arena.id).position == 2
    assert [a.id for a in t.svc.list_arenas(PROJECT)][0] == arena.id


# -- evaluation report, devices ------------------------------------------------------------------------------------

def test_the_report_from_the_store_is_the_report_folders(t: Trained) -> None:
    from loreforge.service.eval_report import summary_from_store

    run = t.svc.evaluate(PROJECT, str(t.model), str(t.run.id), max_new_tokens=4)
    report = t.svc.eval_report(run.id)
    written = json.loads((Path(str(run.report_dir)) / "report.json").read_text(encoding="utf-8"))
    assert report.summary == written["summary"] == json.loads(json.dumps(summary_from_store(t.svc, run.id)))
    assert report.models["tuned"].startswith(f"train run {t.run.id}") and set(report.summary["groups"]) >= {"document", "tag"}


def test_device_usage_reads_the_host() -> None:
    from loreforge.service import Service
    from loreforge.settings import AppConfig

    view = Service(AppConfig.from_env(Path("/nonexistent-home-not-opened"))).device_usage()
    assert view.cpus >= 1 and view.source in ("none", "nvidia-smi", "rocm-smi", "torch")
    assert view.memory_total_mb is None or view.memory_total_mb > 0


# -- shells ----------------------------------------------------------------------------------------------------

def test_cli_commands_of_the_model_half(t: Trained, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from loreforge.cli import cli

    monkeypatch.setenv("LOREFORGE_HOME", str(t.home))
    runner = CliRunner()
    inspect = runner.invoke(cli, ["runs", "inspect", str(t.run.id)])
    assert inspect.exit_code == 0 and "checkpoint-6" in inspect.output and "tokens/s" in inspect.output
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(t.config), encoding="utf-8")
    runs = len(t.svc.list_runs())
    dry = runner.invoke(cli, ["train", str(config), "--dry-run", "--set", "max_steps=3"])
    assert dry.exit_code == 0 and yaml.safe_load(dry.stdout) == {**t.config, "max_steps": 3}
    assert len(t.svc.list_runs()) == runs  # a dry run records nothing
    added = runner.invoke(cli, ["dataset", "add", PROJECT, "--question", "Q?", "--answer", "A.", "--json"])
    assert added.exit_code == 0 and json.loads(added.stdout)["source"] == "manual"
    asked = runner.invoke(cli, ["ask", "hello", "--model", str(t.model), "--max-new-tokens", "3", "--json"])
    assert asked.exit_code == 0 and json.loads(asked.stdout)["completion_tokens"] == 3
    devices = runner.invoke(cli, ["devices", "--json"])
    assert devices.exit_code == 0 and "cpu_percent" in json.loads(devices.stdout)
    created = json.loads(runner.invoke(cli, ["arena", "create", PROJECT, "--model-a", str(t.model), "--adapter-b",
                                             str(t.run.id), "--size", "1", "--max-new-tokens", "2", "--json"]).stdout)
    shown = runner.invoke(cli, ["arena", "round", str(created["id"]), "--json"])
    round_id = json.loads(shown.stdout)["id"]
    voted = runner.invoke(cli, ["arena", "vote", str(created["id"]), str(round_id), "both-bad"])
    assert voted.exit_code == 0 and "left was" in voted.output
    assert "1 of 1 rounds voted" in runner.invoke(cli, ["arena", "show", str(created["id"])]).output


def test_api_streams_a_chat_answer_and_plays_a_blind_test(t: Trained) -> None:
    from loreforge.web.app import create_app

    with TestClient(create_app(t.svc)) as client:
        with client.stream("POST", "/api/chat", json={"messages": "hi", "model": str(t.model), "max_new_tokens": 3,
                                                       "stream": True}) as stream:
            body = "".join(stream.iter_text())
        events = [b.split("\n", 1) for b in body.strip().split("\n\n")]
        assert events[0][0] == "event: piece" and events[-1][0] == "event: end"
        assert json.loads(events[-1][1].removeprefix("data: "))["completion_tokens"] == 3
        arena = client.post(f"/api/projects/{PROJECT}/arenas", json={"model_a": str(t.model), "adapter_b": str(t.run.id),
                                                                     "size": 1, "max_new_tokens": 2}).json()
        round_ = client.post(f"/api/arenas/{arena['id']}/rounds").json()
        assert "revealed" in round_ and round_["revealed"] is None
        for side in ("left", "right"):
            assert client.post(f"/api/arenas/{arena['id']}/rounds/{round_['id']}/answer/{side}").status_code == 200
        voted = client.post(f"/api/arenas/{arena['id']}/rounds/{round_['id']}/vote", json={"vote": "left"}).json()
        assert voted["revealed"]["left_model"] == voted["revealed"]["winner"]
        assert client.post(f"/api/arenas/{arena['id']}/rounds").json() is None  # every round voted
        preview = client.post("/api/train/preview", json={"config": t.config}).json()
        assert yaml.safe_load(preview["yaml"]) == t.config
        assert client.get(f"/api/runs/{t.run.id}/inspect?after=100").json()["points"] == []
