"""CLI: `loreforge eval PROJECT --base MODEL --tuned RUN|DIR|CONFIG` (the same as `eval run ...`) and `eval list`,
`show`, `compare`, `execute`, `cancel`: evaluation runs, base vs tuned probe by probe."""

from __future__ import annotations

import time
from typing import Any

import click

from loreforge.cli import render
from loreforge.cli.base import cli, exit_for, json_option, service


class EvalGroup(click.Group):
    """`eval PROJECT ...` runs an evaluation (`eval run PROJECT ...`); `eval list|show|compare|...` the rest."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().resolve_command(ctx, args)


@cli.group("eval", cls=EvalGroup)
def eval_group() -> None:
    """Evaluation runs: does the tuned model know what the documents say? `loreforge eval PROJECT --base MODEL
    --tuned RUN|DIR|CONFIG` asks both models every probe (`loreforge probes build`), scores them and writes the
    report; `eval list`, `eval show ID`, `eval compare ID ID`."""


def _pct(cell: dict[str, Any] | None) -> str:
    from loreforge.evaluate.report import pct

    return pct(cell)


def _echo_eval(view: Any, as_json: bool) -> None:
    from loreforge.evaluate.report import p_text

    if as_json:
        return render.as_json(view)
    if view.status in ("queued", "running"):
        click.echo(f"eval {view.id} {view.status} in the background; log: {view.log_file}\n"
                   f"follow it with `loreforge eval show {view.id} --follow`, stop it with `loreforge eval cancel {view.id}`")
        return
    m = view.metrics
    click.echo(f"eval {view.id} {view.status}" + (f": {view.error}" if view.error else ""))
    for label, cell in (m.get("models") or {}).items():
        click.echo(f"  {label:<6} accuracy {_pct(cell)}")
    for kind, cells in (m.get("kind") or {}).items():
        click.echo(f"  {kind:<12} " + "  ".join(f"{label} {_pct(c)}" for label, c in cells.items()))
    head = (m.get("paired") or {}).get("tuned_vs_base")
    if head:
        click.echo(f"  tuned vs base: {head['wins']} wins, {head['losses']} losses, {head['ties']} ties; "
                   f"McNemar exact p = {p_text(head['p_value'])}")
    if view.report_dir and m:
        click.echo(f"report: {view.report_dir}/report.md")


def _progress(done: int, total: int, detail: dict[str, Any]) -> None:
    rate = detail.get("answers_per_s")
    click.echo(f"{detail.get('phase', '')}: {done}/{total} answers" + (f" ({rate}/s)" if rate else ""), err=True)


@eval_group.command("run")
@click.argument("project")
@click.option("--base", required=True, metavar="MODEL", help="The base model: a folder, .gguf file, hub id or model config.")
@click.option("--tuned", required=True, metavar="RUN|DIR|CONFIG",
              help="The tuned model: a train run id, a LoRA adapter or full model folder, or a model config (an endpoint).")
@click.option("--probes", "probe_sets", multiple=True, metavar="SET", help="Probe set names or ids (repeat; default: all of the project's).")
@click.option("--rag", is_flag=True, help="Also ask the base model with the top-k BM25 chunks of the project in its prompt.")
@click.option("--judge", metavar="CONFIG", help="A model config that scores free answers 0-1 (never one of the models judged).")
@click.option("--out", type=click.Path(file_okay=False), help="Report folder (default: the project's evals/<id>/).")
@click.option("--max-new-tokens", type=int, help="Most tokens per answer (setting eval.max_new_tokens).")
@click.option("--batch-size", type=int, help="Prompts per batch (setting eval.batch_size).")
@click.option("--rag-k", type=int, help="Chunks in the RAG prompt (setting eval.rag_k).")
@click.option("--name", help="A name for the run.")
@click.option("--background", is_flag=True, help="Run in a worker process and return at once.")
@json_option
def eval_run(project: str, base: str, tuned: str, probe_sets: tuple[str, ...], rag: bool, judge: str | None, out: str | None,
             max_new_tokens: int | None, batch_size: int | None, rag_k: int | None, name: str | None, background: bool,
             as_json: bool) -> None:
    """Evaluate TUNED against BASE on PROJECT's probe sets; also `loreforge eval PROJECT ...`."""
    view = service().evaluate(project, base, tuned, list(probe_sets) or None, rag=rag, judge=judge, out=out,
                              max_new_tokens=max_new_tokens, batch_size=batch_size, rag_k=rag_k, name=name,
                              background=background, on_progress=None if as_json or background else _progress)
    _echo_eval(view, as_json)
    if view.status not in ("queued", "running"):
        exit_for(view.status)


