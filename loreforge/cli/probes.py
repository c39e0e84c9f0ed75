"""CLI: `loreforge probes build|list|show|import|export|delete` — the probe sets `loreforge eval` asks."""

from __future__ import annotations

from typing import Any

import click

from loreforge.cli import render
from loreforge.cli.base import cli, exit_for, json_option, service
from loreforge.defaults import DEFAULT_PAGE_SIZE

KINDS_HELP = "held-out, reworded, key-fact, general (comma separated) [default: all; reworded only with an LLM]."
QTYPES_HELP = "open, short, true-false, single-choice, multiple-choice (comma separated) [default: the probes.qtypes setting]."


@cli.group()
def probes() -> None:
    """Probe sets: what a model is asked to prove it learned (held-out, reworded, key-fact, general, your own)."""


def _print_set(s: Any) -> None:
    counts = s.counts or {}
    click.echo(f"probe set {s.id} '{s.name}' ({s.language}): {s.probes} probes; kinds {', '.join(s.kinds)}")
    for kind, c in (counts.get("per_kind") or {}).items():
        other = sum((c.get("dropped_other") or {}).values())
        avail = f" from {c['available']} question(s)" if "available" in c else ""
        click.echo(f"  {kind}: {c.get('built', 0)} probes{avail}; dropped {c.get('dropped_leakage', 0)} as leakage, {other} for other reasons")
        for reason, n in (c.get("dropped_other") or {}).items():
            click.echo(f"    {n} × {reason}")
    if counts.get("per_qtype"):
        click.echo("  question types: " + ", ".join(f"{q} {n}" for q, n in counts["per_qtype"].items()))
    for leak in counts.get("leaked") or []:
        click.echo(f"  leaked ({leak['similarity']:.2f}): {render.clip(leak['question'], 50)}  ~  {render.clip(leak.get('training_question') or '', 50)}")
    if s.job is not None:
        click.echo(f"  rewording job {s.job.id}: {s.job.summary}")


@probes.command("build")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--name", help="Name of the set [default: probes]. The same name and options again resumes it.")
@click.option("--kinds", help=KINDS_HELP)
@click.option("--qtypes", help=QTYPES_HELP)
@click.option("--size", type=int, help="Most base questions per kind (seeded sample) [default: probes.size].")
@click.option("--rotations", type=int, help="Orders each choice probe is asked in [default: one per option].")
@click.option("--model", metavar="CONFIG", help="The model config that rewords (default: the active one).")
@click.option("--provider", type=click.Choice(["extractive"]), help="extractive: no LLM (held-out, key-fact, general only).")
@click.option("--leakage-threshold", type=float, help="Trigram similarity to a training question that drops a probe [default: probes.leakage_threshold].")
@click.option("--val-size", type=float, help="The export's validation share the model was trained with [default: the export's].")
@click.option("--split-by", type=click.Choice(["chunk", "document"]), help="As the export split [default: chunk].")
@click.option("--seed", type=int, help="The export's split seed, also the probes' [default: the export's].")
@click.option("--background", is_flag=True, help="Return at once; follow the rewording with `loreforge jobs show`.")
@json_option
def probes_build(project_ref: str, as_json: bool, background: bool, **opts: Any) -> None:
    """Build a probe set from PROJECT's confirmed dataset, split exactly as `loreforge export` splits it."""
    bar = None if background else render.ProgressLine("rewording")
    result = service().build_probes(project_ref, background=background, on_progress=bar, **opts)
    if bar is not None:
        bar.close()
    render.as_json(result) if as_json else _print_set(result)
    if result.job is not None and not background:
        exit_for(result.job.status)


@probes.command("list")
@click.argument("project_ref", metavar="PROJECT")
@json_option
def probes_list(project_ref: str, as_json: bool) -> None:
    """List PROJECT's probe sets."""
    sets = service().list_probe_sets(project_ref)
    if as_json:
        return render.as_json(sets)
    render.table(["id", "name", "probes", "kinds", "leaked", "created"],
                 [(s.id, s.name, s.probes, ",".join(s.kinds), (s.counts or {}).get("dropped_leakage", 0),
                   s.created_at.strftime("%Y-%m-%d %H:%M")) for s in sets])


@probes.command("show")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("probe_set", metavar="SET")
@click.option("--kind", help="Only probes of this kind (held-out, reworded, key-fact, user, general).")
@click.option("--qtype", help="Only probes of this question type.")
@click.option("--page", type=int, default=1, show_default=True)
@click.option("--page-size", type=int, default=DEFAULT_PAGE_SIZE, show_default=True)
@json_option
def probes_show(project_ref: str, probe_set: str, kind: str | None, qtype: str | None, page: int, page_size: int, as_json: bool) -> None:
    """Show a probe set (name or id): how it was built, what was dropped, and a page of its probes."""
    result = service().get_probe_set(project_ref, probe_set, page=page, page_size=page_size, kind=kind, qtype=qtype)
    if as_json:
        return render.as_json(result)
    _print_set(result.set)
    render.table(["#", "kind", "type", "question", "key", "options"],
                 [(p.position, p.kind, p.qtype, render.clip(p.question, 56), render.clip(p.key or "", 16),
                   render.clip(" | ".join(p.options or []), 30)) for p in result.probes.items])
    click.echo(f"{result.probes.total} probes (page {page})")


@probes.command("import")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, exists=True))
@click.option("--name", required=True, help="Name of the new set.")
@json_option
def probes_import(project_ref: str, path: str, name: str, as_json: bool) -> None:
    """Import your own probes from JSONL/CSV (question, reference, optional key, document); bad lines are listed."""
    report = service().import_probes(project_ref, path, name)
    if as_json:
        return render.as_json(report)
    for issue in report.issues:
        click.echo(f"  skipped {issue['message']}")
    click.echo(f"Imported {report.imported} probes into set '{report.set.name}' ({report.set.id}); {report.skipped} skipped.")


@probes.command("export")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("probe_set", metavar="SET")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="A .jsonl or .csv file to write.")
@json_option
def probes_export(project_ref: str, probe_set: str, out: str, as_json: bool) -> None:
    """Write a probe set to JSONL or CSV (readable again by `probes import`)."""
    report = service().export_probes(project_ref, probe_set, out)
    render.as_json(report) if as_json else click.echo(f"Wrote {report.probes} probes to {report.path}")


@probes.command("delete")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("probe_set", metavar="SET")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def probes_delete(project_ref: str, probe_set: str, yes: bool) -> None:
    """Delete a probe set and its probes."""
    if not yes:
        click.confirm(f"Delete probe set {probe_set!r} and its probes?", abort=True)
    result = service().delete_probe_set(project_ref, probe_set)
    click.echo(f"Deleted probe set {probe_set!r} ({result.detail.get('probes', 0)} probes).")
