"""CLI: `loreforge chunks clean|diff|restore` — cleaning chunks of noise (an LLM, or offline by rule), the diff of a
cleaning with the figures that changed, and the original put back."""

from __future__ import annotations

from typing import Any

import click

from loreforge.cli import render
from loreforge.cli.base import json_option, service
from loreforge.cli.chunks import chunks


@chunks.command("clean")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--chunks", "chunk_ids", help="Chunk ids (comma or space separated); default: every chunk.")
@click.option("--document", "document_id", type=int, help="Only chunks of this document.")
@click.option("--search", "text", help="Only chunks containing this text.")
@click.option("--min-size", type=click.IntRange(min=0), help="Only chunks of at least this many characters.")
@click.option("--max-size", type=click.IntRange(min=0), help="Only chunks of at most this many characters.")
@click.option("--force", is_flag=True, help="Clean again even where the same text, prompt and model were done.")
@click.option("--model", "model", metavar="CONFIG", help="The model config to use instead of the active one.")
@click.option("--provider", type=click.Choice(["extractive"]), help="extractive: the rule-based cleaner, no LLM.")
@json_option
def chunks_clean(project_ref: str, chunk_ids: str | None, force: bool, model: str | None, provider: str | None, as_json: bool,
                 **chunk_filter: Any) -> None:
    """Clean chunks of headers, footers, page numbers, broken line wraps and ads (a job; originals are kept). The
    chunk filter options pick the chunks as `chunks list` does."""
    from loreforge.filters import ChunkFilter

    ids = [int(x) for x in chunk_ids.replace(",", " ").split()] if chunk_ids else None
    bar = render.ProgressLine("clean")
    job = service().clean_chunks(project_ref, chunk_ids=ids, model=model, provider=provider, force=force, on_progress=bar,
                                 chunk_filter=ChunkFilter(**chunk_filter))
    bar.close()
    render.job_outcome(job, as_json)


@chunks.command("diff")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("chunk_id", type=int)
@json_option
def chunks_diff(project_ref: str, chunk_id: int, as_json: bool) -> None:
    """Show what cleaning changed in a chunk: a diff, and the figures dropped or added (flagged)."""
    view = service().chunk_diff(project_ref, chunk_id)
    if as_json:
        return render.as_json(view)
    if not view.cleaned:
        click.echo(f"Chunk {chunk_id} was not cleaned.")
        return
    click.echo(view.diff or "(no change)")
    if view.flagged:
        click.echo(f"\nFLAGGED: figures dropped {view.dropped or '-'}; added {view.added or '-'}")
    src = view.cleaning
    click.echo(f"\ncleaned by {src.get('source')} ({src.get('model')}, prompt {src.get('prompt_name')} {src.get('prompt_hash')})")


@chunks.command("restore")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("chunk_id", type=int)
def chunks_restore(project_ref: str, chunk_id: int) -> None:
    """Put a cleaned chunk's original text back."""
    view = service().restore_chunk(project_ref, chunk_id)
    click.echo(f"Chunk {view.id} has its original text again ({view.size} characters); its questions are marked possibly stale.")
