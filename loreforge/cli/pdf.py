"""CLI: `loreforge pdf convert|mineru-key` — PDFs to documents through a vision model (page by page) or MinerU (its
API, or a local server), beside the text-layer extraction of `ingest`."""

from __future__ import annotations

import sys

import click

from loreforge.cli import render
from loreforge.cli.base import cli, exit_for, json_option, service


@cli.group()
def pdf() -> None:
    """Convert PDFs — scanned ones too — with a vision model or MinerU, then split them like ingested documents."""


@pdf.command("convert")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--strategy", type=click.Choice(["vision", "mineru-api", "mineru-local"]), help="Default: the pdf.strategy setting.")
@click.option("--model", "model", metavar="CONFIG", help="vision: the vision model config (default: the active vision config).")
@click.option("--force", is_flag=True, help="Convert pages again even where the same page, prompt and model were done.")
@json_option
def pdf_convert(project_ref: str, files: tuple[str, ...], strategy: str | None, model: str | None, force: bool, as_json: bool) -> None:
    """Convert PDF files to documents (the pages are a job; each finished file is stored and split)."""
    bar = render.ProgressLine("pdf pages")
    view = service().convert_pdf(project_ref, list(files), strategy=strategy, model=model, force=force, on_progress=bar)
    bar.close()
    if as_json:
        return render.as_json(view)
    for job in view.jobs:
        click.echo(f"{job.kind}: {job.summary}")
    for item in view.documents:
        line = f"{item.status:9} {item.filename}" + (f"  document {item.document_id}, {item.chunks} chunks" if item.document_id else "")
        click.echo(line if item.status != "failed" else f"{line}  {item.error}", err=item.status == "failed")
    worst = next((j.status for j in view.jobs if j.status != "completed"), "completed")
    exit_for("failed" if worst == "completed" and any(i.status == "failed" for i in view.documents) else worst)


@pdf.command("mineru-key")
@click.argument("project_ref", metavar="PROJECT")
def pdf_mineru_key(project_ref: str) -> None:
    """Store the project's MinerU API token (read from a hidden prompt or standard input; kept encrypted)."""
    key = sys.stdin.readline().strip() if not sys.stdin.isatty() else click.prompt("MinerU API token", hide_input=True)
    stored = service().set_mineru_key(project_ref, key)
    click.echo(f"{stored.name}: {stored.stored}")
