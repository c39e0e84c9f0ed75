"""CLI: `loreforge run RECIPE.yaml` (or `loreforge run --docs DIR --model M`), documents to a tuned, evaluated
model in one resumable command, with a line per stage and a progress bar for the long ones; `loreforge pipeline
list|show|execute|cancel` for its runs; `loreforge demo`, the first run on any laptop."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from loreforge.cli import render
from loreforge.cli.base import cli, exit_for, json_option, service
from loreforge.pipeline.plan import STAGES

STAGE = click.Choice(list(STAGES))


class StageLines:
    """Prints the plan, a line per stage and a progress bar for a stage's own job (on stderr)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: render.ProgressLine | None = None

    def __call__(self, event: dict[str, Any]) -> None:
        if self.quiet:
            return
        kind = event.get("event")
        if kind == "plan":
            skipped = [s for s in event["stages"] if not s["run"] and s["reason"] != "not in the recipe"]
            for s in skipped:
                click.echo(f"  · {s['stage']:<9} skipped: {s['reason']}", err=True)
        elif kind == "stage" and event["state"] == "start":
            click.echo(f"▶ {event['stage']:<9} {event.get('reason', '')}", err=True)
        elif kind == "progress" and event.get("total"):
            if self.bar is None:
                self.bar = render.ProgressLine(f"  {event.get('kind', event['stage'])} ({event.get('unit') or 'items'})")
            self.bar(int(event.get("done") or 0), 0, int(event["total"]))
        elif kind == "stage":
            self._close_bar()
            mark = {"completed": "✓", "cancelled": "■"}.get(event["state"], "✗")
            tail = f": {event['error']}" if event.get("error") else ""
            click.echo(f"{mark} {event['stage']:<9} {event['state']} in {event.get('seconds', 0):g} s{tail}", err=True)

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _quick_recipe(docs: tuple[str, ...], base: str | None, provider: str | None, gen_model: str | None, name: str | None,
                  project: str | None, language: str | None) -> dict[str, Any]:
    """The recipe `loreforge run --docs ... --model ...` stands for (every default of docs/recipes.md otherwise)."""
    recipe: dict[str, Any] = {"name": name or "run", "documents": [str(Path(d).expanduser().resolve()) for d in docs],
                              "generation": {"provider": provider or "extractive", "model": gen_model or ""}}
    if project:
        recipe["project"] = project
    if language:
        recipe["language"] = language
    if base:
        recipe["train"] = {"model_name_or_path": base}
        recipe["probes"] = {"kinds": ["held-out", "key-fact", "general"]}
        recipe["eval"] = {}
    return recipe


@cli.command("run")
@click.argument("recipe", required=False)
@click.option("--docs", multiple=True, help="Quick form: documents (files, folders, globs) instead of a recipe file.")
@click.option("--model", "base_model", help="Quick form: the base model to fine-tune (folder, .gguf, hub id, `starter`).")
@click.option("--provider", help="Quick form: the generation provider (default: extractive, offline).")
@click.option("--gen-model", help="Quick form: the generation model's name at the provider (e.g. qwen-max-latest).")
@click.option("--name", help="Quick form: the run's name (default: run).")
@click.option("--project", "project_name", help="Quick form: the project (default: the run's name).")
@click.option("--language", type=click.Choice(["zh", "en"]), help="Quick form: the documents' language.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Change a recipe key, e.g. --set train.num_train_epochs=4.")
@click.option("--from", "start", type=STAGE, help="Run from this stage (and every one after it).")
@click.option("--until", type=STAGE, help="Stop after this stage.")
@click.option("--background", is_flag=True, help="Run it in a worker process and return at once.")
@click.option("--quiet", is_flag=True, help="No stage lines or progress bars (the summary only).")
@json_option
def run_command(recipe: str | None, docs: tuple[str, ...], base_model: str | None, provider: str | None, gen_model: str | None,
                name: str | None, project_name: str | None, language: str | None, overrides: tuple[str, ...], start: str | None,
                until: str | None, background: bool, quiet: bool, as_json: bool) -> None:
    """Documents to a tuned, evaluated model: ingest → split → tags → questions → answers → review → export →
    train → probes → eval → report, as RECIPE (a YAML file, or `demo`, the recipe that ships inside LoreForge)
    says; more in examples/recipes/ (reference, ollama-gpu, multi-gpu). Running it again continues the run: finished stages are skipped, an unfinished
    one resumes, a changed setting reruns its stage and those after it. Every key: docs/recipes.md."""
    if recipe and docs:
        raise click.UsageError("Give a RECIPE or --docs, not both")
    if not recipe and not docs:
        raise click.UsageError("Give a RECIPE (e.g. `loreforge run demo`) or --docs DIR [--model M]")
    from loreforge.pipeline.load import shipped_recipe

    source: Any = _quick_recipe(docs, base_model, provider, gen_model, name, project_name, language) if docs else (
        shipped_recipe(recipe or "") or Path(recipe or ""))
    lines = StageLines(quiet or as_json)
    view = service().run_pipeline(source, list(overrides), start=start, until=until, background=background, on_event=lines)
    _outcome(view, as_json)


