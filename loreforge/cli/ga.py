"""CLI: `loreforge ga generate|list|add|edit|delete` — genre–audience pairs, the styles question generation
multiplies by."""

from __future__ import annotations

import click

from loreforge.cli import render
from loreforge.cli.base import cli, json_option, service


def _ids(text: str | None) -> list[int] | None:
    return [int(x) for x in text.replace(",", " ").split()] if text else None


@cli.group()
def ga() -> None:
    """Genre–audience pairs: per document, the styles (genre) and readers (audience) questions and answers are
    written for. Active pairs multiply `questions generate`."""


@ga.command("generate")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--documents", help="Document ids; default: every document without pairs.")
@click.option("--force", is_flag=True, help="Propose again (pairs you added or edited are kept).")
@click.option("--model", "model", metavar="CONFIG", help="The model config to use instead of the active one.")
@json_option
def ga_generate(project_ref: str, documents: str | None, force: bool, model: str | None, as_json: bool) -> None:
    """Propose genre–audience pairs for documents (one call per document; a job)."""
    bar = render.ProgressLine("ga pairs")
    job = service().generate_ga_pairs(project_ref, document_ids=_ids(documents), model=model, force=force, on_progress=bar)
    bar.close()
    render.job_outcome(job, as_json)


@ga.command("list")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--document", "document_id", type=int, help="Only this document's pairs.")
@json_option
def ga_list(project_ref: str, document_id: int | None, as_json: bool) -> None:
    """List genre–audience pairs."""
    rows = service().list_ga_pairs(project_ref, document_id=document_id)
    if as_json:
        return render.as_json(rows)
    render.table(["id", "doc", "active", "genre", "audience", "questions", "source"],
                 [(p.id, p.document_id, p.active, render.clip(p.genre_title, 24), render.clip(p.audience_title, 24), p.questions, p.source)
                  for p in rows])


@ga.command("add")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("document_id", type=int)
@click.option("--genre", "genre_title", required=True, help="The genre's title.")
@click.option("--audience", "audience_title", required=True, help="The audience's title.")
@click.option("--genre-description", default="", help="How questions and answers of this genre read.")
@click.option("--audience-description", default="", help="Who the readers are and what they want.")
@click.option("--inactive", is_flag=True, help="Add it switched off.")
@json_option
def ga_add(project_ref: str, document_id: int, genre_title: str, audience_title: str, genre_description: str,
           audience_description: str, inactive: bool, as_json: bool) -> None:
    """Add a pair of your own to a document."""
    p = service().add_ga_pair(project_ref, document_id, genre_title, audience_title, genre_description=genre_description,
                              audience_description=audience_description, active=not inactive)
    render.as_json(p) if as_json else click.echo(f"Added pair {p.id}.")


@ga.command("edit")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("pair_id", type=int)
@click.option("--genre", "genre_title", help="New genre title.")
@click.option("--audience", "audience_title", help="New audience title.")
@click.option("--genre-description", help="New genre description.")
@click.option("--audience-description", help="New audience description.")
@click.option("--active/--inactive", default=None, help="Switch the pair on or off.")
@json_option
def ga_edit(project_ref: str, pair_id: int, genre_title: str | None, audience_title: str | None, genre_description: str | None,
            audience_description: str | None, active: bool | None, as_json: bool) -> None:
    """Edit a pair, or switch it on or off."""
    p = service().edit_ga_pair(project_ref, pair_id, genre_title=genre_title, genre_description=genre_description,
                               audience_title=audience_title, audience_description=audience_description, active=active)
    render.as_json(p) if as_json else click.echo(f"Pair {p.id}: {p.genre_title} / {p.audience_title} ({'active' if p.active else 'off'})")


@ga.command("delete")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("pair_id", type=int)
def ga_delete(project_ref: str, pair_id: int) -> None:
    """Delete a pair (its questions and items stay, without a pair)."""
    service().delete_ga_pair(project_ref, pair_id)
    click.echo(f"Deleted pair {pair_id}.")