@eval_group.command("execute")
@click.argument("eval_id", type=int)
@json_option
def eval_execute(eval_id: int, as_json: bool) -> None:
    """Run a recorded evaluation here (what background workers run); again after a failure, cancel or crash it
    resumes, answering only what is not stored yet."""
    view = service().execute_eval(eval_id, on_progress=None if as_json else _progress)
    _echo_eval(view, as_json)
    exit_for(view.status)


@eval_group.command("cancel")
@click.argument("eval_id", type=int)
@json_option
def eval_cancel(eval_id: int, as_json: bool) -> None:
    """Stop a queued or running evaluation (its stored answers stay; `eval execute ID` resumes it)."""
    view = service().cancel_eval(eval_id)
    if as_json:
        return render.as_json(view)
    click.echo(f"eval {view.id}: {view.status}")


@eval_group.command("list")
@click.option("--project", "project_ref", help="Only this project's evaluation runs.")
@json_option
def eval_list(project_ref: str | None, as_json: bool) -> None:
    """List evaluation runs, newest first."""
    views = service().list_evals(project_ref)
    if as_json:
        return render.as_json(views)
    rows = []
    for v in views:
        models = v.metrics.get("models") or {}
        head = (v.metrics.get("paired") or {}).get("tuned_vs_base") or {}
        rows.append((v.id, v.project or "", v.status, f"{v.done}/{v.total}", render.clip(v.tuned.get("name", ""), 30),
                     _rate(models.get("base")), _rate(models.get("tuned")), render.show(head.get("p_value"))))
    render.table(["id", "project", "status", "answers", "tuned", "base acc", "tuned acc", "p"], rows)


def _rate(cell: dict[str, Any] | None) -> str:
    return f"{cell['rate'] * 100:.1f}%" if cell and cell.get("rate") is not None else "-"


@eval_group.command("show")
@click.argument("eval_id", type=int)
@click.option("--follow", is_flag=True, help="Print progress until the run ends.")
@json_option
def eval_show(eval_id: int, follow: bool, as_json: bool) -> None:
    """Show one evaluation run (with --follow: its progress until it ends)."""
    from loreforge.jobs import ACTIVE

    view = service().get_eval(eval_id)
    last = None
    while follow and view.status in ACTIVE:
        text = f"eval {view.id} {view.status}: {view.done}/{view.total} answers ({view.progress.get('phase', '')})"
        if text != last:
            click.echo(text, err=True)
            last = text
        time.sleep(1.0)
        view = service().get_eval(eval_id)
    if as_json:
        return render.as_json(view)
    render.kv([("id", view.id), ("project", view.project), ("status", view.status), ("base", view.base_model),
               ("tuned", view.tuned.get("name", "")), ("probe sets", ", ".join(view.probe_sets)),
               ("answers", f"{view.done}/{view.total}"), ("report", view.report_dir or "-"), ("error", view.error or "-")])
    _echo_eval(view, False)


@eval_group.command("compare")
@click.argument("first", type=int)
@click.argument("second", type=int)
@json_option
def eval_compare(first: int, second: int, as_json: bool) -> None:
    """Two evaluation runs side by side, and the second run's tuned model against the first's, probe by probe."""
    from loreforge.evaluate.report import p_text

    view = service().compare_evals(first, second)
    if as_json:
        return render.as_json(view)
    render.table(["metric", "model", "group", f"eval {first}", f"eval {second}", "delta"],
                 [(r["metric"], r["model"], r["group"], _pct(r["a"]), _pct(r["b"]),
                   f"{r['delta'] * 100:+.1f} pts" if r["delta"] is not None else "-") for r in view.rows])
    if view.paired:
        p = view.paired
        click.echo(f"tuned of eval {second} vs tuned of eval {first} on {p['n']} common probes: {p['wins']} wins, "
                   f"{p['losses']} losses, {p['ties']} ties; McNemar exact p = {p_text(p['p_value'])}")
