"""The offline demo end to end (issue 12), the slowest test: `loreforge run demo` — the shipped recipe — takes the
Morrow Coast document through offline (extractive) generation, full fine-tuning of the starter model
(SmolLM2-135M-Instruct) on CPU and evaluation on the probes we wrote (the facts reworded, never in the training
data), the trained questions' key facts and the general-knowledge set; and it must show that the model learned:
the tuned model right on more reworded probes than the base model, with the paired test significant — measured,
never assumed. Then the run folder, the report and the summary; then running the recipe again skips everything.

About 4 minutes on 2 cores (training ~2.5, evaluation ~1.5). The starter model is the session's converted copy
(`conftest.starter_model`), passed with `--set`, so the test does not convert the GGUF file again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from loreforge.cli import cli


@pytest.mark.slow
def test_the_offline_demo_teaches_the_starter_model_the_documents_facts(home: Path, starter_model: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["run", "demo", "--set", f"train.model_name_or_path={starter_model}", "--json"])
    assert result.exit_code == 0, (result.output + result.stderr)[-3000:]
    view = json.loads(result.stdout)
    assert view["status"] == "completed" and view["project"] == "morrow-coast"
    assert all(view["stages"][s]["status"] == "completed" for s in view["stages"]), view["stages"]
    summary = view["summary"]
    rows = {row["set"]: row for row in summary["eval"]["sets"]}
    print(json.dumps({name: {k: row[k] for k in ("base", "tuned", "paired")} for name, row in rows.items()}, indent=1))
    reworded, trained, general = rows["demo-morrow-coast"], rows["demo-key-fact"], rows["demo-general"]
    assert reworded["kinds"] == ["reworded"] and reworded["base"]["n"] == 27
    assert reworded["tuned"]["rate"] > reworded["base"]["rate"]
    assert reworded["paired"]["p_value"] < 0.05 and reworded["paired"]["wins"] > reworded["paired"]["losses"]
    assert trained["tuned"]["rate"] >= 0.5 and trained["tuned"]["rate"] > trained["base"]["rate"]
    assert general["base"]["n"] == general["tuned"]["n"] > 0  # the change on general knowledge is measured and shown
    assert summary["items"]["confirmed"] >= 40 and summary["train"]["loss_last"] < summary["train"]["loss_first"]
    assert any("DASHSCOPE_API_KEY" in step for step in summary["next"])  # what a real run needs, and the change

    folder = Path(view["run_dir"])
    for name in ("summary.md", "summary.json", "pipeline.log", "dataset/dataset_info.json", "model/training_loss.png",
                 "eval/report.md", "eval/report.json", "eval/generated_predictions.jsonl", "eval/accuracy_by_set.png"):
        assert (folder / name).is_file() and (folder / name).stat().st_size > 0, name
    text = (folder / "summary.md").read_text(encoding="utf-8")
    assert "did it learn?" in text and "general knowledge" in text and "reworded, never trained" in text
    report = (folder / "eval" / "report.md").read_text(encoding="utf-8")
    assert report.index("## Regressions") < report.index("## Largest wins")

    again = runner.invoke(cli, ["run", "demo", "--set", f"train.model_name_or_path={starter_model}", "--json"])
    assert again.exit_code == 0, again.output[-2000:]
    rerun = json.loads(again.stdout)
    assert {s: r["last_decision"] for s, r in rerun["stages"].items() if s != "report"} == dict.fromkeys(
        [s for s in rerun["stages"] if s != "report"], "done before, unchanged")
    assert rerun["summary"]["eval"] == summary["eval"]
    runs = runner.invoke(cli, ["runs", "list", "--json"])
    assert len(json.loads(runs.stdout)) == 1  # nothing was trained again
