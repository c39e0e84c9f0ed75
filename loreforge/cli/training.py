"""CLI: `loreforge env` and `loreforge tiny-model`."""

from __future__ import annotations

import click

from loreforge.cli import render
from loreforge.cli.base import cli, json_option, service


@cli.command()
@json_option
def env(as_json: bool) -> None:
    """Python, torch, transformers, peft versions; accelerator (CUDA / ROCm-HIP incl. Hygon DCU / NPU / MPS /
    CPU), devices, memory, bf16 support."""
    view = service().environment()
    if as_json:
        return render.as_json(view.report)
    click.echo(view.text)


@cli.command("tiny-model")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--text", "texts", multiple=True, type=click.Path(dir_okay=False, exists=True), help="Train the tokenizer on these files (default: the bundled examples).")
@click.option("--hidden-size", type=int)
@click.option("--layers", type=int)
@click.option("--vocab-size", type=int)
@click.option("--seed", type=int)
@click.option("--overwrite", is_flag=True, help="Write into a folder that already has files.")
@json_option
def tiny_model(out: str, texts: tuple[str, ...], overwrite: bool, as_json: bool, **shape: int | None) -> None:
    """Build a tiny Qwen2-architecture model + tokenizer in OUT (nothing is downloaded)."""
    sizes = {k: v for k, v in shape.items() if v is not None}
    view = service().tiny_model(out, list(texts) or None, overwrite=overwrite, **sizes)
    if as_json:
        return render.as_json(view)
    click.echo(f"Tiny Qwen2 model ({view.parameters:,} parameters, vocabulary {view.vocab_size}) in:\n{view.path}")


def _value(text: str) -> object:
    import yaml

    return yaml.safe_load(text)


@cli.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False, exists=True))
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a config key, e.g. --set max_steps=10.")
@click.option("--project", "project_ref", help="Record the run under this project (without CONFIG: train on its confirmed dataset).")
@click.option("--model", help="Without CONFIG: the base model (local folder or hub id).")
@click.option("--val-size", type=float, default=0.1, show_default=True, help="Without CONFIG: share held out for validation.")
@json_option
def train(config: str | None, sets: tuple[str, ...], project_ref: str | None, model: str | None, val_size: float, as_json: bool) -> None:
    """Fine-tune from a LLaMA Factory-style SFT YAML (same keys), or with --project P --model PATH straight from
    a project's confirmed dataset (the reference workflow's LoRA recipe). The run is recorded (`loreforge runs`)."""
    import logging

    from loreforge.cli.base import CliError

    if config is None and not (project_ref and model):
        raise CliError("Pass a CONFIG.yaml, or --project P --model PATH to train on a project's confirmed dataset")

    overrides = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep:
            raise CliError(f"--set takes KEY=VALUE, got {item!r}")
        overrides[key.strip()] = _value(value)
    import contextlib
    import sys

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    with contextlib.redirect_stdout(sys.stderr):  # training logs go to stderr; stdout carries the result
        if config is None:
            run = service().train_project(str(project_ref), str(model), overrides, val_size=val_size)
        else:
            run = service().train(config, overrides, project=project_ref)
    if as_json:
        return render.as_json(run)
    m = run.metrics
    click.echo(f"run {run.id} {run.status}: {m.get('global_step')} steps, train loss {m.get('train_loss')}, "
               f"eval loss {m.get('eval_loss')}\noutput: {run.output_dir}" + (f"\nbest checkpoint: {run.best_checkpoint}" if run.best_checkpoint else ""))


@cli.group()
def runs() -> None:
    """Train runs recorded in the store."""


@runs.command("list")
@click.option("--project", "project_ref", help="Only this project's runs.")
@json_option
def runs_list(project_ref: str | None, as_json: bool) -> None:
    """List train runs."""
    views = service().list_runs(project_ref)
    if as_json:
        return render.as_json(views)
    render.table(["id", "status", "type", "base model", "steps", "train loss", "eval loss", "output"],
                 [(r.id, r.status, r.finetuning_type, render.clip(r.base_model, 30), r.metrics.get("global_step", ""),
                   r.metrics.get("train_loss", ""), r.metrics.get("eval_loss", "") or "", render.clip(r.output_dir or "", 40)) for r in views])


@runs.command("show")
@click.argument("run_id", type=int)
@json_option
def runs_show(run_id: int, as_json: bool) -> None:
    """Show one train run."""
    r = service().get_run(run_id)
    if as_json:
        return render.as_json(r)
    render.kv([("id", r.id), ("status", r.status), ("base model", r.base_model), ("type", r.finetuning_type),
               ("output", r.output_dir or "-"), ("best checkpoint", r.best_checkpoint or "-"), ("error", r.error or "-")]
              + [(k, v) for k, v in sorted(r.metrics.items())])


@cli.command("export-model")
@click.option("--model", "base_model", required=True, help="The base model (local folder or hub id).")
@click.option("--adapter", required=True, help="A LoRA adapter folder, or a train run id (`loreforge runs list`).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for the merged model.")
@click.option("--overwrite", is_flag=True, help="Write into a folder that already has files.")
@json_option
def export_model(base_model: str, adapter: str, out: str, overwrite: bool, as_json: bool) -> None:
    """Merge a LoRA adapter into its base model: safetensors + tokenizer + chat template, for vLLM/transformers."""
    view = service().export_model(base_model, adapter, out, overwrite=overwrite)
    if as_json:
        return render.as_json(view)
    click.echo(f"Merged model ({view.parameters:,} parameters) in:\n{view.path}")
