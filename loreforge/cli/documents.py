"""CLI: `loreforge ingest`, `loreforge documents ...`, `loreforge split`, `loreforge toc`."""

from __future__ import annotations

import sys
from typing import Any

import click

from loreforge.cli import render
from loreforge.cli.base import cli, json_option, service


@cli.command()
@click.argument("project_ref", metavar="PROJECT")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--no-split", is_flag=True, help="Only convert and store; split later with `loreforge split`.")
@json_option
def ingest(project_ref: str, files: tuple[str, ...], no_split: bool, as_json: bool) -> None:
    """Add FILES (.txt .md .html .docx .pdf .epub) to PROJECT: convert to Markdown, store, split.

    Exits with status 1 when any file failed; the others are still added."""
    report = service().ingest(project_ref, list(files), split=not no_split)
    if as_json:
        render.as_json(report)
    else:
        for item in report.items:
            if item.status == "failed":
                click.echo(f"FAILED     {item.error}", err=True)
                continue
            label = "added" if item.status == "added" else "duplicate"
            click.echo(f"{label:<10} {item.filename} → document {item.document_id}, {item.chunks} chunks")
            for warning in item.warnings:
                click.echo(f"           warning: {warning}")
        click.echo(f"{report.added} added, {report.duplicates} duplicates, {report.failed} failed")
    if report.failed:
        sys.exit(1)


@cli.group()
def documents() -> None:
    """List, show and delete a project's documents."""


@documents.command("list")
@click.argument("project_ref", metavar="PROJECT")
@json_option
def documents_list(project_ref: str, as_json: bool) -> None:
    """List PROJECT's documents."""
    docs = service().list_documents(project_ref)
    if as_json:
        return render.as_json(docs)
    render.table(
        ["id", "file", "format", "chars", "pages", "chunks", "title"],
        [(d.id, render.clip(d.filename, 40), d.format, d.char_count, d.pages or "", d.chunks, render.clip(d.title or "", 40)) for d in docs],
    )


@documents.command("show")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("document_id", type=int)
@click.option("--text", "show_text", is_flag=True, help="Print the document's Markdown.")
@json_option
def documents_show(project_ref: str, document_id: int, show_text: bool, as_json: bool) -> None:
    """Show one document (and with --text its Markdown)."""
    svc = service()
    if show_text:
        click.echo(svc.document_text(project_ref, document_id))
        return
    d = svc.get_document(project_ref, document_id)
    if as_json:
        return render.as_json(d)
    render.kv(
        [
            ("id", d.id),
            ("file", d.filename),
            ("format", d.format),
            ("title", d.title or "-"),
            ("size", f"{d.size_bytes} bytes, {d.char_count} characters" + (f", {d.pages} pages" if d.pages else "")),
            ("encoding", d.encoding or "-"),
            ("chunks", d.chunks),
            ("original", d.original_path),
            ("markdown", d.markdown_path),
            ("split with", d.split_settings.get("strategy", "-")),
            ("warnings", "; ".join(d.warnings) or "-"),
        ]
    )


@documents.command("delete")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("document_id", type=int)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def documents_delete(project_ref: str, document_id: int, yes: bool) -> None:
    """Delete a document and its chunks (its questions are kept, unlinked)."""
    svc = service()
    if not yes:
        d = svc.get_document(project_ref, document_id)
        click.confirm(f"Delete document {d.id} ({d.filename}) and its {d.chunks} chunks?", abort=True)
    result = svc.delete_document(project_ref, document_id)
    click.echo(f"Deleted document {document_id} ({result.detail.get('chunks', 0)} chunks).")


@cli.command()
@click.argument("project_ref", metavar="PROJECT")
@click.option("--document", "document_id", type=int, help="Only this document (default: all).")
@click.option("--strategy", type=click.Choice(["markdown", "recursive", "fixed", "token", "custom"]))
@click.option("--min", "min_length", type=int, help="split.min_length for this run.")
@click.option("--max", "max_length", type=int, help="split.max_length for this run.")
@click.option("--chunk-size", type=int, help="split.chunk_size for this run.")
@click.option("--overlap", type=int, help="split.overlap for this run.")
@click.option("--separator", "custom_separator", help="split.custom_separator for this run.")
@click.option("--tokenizer", help="split.tokenizer (local path) for this run.")
@click.option("--force", is_flag=True, help="Re-split even where chunks with questions change (those are kept, unlinked).")
@click.option("--changed-only", is_flag=True, help="Only documents not split yet or split with other settings.")
@json_option
def split(project_ref: str, document_id: int | None, strategy: str | None, force: bool, changed_only: bool, as_json: bool,
          **opts: Any) -> None:
    """(Re-)split PROJECT's documents with its settings, or with one-off overrides. Chunks whose text does not
    change keep their questions and answers."""
    overrides = {f"split.{k}": v for k, v in opts.items() if v is not None}
    report = service().split(project_ref, document_id=document_id, strategy=strategy, overrides=overrides, force=force,
                             changed_only=changed_only)
    if as_json:
        return render.as_json(report)
    for item in report.documents:
        click.echo(f"document {item.document_id} ({item.filename}): {item.chunks} chunks")
        for warning in item.warnings:
            click.echo(f"  warning: {warning}")
        if item.kept_chunks:
            click.echo(f"  {item.kept_chunks} chunks unchanged (their questions and answers kept)")
        if item.unlinked_questions:
            click.echo(f"  {item.unlinked_questions} questions unlinked and marked stale")
    if report.unchanged:
        click.echo(f"{report.unchanged} documents already split with these settings: left as they are")
    s = report.stats
    click.echo(f"{s.count} chunks ({report.strategy}); size min {s.min} / median {s.median:g} / mean {s.mean:g} / max {s.max}")


@cli.command()
@click.argument("project_ref", metavar="PROJECT")
@click.option("--document", "document_id", type=int, help="Only this document.")
@json_option
def toc(project_ref: str, document_id: int | None, as_json: bool) -> None:
    """Print the table of contents (headings tree) of PROJECT's documents."""
    result = service().toc(project_ref, document_id=document_id)
    if as_json:
        return render.as_json(result)
    for doc in result.documents:
        click.echo(f"[{doc.document_id}] {doc.filename}" + (f" — {doc.title}" if doc.title and doc.title != doc.filename else ""))
        if not doc.toc:
            click.echo("    (no headings)")
        _print_nodes(doc.toc, 1)


def _print_nodes(nodes: list[Any], depth: int) -> None:
    for node in nodes:
        click.echo("    " * depth + node.title)
        _print_nodes(node.children, depth + 1)
