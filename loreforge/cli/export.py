"""CLI: `loreforge export PROJECT --format ... --out DIR` (and dataset import)."""

from __future__ import annotations

from typing import Any

import click

from loreforge.cli import render
from loreforge.cli.base import CliError, cli, json_option, service
from loreforge.cli.dataset import dataset, filter_options, make_filter
from loreforge.defaults import DEFAULT_VAL_SIZE, EXPORT_TARGETS, FILE_TYPES, IMPORT_FORMATS



@cli.command("export")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--format", "fmt", type=click.Choice(EXPORT_TARGETS), default="llamafactory", show_default=True)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder to write (refused if it has files, unless --force).")
@click.option("--file-type", type=click.Choice([t for t in FILE_TYPES if t != "hf"]), default="json", show_default=True)
@click.option("--all", "include_all", is_flag=True, help="Export every item, not only confirmed ones.")
@click.option("--val-size", type=float, help=f"Share held out for validation, split by chunk or document [default: {DEFAULT_VAL_SIZE}; 0: none].")
@click.option("--split-by", type=click.Choice(["chunk", "document"]), help="Keep each chunk (or document) on one side.")
@click.option("--seed", type=int, help="Seed of the split and the balancing.")
@click.option("--cot", type=click.Choice(["think", "field", "none"]), help="Chain of thought: <think> prefix, own field, or none.")
@click.option("--system-prompt", help="System prompt written with every item.")
@click.option("--balance-per-tag", type=int, help="At most N items per tag (seeded random sample).")
@click.option("--field", "fields", multiple=True, help="custom format: our=theirs, e.g. --field question=prompt.")
@click.option("--include-history", is_flag=True, help="Write earlier turns of multi-turn items.")
@click.option("--force", is_flag=True, help="Write into a folder that already has files.")
@click.option("--push-to-hub", metavar="REPO", help="Also upload the folder to a Hugging Face dataset repo.")
@filter_options
@json_option
def export_cmd(project_ref: str, fmt: str, out: str, file_type: str, include_all: bool, fields: tuple[str, ...], force: bool,
               push_to_hub: str | None, as_json: bool, **opts: Any) -> None:
    """Export PROJECT's dataset (confirmed items by default) and print the folder's absolute path."""
    option_keys = ("val_size", "split_by", "seed", "cot", "system_prompt", "balance_per_tag")
    options = {k: opts.pop(k) for k in option_keys if opts.get(k) is not None}
    for k in option_keys:
        opts.pop(k, None)
    if opts.pop("include_history", False):
        options["include_history"] = True
    if fields:
        try:
            options["custom_fields"] = dict(f.split("=", 1) for f in fields)
        except ValueError:
            raise CliError("--field takes our=theirs, e.g. --field question=prompt") from None
    report = service().export(project_ref, out, format=fmt, file_type=file_type, include_all=include_all,
                              filter=make_filter(opts), force=force, push_to_hub=push_to_hub, **options)
    if as_json:
        return render.as_json(report)
    counts = ", ".join(f"{k} {v}" for k, v in report.counts.items())
    for path in report.files:
        click.echo(f"  {path}")
    click.echo(f"Exported {counts} to:\n{report.folder}")


@dataset.command("import")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("path", type=click.Path(dir_okay=False, exists=True))
@click.option("--format", "fmt", type=click.Choice(IMPORT_FORMATS), default="auto", show_default=True)
@click.option("--map", "mapping", multiple=True, help="custom: our=theirs, e.g. --map question=prompt --map answer=completion.")
@click.option("--keep-good", is_flag=True, help="Import the good records even when some are broken (the rest are listed).")
@json_option
def dataset_import(project_ref: str, path: str, fmt: str, mapping: tuple[str, ...], keep_good: bool, as_json: bool) -> None:
    """Import a JSON / JSONL / CSV dataset (Alpaca, ShareGPT, messages, custom) as unconfirmed items."""
    try:
        field_map = dict(m.split("=", 1) for m in mapping) or None
    except ValueError:
        raise CliError("--map takes our=theirs, e.g. --map question=prompt") from None
    report = service().import_dataset(project_ref, path, format=fmt, mapping=field_map, keep_good_lines=keep_good)
    if as_json:
        return render.as_json(report)
    for issue in report.issues:
        where = f"line {issue.get('line')}" if issue.get("line") else f"record {issue.get('record')}"
        click.echo(f"  skipped {where}: {issue.get('message')}")
    click.echo(f"Imported {report.imported} items ({report.format}); {report.skipped} skipped.")