def _outcome(view: Any, as_json: bool) -> None:
    from loreforge.pipeline.summary import render_text

    if as_json:
        render.as_json(view)
    elif view.status in ("queued", "running"):
        click.echo(f"pipeline run {view.id} ({view.name}) started in the background; log: {view.log_file}\n"
                   f"follow it: `loreforge pipeline show {view.id} --follow`; stop it: `loreforge pipeline cancel {view.id}`")
        return
    elif view.summary and view.status == "completed":
        click.echo(render_text(view.summary, view.status))
    else:
        click.echo(f"pipeline run {view.id} ({view.name}): {view.status}" + (f": {view.error}" if view.error else ""))
        click.echo(f"  run folder: {view.run_dir}\n  go on with `loreforge pipeline execute {view.id}` (or run the recipe again)")
    exit_for(view.status)


@cli.group("pipeline")
def pipeline_group() -> None:
    """Pipeline runs (`loreforge run RECIPE`): list, show (follow), execute again, cancel."""


@pipeline_group.command("list")
@click.option("--project", "project_ref", help="Only this project's runs.")
@json_option
def pipeline_list(project_ref: str | None, as_json: bool) -> None:
    """Pipeline runs, newest first."""
    runs = service().list_pipelines(project_ref)
    if as_json:
        return render.as_json(runs)
    render.table(["id", "project", "name", "status", "stage", "run folder"],
                 [[r.id, r.project, r.name, r.status, r.progress.get("stage", "-"), r.run_dir] for r in runs])


@pipeline_group.command("show")
@click.argument("pipeline_id", type=int)
@click.option("--follow", is_flag=True, help="Keep printing its progress until it ends.")
@json_option
def pipeline_show(pipeline_id: int, follow: bool, as_json: bool) -> None:
    """One pipeline run: each stage's status and why it ran or was skipped, the running stage's progress, the summary."""
    from loreforge.jobs import ACTIVE
    from loreforge.pipeline.summary import render_text

    svc = service()
    view = svc.get_pipeline(pipeline_id)
    while follow and view.status in ACTIVE and not as_json:
        child = view.progress.get("child") or {}
        click.echo(f"{view.status}: stage {view.progress.get('stage', '-')} "
                   f"({child.get('kind') or '-'} {child.get('done', 0)}/{child.get('total', 0)} {child.get('unit') or ''})", err=True)
        time.sleep(2.0)
        view = svc.get_pipeline(pipeline_id)
    if as_json:
        return render.as_json(view)
    click.echo(f"pipeline run {view.id} ({view.name}, project {view.project}): {view.status}" + (f" — {view.error}" if view.error else ""))
    rows = [[s, (view.stages.get(s) or {}).get("status", "-"), (view.stages.get(s) or {}).get("seconds", "-"),
             (view.stages.get(s) or {}).get("last_decision") or (view.stages.get(s) or {}).get("reason", "")] for s in STAGES]
    render.table(["stage", "status", "seconds", "last decision"], rows)
    click.echo(f"run folder: {view.run_dir}\nlog: {view.log_file}")
    if view.summary:
        click.echo(render_text(view.summary, view.status))


@pipeline_group.command("execute")
@click.argument("pipeline_id", type=int)
@click.option("--from", "start", type=STAGE, help="Run from this stage (and every one after it).")
@click.option("--until", type=STAGE, help="Stop after this stage.")
@click.option("--background", is_flag=True, help="Run it in a worker process and return at once.")
@click.option("--quiet", is_flag=True, help="No stage lines or progress bars.")
@json_option
def pipeline_execute(pipeline_id: int, start: str | None, until: str | None, background: bool, quiet: bool, as_json: bool) -> None:
    """Execute a recorded run again (after a failure, a cancel, a crash): finished stages are skipped."""
    view = service().execute_pipeline(pipeline_id, start=start, until=until, background=background,
                                      on_event=StageLines(quiet or as_json))
    _outcome(view, as_json)


@pipeline_group.command("cancel")
@click.argument("pipeline_id", type=int)
@json_option
def pipeline_cancel(pipeline_id: int, as_json: bool) -> None:
    """Stop a running pipeline run and the stage job it runs (what is done stays)."""
    view = service().cancel_pipeline(pipeline_id)
    if as_json:
        return render.as_json(view)
    click.echo(f"pipeline run {view.id}: {view.status}")
