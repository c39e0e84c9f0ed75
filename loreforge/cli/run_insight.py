"""CLI: what a train run's folder says (`loreforge runs inspect`: loss curve, checkpoints with the best marked,
tokens/s, the log tail, the first example), two runs side by side (`runs compare`), the devices' live memory and
load (`loreforge devices`), and an evaluation run's whole report (`loreforge eval report`). Shells over
`RunInsightActions` and `EvalReportActions`; the web UI's Run, Environment and Evaluation pages show the same."""

from __future__ import annotations

import time
from typing import Any

import click

from loreforge.cli import render
from loreforge.cli.base import cli, json_option, service
from loreforge.cli.evaluate import eval_group
from loreforge.cli.training import runs


def _num(value: Any, digits: int = 4) -> str:
    return f"{value:.{digits}g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "-"


@runs.command("inspect")
@click.argument("run_id", type=int)
@click.option("--log", "log_lines", type=click.IntRange(0), default=20, show_default=True, help="Log lines to show.")
@click.option("--example", is_flag=True, help="Show the first training example with its masked labels (tokenized now when the log lacks it).")
@json_option
def runs_inspect(run_id: int, log_lines: int, example: bool, as_json: bool) -> None:
    """A run's loss curve, checkpoints (the best marked), tokens/s and log tail, read from its output folder."""
    view = service().inspect_run(run_id, log_lines=log_lines, example=example)
    if as_json:
        return render.as_json(view)
    r = view.run
    click.echo(f"run {r.id} {r.status} · {r.finetuning_type} · {r.base_model}\noutput: {render.show(r.output_dir)}")
    if view.points:
        render.table(["step", "loss", "eval loss", "lr", "epoch", "tokens/s"],
                     [(p.get("current_steps"), _num(p.get("loss")), _num(p.get("eval_loss")), _num(p.get("lr"), 3),
                       _num(p.get("epoch"), 3), _num(p.get("throughput"), 5)) for p in view.points])
    else:
        click.echo("no loss logged yet")
    if view.tokens_per_second is not None:
        click.echo(f"tokens/s: {view.tokens_per_second:,.1f} ({render.show(view.total_tokens)} tokens)")
    if view.checkpoints:
        render.table(["checkpoint", "step", "eval loss", "complete", "best", "MB"],
                     [(c.name, c.step, _num(c.eval_loss), "yes" if c.complete else f"no: {c.problem}",
                       "*" if c.best else "", c.size_mb) for c in view.checkpoints])
    if view.example:
        click.echo("\nfirst example:\n" + view.example)
    if view.log:
        click.echo("\nlog:\n" + "\n".join(view.log))


@runs.command("compare")
@click.argument("first", type=int)
@click.argument("second", type=int)
@click.option("--all", "show_all", is_flag=True, help="List the settings they share too.")
@json_option
def runs_compare(first: int, second: int, show_all: bool, as_json: bool) -> None:
    """Two runs side by side: final losses and the settings where they differ."""
    view = service().compare_runs(first, second)
    if as_json:
        return render.as_json(view)
    for label, run, points in (("a", view.a, view.points_a), ("b", view.b, view.points_b)):
        losses = [p["loss"] for p in points if "loss" in p]
        evals = [p["eval_loss"] for p in points if "eval_loss" in p]
        click.echo(f"{label}: run {run.id} {run.status}, {len(losses)} loss points, last loss {_num(losses[-1] if losses else None)}, "
                   f"lowest eval loss {_num(min(evals) if evals else None)}")
    rows = [(s["key"], render.clip(render.show(s["a"]), 40), render.clip(render.show(s["b"]), 40))
            for s in view.settings if show_all or not s["same"]]
    render.table(["setting", f"run {view.a.id}", f"run {view.b.id}"], rows)


@cli.command()
@click.option("--watch", type=click.FloatRange(0.5), metavar="SECONDS", help="Print again every SECONDS until Ctrl-C.")
@json_option
def devices(watch: float | None, as_json: bool) -> None:
    """The accelerators' memory and load now (nvidia-smi, rocm-smi or torch), and the host's CPU and memory."""
    while True:
        view = service().device_usage()
        if as_json:
            return render.as_json(view)
        cpu = f"CPU {render.show(view.cpu_percent)}% of {view.cpus} cores"
        memory = f"memory {_num(view.memory_used_mb, 6)} / {_num(view.memory_total_mb, 6)} MB"
        click.echo(f"{view.at:%H:%M:%S}  {cpu}, {memory}, load {' '.join(map(str, view.load_average))}")
        for d in view.devices:
            click.echo(f"  [{d.index}] {d.name}: {_num(d.memory_used_mb, 6)} / {_num(d.memory_total_mb, 6)} MB, "
                       f"{render.show(d.utilization)}% busy ({view.source})")
        if view.note:
            click.echo(f"  {view.note}")
        if watch is None:
            return
        time.sleep(watch)


def _pct(cell: dict[str, Any] | None) -> str:
    from loreforge.evaluate.report import pct

    return pct(cell)


@eval_group.command("report")
@click.argument("eval_id", type=int)
@json_option
def eval_report(eval_id: int, as_json: bool) -> None:
    """An evaluation run's whole report from its stored answers (partial while it runs): accuracy per model, the
    paired comparison, per document and tag, the regressions and the largest wins."""
    view = service().eval_report(eval_id)
    if as_json:
        return render.as_json(view)
    s = view.summary
    click.echo(f"evaluation run {view.run.id} ({view.run.status}): {s['probes']} probes")
    render.table(["model", "what", "accuracy"], [(label, view.models.get(label, ""), _pct(s["models"][label]["accuracy"]))
                                                 for label in s["labels"]])
    for name, entry in s["paired"].items():
        cell = entry["all"]
        click.echo(f"{name.replace('_vs_', ' vs ')}: {cell['wins']} wins, {cell['losses']} losses, {cell['ties']} ties "
                   f"of {cell['n']}; McNemar p = {cell['p_value']:.3g}")
    for field in ("document", "tag"):
        table = s["groups"].get(field) or {}
        if table:
            render.table([field, *s["labels"]], [(render.clip(g, 40), *[_pct(cells[x]) for x in s["labels"]]) for g, cells in table.items()])
    for title, rows in (("regressions (base right, tuned wrong)", s["regressions"]), ("largest wins", s["wins"])):
        click.echo(f"\n{title}: {len(rows)}")
        for e in rows[:10]:
            click.echo(f"- {render.clip(e['question'], 70)}\n  reference: {render.clip(e['reference'], 70)}\n"
                       f"  base: {render.clip(e['base'], 70)}\n  tuned: {render.clip(e['tuned'], 70)}")
