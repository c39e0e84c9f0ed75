"""CLI: `loreforge env` and `loreforge tiny-model`."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Any

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
@click.option("--heads", type=int, help="Attention heads (hidden size must divide by it).")
@click.option("--kv-heads", type=int, help="Key/value heads (grouped-query attention; heads must divide by it).")
@click.option("--intermediate-size", type=int, help="MLP width (default: twice the hidden size).")
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


def _launch_options(f: Any) -> Any:
    options = [
        click.option("--background", is_flag=True, help="Start the run in a worker process and return at once (follow it with `loreforge runs show ID --follow`)."),
        click.option("--nproc-per-node", type=int, default=1, show_default=True, help="Processes on this machine (one per GPU); >1 launches torchrun."),
        click.option("--nnodes", type=int, default=1, show_default=True, help="Machines taking part (multi-node)."),
        click.option("--node-rank", type=int, default=0, show_default=True, help="This machine's rank among the nodes."),
        click.option("--master-addr", default="127.0.0.1", show_default=True, help="Address of the node-rank-0 machine."),
        click.option("--master-port", type=int, default=29500, show_default=True, help="Free TCP port on the node-rank-0 machine."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _launch(nproc_per_node: int, nnodes: int, node_rank: int, master_addr: str, master_port: int) -> Any:
    from loreforge.train.launch import Launch

    return Launch(nproc_per_node, nnodes, node_rank, master_addr, master_port)


def _echo_run(run: Any, as_json: bool) -> None:
    from loreforge.train.launch import is_main_process

    if not is_main_process():
        return  # other ranks of a multi-process run: rank 0 reports
    if as_json:
        return render.as_json(run)
    m = run.metrics
    if run.status in ("queued", "running"):
        click.echo(f"run {run.id} {run.status} in the background; log: {run.log_file}\n"
                   f"follow it with `loreforge runs show {run.id} --follow`, stop it with `loreforge runs cancel {run.id}`")
        return
    click.echo(f"run {run.id} {run.status}: {render.show(m.get('global_step'))} steps, train loss {render.show(m.get('train_loss'))}, "
               f"eval loss {render.show(m.get('eval_loss'))}\noutput: {render.show(run.output_dir)}" + (f"\nbest checkpoint: {run.best_checkpoint}" if run.best_checkpoint else ""))


def _end_with(run: Any) -> None:
    """A run that ran here ends the command with its job's exit status (0 completed, 1 failed, 4 cancelled)."""
    from loreforge.cli.base import exit_for
    from loreforge.jobs import ACTIVE

    if run.status not in ACTIVE:
        exit_for(run.status)


@contextlib.contextmanager
def _logs_to_stderr() -> Iterator[None]:
    """LoreForge's training logs go to stderr (other libraries' INFO chatter stays off); stdout carries the result."""
    ours = logging.getLogger("loreforge")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    level, propagate = ours.level, ours.propagate
    ours.addHandler(handler)
    ours.setLevel(logging.INFO)
    ours.propagate = False
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        ours.removeHandler(handler)
        ours.setLevel(level)
        ours.propagate = propagate


@cli.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False, exists=True))
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a config key, e.g. --set max_steps=10.")
@click.option("--project", "project_ref", help="Record the run under this project (without CONFIG: train on its confirmed dataset).")
@click.option("--base-model", "--model", "model", metavar="PATH",
              help="Without CONFIG: the base model to fine-tune (local folder or hub id); --model is the same.")
