"""CLI: `loreforge serve` (REST API + OpenAPI docs) and `loreforge demo` (the main job on defaults)."""

from __future__ import annotations

import click

from loreforge.cli import render
from loreforge.cli.base import cli, json_option, service
from loreforge.defaults import DEFAULT_HOST, DEFAULT_PORT


@cli.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="Port to listen on.")
def serve(host: str, port: int) -> None:
    """Serve the REST API (under /api, OpenAPI docs at /docs)."""
    import uvicorn

    from loreforge.web import create_app

    click.echo(f"LoreForge API on http://{host}:{port}/api  (docs: http://{host}:{port}/docs)")
    uvicorn.run(create_app(service()), host=host, port=port, log_level="info")


@cli.command()
@click.option("--project", "project_name", default="demo", show_default=True, help="Project name to (re)create.")
@json_option
def demo(project_name: str, as_json: bool) -> None:
    """Run the main job on the bundled example documents, offline: ingest, split, tags, questions, answers,
    grounding check, and a LLaMA Factory bundle."""
    report = service().demo(project_name)
    if as_json:
        return render.as_json(report)
    p = report.project
    click.echo(f"Project '{p.name}' (id {p.id}) at {p.path}")
    for item in report.ingest.items:
        click.echo(f"  {item.status:<9} {item.filename}" + (f" — {item.error}" if item.error else ""))
    click.echo("\nTable of contents")
    for doc in report.toc.documents:
        click.echo(f"  [{doc.document_id}] {doc.filename}")
        _tree(doc.toc, 2)
    s = report.split.stats
    click.echo(
        f"\nChunks ({report.split.strategy}): {s.count} chunks, {s.total_chars} characters; "
        f"size min {s.min} / median {s.median:g} / mean {s.mean:g} / max {s.max}"
    )
    if report.questions and report.answers:
        click.echo(f"Tags: {report.tags}; questions: job {report.questions.id} {report.questions.summary}; "
                   f"answers: job {report.answers.id} {report.answers.summary} (extractive provider: no LLM, lower quality)")
    if report.grounding:
        click.echo(f"Grounding check: {report.grounding.checked} checked, {report.grounding.failed} failed")
    if report.export:
        counts = ", ".join(f"{k} {v}" for k, v in report.export.counts.items())
        click.echo(f"LLaMA Factory bundle ({counts}):\n{report.export.folder}")
    click.echo(f"Next: `loreforge dataset list {p.name}`, or add an LLM with `loreforge models add {p.name} --provider ...`")
    click.echo(f"Train on it: `loreforge train --project {p.name} --model PATH` (a real base such as Qwen2.5-3B-Instruct; "
               f"for a quick offline smoke run, a tiny model from `loreforge tiny-model tiny`)")


def _tree(nodes: list, depth: int) -> None:  # type: ignore[type-arg]
    for node in nodes:
        click.echo("  " * depth + "- " + node.title)
        _tree(node.children, depth + 1)
