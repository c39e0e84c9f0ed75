"""The CLI end to end: every command group, --json output, exit codes and error rendering."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from conftest import examples, write
from loreforge.cli import cli


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def js(*args: str) -> object:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_version_and_help(home: Path) -> None:
    assert run("version").output.startswith("loreforge ")
    out = run("--help").output
    for group in ["project", "settings", "ingest", "split", "toc", "chunks", "documents", "serve", "demo", "version"]:
        assert group in out


def test_project_lifecycle(home: Path) -> None:
    assert run("project", "create", "fin", "-d", "finance").exit_code == 0
    assert [p["name"] for p in js("project", "list")] == ["fin"]
    assert js("project", "show", "fin")["description"] == "finance"
    assert run("project", "rename", "fin", "fin2").exit_code == 0
    denied = run("project", "delete", "fin2", input="n\n")
    assert denied.exit_code == 1 and "Aborted" in denied.output
    assert js("project", "list")[0]["name"] == "fin2"
    assert run("project", "delete", "fin2", input="y\n").exit_code == 0
    assert js("project", "list") == []


def test_errors_are_one_line_without_traceback(home: Path) -> None:
    result = CliRunner().invoke(cli, ["project", "show", "nope"])
    assert result.exit_code == 1
    assert result.output.startswith("error: No project named 'nope'")
    assert "Traceback" not in result.output


def test_settings_show_set(home: Path) -> None:
    run("project", "create", "p")
    rows = {r["key"]: r for r in js("settings", "show", "p")}
    assert rows["split.max_length"]["source"] == "default"
    out = run("settings", "set", "p", "split.max_length", "1800")
    assert out.exit_code == 0 and "1800" in out.output
    assert {r["key"]: r for r in js("settings", "show", "p")}["split.max_length"]["source"] == "project"
    bad = CliRunner().invoke(cli, ["settings", "set", "p", "split.overlap", "-3"])
    assert bad.exit_code == 1 and "split.overlap" in bad.output and "0 .. 50000" in bad.output
    text = run("settings", "show", "p").output
    assert "split.max_length" in text and "project" in text


def test_ingest_split_toc_chunks(home: Path, tmp_path: Path) -> None:
    run("project", "create", "p")
    bad = write(tmp_path / "empty.md", "")
    result = CliRunner().invoke(cli, ["ingest", "p", str(examples()[1]), str(examples()[0]), str(bad)])
    assert result.exit_code == 1  # one failed
    assert "2 added, 0 duplicates, 1 failed" in result.output
    assert "empty.md" in result.output
    docs = js("documents", "list", "p")
    assert len(docs) == 2
    doc_id = docs[0]["id"]
    assert js("documents", "show", "p", str(doc_id))["chunks"] >= 1
    assert "星河" in run("documents", "show", "p", str(doc_id), "--text").output
    split = js("split", "p", "--document", str(doc_id), "--strategy", "recursive", "--max", "600", "--min", "200", "--chunk-size", "500")
    assert split["strategy"] == "recursive" and split["stats"]["max"] <= 600
    assert "chunks (recursive)" in run("split", "p", "--document", str(doc_id), "--strategy", "recursive", "--max", "600", "--min", "200", "--chunk-size", "500").output
    toc = js("toc", "p")
    assert len(toc["documents"]) == 2
    page = js("chunks", "list", "p", "--document", str(doc_id), "--page-size", "3")
    assert page["total"] >= 3 and len(page["items"]) == 3
    ids = [c["id"] for c in page["items"]]
    assert js("chunks", "show", "p", str(ids[0]))["id"] == ids[0]
    assert "page 1 of" in run("chunks", "list", "p").output
    assert run("chunks", "edit", "p", str(ids[0]), "--text", "-", input="新的文本。\n").exit_code == 0
    assert js("chunks", "show", "p", str(ids[0]))["text"] == "新的文本。\n"
    assert "Merged into chunk" in run("chunks", "merge", "p", str(ids[1]), str(ids[2])).output
    assert "Split into chunk" in run("chunks", "split", "p", str(ids[1]), "10").output
    assert "Deleted 1 chunk" in run("chunks", "delete", "p", str(ids[0]), "--yes").output


def test_demo(home: Path) -> None:
    result = run("demo", "--dataset-only")
    assert result.exit_code == 0, result.output
    assert "Table of contents" in result.output and "星河精密制造" in result.output
    assert "Chunks (markdown)" in result.output
    assert "Grounding check" in result.output and "LLaMA Factory bundle" in result.output
    again = js("demo", "--dataset-only")  # re-runnable: the demo project is recreated
    assert again["ingest"]["added"] == 2 and again["project"]["counts"]["chunks"] > 0
    assert again["answers"]["status"] == "completed" and again["export"]["counts"]["total"] > 0
    assert (Path(again["export"]["folder"]) / "dataset_info.json").exists()


def test_console_script_runs(home: Path) -> None:
    exe = Path(sys.executable).parent / "loreforge"
    out = subprocess.run([str(exe), "project", "show", "missing"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr.startswith("error: No project named 'missing'") and "Traceback" not in out.stderr
