"""CLI: `loreforge chunks list|show|edit|merge|split|delete`."""

from __future__ import annotations

import sys

import click

from loreforge.cli import render
from loreforge.cli.base import cli, json_option, service
from loreforge.defaults import DEFAULT_PAGE_SIZE


@cli.group()
def chunks() -> None:
    """List, show, edit, merge, split and delete chunks."""


@chunks.command("list")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--document", "document_id", type=int, help="Only chunks of this document.")
@click.option("--search", "text", help="Only chunks containing this text.")
@click.option("--min-size", type=click.IntRange(min=0), help="Only chunks of at least this many characters.")
@click.option("--max-size", type=click.IntRange(min=0), help="Only chunks of at most this many characters.")
@click.option("--has-questions/--no-questions", default=None, help="Only chunks with (or without) questions.")
@click.option("--cleaned/--uncleaned", default=None, help="Only chunks whose text a cleaning changed (or did not).")
@click.option("--flagged/--not-flagged", default=None, help="Only chunks whose cleaning changed figures (or did not).")
@click.option("--page", type=int, default=1, show_default=True)
@click.option("--page-size", type=int, default=DEFAULT_PAGE_SIZE, show_default=True)
@json_option
def chunks_list(project_ref: str, document_id: int | None, text: str | None, min_size: int | None, max_size: int | None,
                has_questions: bool | None, cleaned: bool | None, flagged: bool | None, page: int, page_size: int, as_json: bool) -> None:
    """List chunks in document order."""
    result = service().list_chunks(project_ref, document_id=document_id, text=text, page=page, page_size=page_size,
                                   min_size=min_size, max_size=max_size, has_questions=has_questions, cleaned=cleaned, flagged=flagged)
    if as_json:
        return render.as_json(result)
    render.table(
        ["id", "doc", "#", "size", "questions", "heading", "text"],
        [
            (c.id, c.document_id, c.ordinal, c.size, c.questions or "", render.clip(c.heading_path, 30), render.clip(c.text, 50))
            for c in result.items
        ],
    )
    last = (result.total + result.page_size - 1) // result.page_size
    click.echo(f"page {result.page} of {max(last, 1)} ({result.total} chunks)")


@chunks.command("show")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("chunk_id", type=int)
@json_option
def chunks_show(project_ref: str, chunk_id: int, as_json: bool) -> None:
    """Show one chunk with its text."""
    c = service().get_chunk(project_ref, chunk_id)
    if as_json:
        return render.as_json(c)
    render.kv(
        [
            ("id", c.id),
            ("document", f"{c.document_id} ({c.document})"),
            ("position", f"#{c.ordinal}, characters {c.start}-{c.end}" + (" (edited)" if c.edited else "")),
            ("heading", c.heading_path or "-"),
            ("size", c.size),
            ("questions", f"{c.questions} ({c.stale_questions} possibly stale)"),
        ]
    )
    click.echo("")
    click.echo(c.text)


@chunks.command("edit")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("chunk_id", type=int)
@click.option("--text", help="New text ('-' reads standard input). Without --text/--file, opens $EDITOR.")
@click.option("--file", "path", type=click.File("r", encoding="utf-8"), help="Read the new text from a file.")
def chunks_edit(project_ref: str, chunk_id: int, text: str | None, path: click.utils.LazyFile | None) -> None:
    """Replace a chunk's text (its questions stay linked, marked possibly stale)."""
    svc = service()
    if path is not None:
        text = path.read()
    elif text == "-":
        text = sys.stdin.read()
    elif text is None:
        text = click.edit(svc.get_chunk(project_ref, chunk_id).text)
        if text is None:
            click.echo("No change.")
            return
    c = svc.edit_chunk(project_ref, chunk_id, text)
    click.echo(f"Chunk {c.id} saved ({c.size} characters, {c.questions} questions marked possibly stale).")


@chunks.command("merge")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("chunk_ids", nargs=-1, type=int, required=True)
def chunks_merge(project_ref: str, chunk_ids: tuple[int, ...]) -> None:
    """Merge adjacent chunks of one document into the first."""
    c = service().merge_chunks(project_ref, list(chunk_ids))
    click.echo(f"Merged into chunk {c.id} ({c.size} characters).")


@chunks.command("split")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("chunk_id", type=int)
@click.argument("position", type=int)
def chunks_split(project_ref: str, chunk_id: int, position: int) -> None:
    """Split a chunk in two at character POSITION of its text."""
    first, second = service().split_chunk(project_ref, chunk_id, position)
    click.echo(f"Split into chunk {first.id} ({first.size} characters) and chunk {second.id} ({second.size} characters).")


@chunks.command("delete")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("chunk_ids", nargs=-1, type=int, required=True)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def chunks_delete(project_ref: str, chunk_ids: tuple[int, ...], yes: bool) -> None:
    """Delete one or more chunks (their questions are kept, unlinked)."""
    if not yes:
        click.confirm(f"Delete {len(chunk_ids)} chunk(s)?", abort=True)
    result = service().delete_chunks(project_ref, list(chunk_ids))
    click.echo(f"Deleted {result.deleted} chunk(s); {result.detail.get('unlinked_questions', 0)} questions unlinked.")
