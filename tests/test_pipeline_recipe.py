"""Recipes are checked whole before any work starts (issue 12): an unknown key is named with the nearest valid one,
a wrong type with its key path, a missing documents folder or model path with the path as written — and nothing
is stored (no project, no job). The shipped recipes are valid; `--set` changes keys; the plan reruns exactly the
stages a change affects, and says why."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from loreforge.errors import ConfigError, NeedsKey, UserError
from loreforge.pipeline.load import load_recipe
from loreforge.pipeline.plan import STAGES, decide
from loreforge.service import Service
from pipeline_workspace import recipe, write_recipe

REPO = Path(__file__).resolve().parent.parent
URL = "http://127.0.0.1:9/v1"  # never called: these recipes fail (or are only read) before any work


def _fails(tmp_path: Path, data: dict, *match: str) -> str:
    path = write_recipe(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_recipe(path)
    text = str(info.value)
    for m in match:
        assert m in text, text
    return text


def test_unknown_keys_are_named_with_the_nearest_valid_one(tmp_path: Path) -> None:
    _fails(tmp_path, {**recipe(URL), "documnets": ["x"]}, "Unknown recipe key `documnets`", "`documents`")
    _fails(tmp_path, recipe(URL, generation={"modle": "x"}), "`generation.modle`", "Did you mean `generation.model`?")
    _fails(tmp_path, recipe(URL, split={"max_lenght": 400}), "`split.max_lenght`", "split.max_length")
    _fails(tmp_path, recipe(URL, review={"min_scor": 4}), "`review.min_scor`", "`review.min_score`")
    _fails(tmp_path, recipe(URL, settings={"ingest.max_file_m": 3}), "`settings.ingest.max_file_m`", "ingest.max_file_mb")
    _fails(tmp_path, {**recipe(URL), "models": {"judge": {"provider": "openai", "modl": "x"}}}, "`models.judge.modl`", "`models.judge.model`")


def test_wrong_values_name_their_key(tmp_path: Path) -> None:
    _fails(tmp_path, recipe(URL, export={"val_size": "lots"}), "`export.val_size`", "'lots'")
    _fails(tmp_path, recipe(URL, split={"max_length": "long"}), "split.max_length")
    _fails(tmp_path, recipe(URL, split={"min_length": 900, "max_length": 400}), "must not exceed")
    _fails(tmp_path, {**recipe(URL), "documents": []}, "`documents`")
    _fails(tmp_path, {k: v for k, v in recipe(URL).items() if k != "documents"}, "has no `documents`")
    _fails(tmp_path, recipe(URL, generation={"provider": "nosuch"}), "`generation.provider`", "Unknown provider 'nosuch'")
    _fails(tmp_path, recipe(URL, train={"model_name_or_path": "x", "learning_rat": 1}), "train", "learning_rat")
    _fails(tmp_path, recipe(URL, train={"model_name_or_path": "Qwen/Qwen2.5-3B-Instruct", "output_dir": "/tmp/x"}),
           "`train.output_dir` is set by the run")
    _fails(tmp_path, {**recipe(URL), "name": "a/b"}, "`name`")


def test_missing_paths_fail_with_the_path_as_written(tmp_path: Path) -> None:
    _fails(tmp_path, {**recipe(URL), "documents": ["nowhere/"]}, "`documents[0]`", "'nowhere/' does not exist")
    _fails(tmp_path, {**recipe(URL), "documents": ["*.nothing"]}, "no file matches")
    (tmp_path / "notes.xyz").write_text("x")
    _fails(tmp_path, {**recipe(URL), "documents": ["notes.xyz"]}, "not a supported document")
    _fails(tmp_path, recipe(URL, train={"model_name_or_path": "./models/missing"}), "`train.model_name_or_path`",
           "'./models/missing' does not exist")
    _fails(tmp_path, {**recipe(URL), "probes": {"files": ["mine.jsonl"]}}, "`probes.files[0]`")
    _fails(tmp_path, {**recipe(URL), "eval": {}}, "`eval` needs a model")
    _fails(tmp_path, {**recipe(URL), "review": {"score_model": "judge", "min_score": 4}}, "`review.score_model` names no model config")


def test_a_key_the_provider_needs_is_asked_for_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    path = write_recipe(tmp_path, recipe(URL, generation={"provider": "dashscope", "model": "qwen-max-latest", "base_url": None}))
    with pytest.raises(NeedsKey, match="DASHSCOPE_API_KEY is not set"):
        load_recipe(path)
    reworded = {**recipe(URL, generation={"provider": "extractive", "model": "", "base_url": None}), "probes": {"kinds": ["reworded"]}}
    _fails(tmp_path, reworded, "reworded, which needs an LLM")


def test_an_invalid_recipe_stores_nothing(svc: Service, tmp_path: Path) -> None:
    """Through the service and the CLI: the error names the key, exit status 1, and no project or job exists."""
    from loreforge.cli import cli

    path = write_recipe(tmp_path, {**recipe(URL), "documents": ["missing-folder/"]})
    with pytest.raises(ConfigError):
        svc.run_pipeline(path)
    result = CliRunner().invoke(cli, ["run", str(path)])
    assert result.exit_code == 1 and "`documents[0]`" in result.output and "Traceback" not in result.output
    assert svc.list_projects() == [] and svc.list_jobs() == []


def test_the_shipped_recipes_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-test")
    demo = load_recipe(REPO / "loreforge" / "examples" / "recipes" / "demo.yaml")
    assert demo.name == "demo" and [p.name for p in demo.documents] == ["morrow-coast-companies.md"]
    assert demo.settings["language"] == "en" and demo.probe_files[0].name == "morrow-coast.jsonl"
    for name in ("reference", "ollama-gpu", "multi-gpu"):
        resolved = load_recipe(REPO / "examples" / "recipes" / f"{name}.yaml")
        assert resolved.recipe.train is not None and resolved.recipe.eval is not None and resolved.documents
    reference = load_recipe(REPO / "examples" / "recipes" / "reference.yaml").recipe
    assert reference.generation.model == "qwen-max-latest" and reference.export.val_size == 0.1
    assert (reference.train.model_extra or {})["lora_rank"] == 16 and reference.eval is not None and reference.eval.rag
    assert load_recipe(REPO / "examples" / "recipes" / "multi-gpu.yaml").recipe.train.launch == {"nproc_per_node": 4}


def test_set_overrides_change_keys_and_are_validated(tmp_path: Path) -> None:
    path = write_recipe(tmp_path, recipe(URL))
    changed = load_recipe(path, ["split.max_length=300", "export.val_size=0", "settings.ingest.max_file_mb=5", "name=other"])
    assert changed.settings["split.max_length"] == 300 and changed.recipe.export.val_size == 0
    assert changed.settings["ingest.max_file_mb"] == 5 and changed.name == "other"
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        load_recipe(path, ["split.max_length"])
    with pytest.raises(ConfigError, match="split.max_lenth"):
        load_recipe(path, ["split.max_lenth=3"])


def _plan(stored: dict, inputs: dict, **kw: str) -> dict[str, str]:
    enabled = dict.fromkeys(STAGES, True)
    return {d.stage: (d.reason if d.run else f"skip: {d.reason}") for d in decide(inputs, enabled, stored, **kw)}


def test_a_changed_setting_reruns_its_stage_and_the_stages_after_it_only() -> None:
    inputs = {s: {"v": 1} for s in STAGES}
    inputs["split"] = {"split.max_length": 500}
    first = decide(inputs, dict.fromkeys(STAGES, True), {})
    stored = {d.stage: {"status": "completed", "fingerprint": d.fingerprint, "inputs": inputs[d.stage]} for d in first}
    again = _plan(stored, inputs)
    assert all(v.startswith("skip: done before") for s, v in again.items() if s != "report")
    changed = dict(inputs, split={"split.max_length": 400})
    plan = _plan(stored, changed)
    assert plan["ingest"] == "skip: done before, unchanged"
    assert plan["split"] == "changed: split.max_length: 500 → 400"
    assert plan["tags"] == "after split" and plan["questions"] == "after split, tags" and plan["eval"] == "after train, probes"
    docs = dict(inputs, ingest={"documents": {"a.md": "1", "b.md": "2"}})
    stored["ingest"]["inputs"] = {"documents": {"a.md": "1"}}
    assert _plan(stored, docs)["ingest"] == "changed: documents added b.md"
    assert _plan(stored, inputs, start="probes")["probes"] == "--from names it"
    assert _plan(stored, inputs, start="probes")["eval"] == "after --from probes"
    assert _plan(stored, inputs, until="export")["train"] == "skip: after --until export"
    stored["train"]["status"] = "cancelled"
    assert _plan(stored, inputs)["train"] == "it was cancelled: resuming"
    with pytest.raises(UserError, match="train, has not completed"):
        _plan(stored, inputs, start="probes")
    with pytest.raises(UserError, match="comes after"):
        from loreforge.pipeline.plan import check_range

        check_range("eval", "split")