@click.option("--val-size", type=float, default=0.1, show_default=True, help="Without CONFIG: share held out for validation.")
@click.option("--dry-run", is_flag=True, help="Check CONFIG (with --set) and print it as the YAML that would run; train nothing.")
@_launch_options
@json_option
def train(config: str | None, sets: tuple[str, ...], project_ref: str | None, model: str | None, val_size: float,
          dry_run: bool, background: bool, as_json: bool, **topology: Any) -> None:
    """Fine-tune from a LLaMA Factory-style SFT YAML (same keys), or with --project P --base-model PATH straight from
    a project's confirmed dataset (the reference workflow's LoRA recipe). The run is recorded (`loreforge runs`).
    Several GPUs: --nproc-per-node N (or `torchrun --nproc_per_node N -m loreforge train CONFIG`)."""
    from loreforge.cli.base import CliError

    if config is None and not (project_ref and model):
        raise CliError("Pass a CONFIG.yaml, or --project P --base-model PATH to train on a project's confirmed dataset")
    overrides = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep:
            raise CliError(f"--set takes KEY=VALUE, got {item!r}")
        overrides[key.strip()] = _value(value)
    if dry_run:
        if config is None:
            raise CliError("--dry-run needs a CONFIG.yaml")
        preview = service().preview_train(config, overrides)
        return render.as_json(preview) if as_json else click.echo(preview.yaml, nl=False)
    launch = _launch(**topology)
    with _logs_to_stderr():
        if config is None:
            run = service().train_project(str(project_ref), str(model), overrides, val_size=val_size,
                                          background=background, launch=launch)
        else:
            run = service().train(config, overrides, project=project_ref, background=background, launch=launch)
    _echo_run(run, as_json)
    _end_with(run)


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
    render.table(["id", "status", "type", "base model", "steps", "progress", "train loss", "eval loss", "output"],
                 [(r.id, r.status, r.finetuning_type, render.clip(r.base_model, 30), r.metrics.get("global_step", ""),
                   _progress_text(r.progress), r.metrics.get("train_loss", ""), r.metrics.get("eval_loss", "") or "",
                   render.clip(r.output_dir or "", 40)) for r in views])


def _progress_text(progress: dict[str, Any]) -> str:
    if "current_steps" not in progress:
        return ""
    text = f"{render.show(progress.get('current_steps'))}/{render.show(progress.get('total_steps'))} ({render.show(progress.get('percentage'))}%)"
    return text + (f" loss {render.show(float(progress['loss']))}" if isinstance(progress.get("loss"), (int, float)) else "")


@runs.command("show")
@click.argument("run_id", type=int)
@click.option("--follow", is_flag=True, help="Print progress until the run ends.")
@json_option
def runs_show(run_id: int, follow: bool, as_json: bool) -> None:
    """Show one train run (with --follow: its progress until it ends)."""
    import time

    from loreforge.jobs import ACTIVE

    r = service().get_run(run_id)
    last = None
    while follow and r.status in ACTIVE:
        text = _progress_text(r.progress) or r.status
        if text != last:
            click.echo(f"run {r.id} {r.status}: {text}, elapsed {r.progress.get('elapsed_time', '-')}, "
                       f"remaining {r.progress.get('remaining_time', '-')}", err=True)
            last = text
        time.sleep(1.0)
        r = service().get_run(run_id)
    if as_json:
        return render.as_json(r)
    render.kv([("id", r.id), ("status", r.status), ("base model", r.base_model), ("type", r.finetuning_type),
               ("progress", _progress_text(r.progress) or "-"), ("output", r.output_dir or "-"),
               ("log", r.log_file or "-"), ("best checkpoint", r.best_checkpoint or "-"), ("error", r.error or "-")]
              + [(k, v) for k, v in sorted(r.metrics.items())])


@runs.command("execute")
@click.argument("run_id", type=int)
@json_option
def runs_execute(run_id: int, as_json: bool) -> None:
    """Execute a recorded run here (what background and torchrun workers run; also re-runs a failed, cancelled or
    interrupted run, resuming from its last checkpoint)."""
    from loreforge.train.launch import is_launched_worker

    with _logs_to_stderr():
        run = service().execute_run(run_id)
    if is_launched_worker():
        click.echo(f"run {run.id} {run.status}", err=True)  # the launcher reports the result
        return
    _echo_run(run, as_json)
    _end_with(run)


@runs.command("cancel")
@click.argument("run_id", type=int)
@json_option
def runs_cancel(run_id: int, as_json: bool) -> None:
    """Stop a queued or running train run (checkpoints written so far are kept)."""
    run = service().cancel_run(run_id)
    if as_json:
        return render.as_json(run)
    click.echo(f"run {run.id}: {run.status}")


@cli.command("export-model")
@click.option("--base-model", "--model", "base_model", required=True, metavar="PATH",
              help="The base model the adapter was trained on (local folder or hub id); --model is the same.")
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
