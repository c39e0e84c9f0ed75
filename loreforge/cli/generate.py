"""CLI: `loreforge tags ...`, `loreforge questions ...`, `loreforge answers ...`."""

from __future__ import annotations

from typing import Any

import click

from loreforge.cli import render
from loreforge.cli.base import cli, json_option, service
from loreforge.defaults import DEFAULT_PAGE_SIZE

model_option = click.option(
    "--model", "model", metavar="CONFIG",
    help="The model config (its name in `loreforge models list`) to use instead of the active one.")
provider_option = click.option(
    "--provider", type=click.Choice(["extractive"]), help="extractive: no LLM at all (offline, lower quality)."
)


def _ids(text: str | None) -> list[int] | None:
    return [int(x) for x in text.replace(",", " ").split()] if text else None


@cli.group()
def tags() -> None:
    """The project's two-level domain tag tree: build, show, add, rename, delete."""


def _print_tags(nodes: list, depth: int = 0) -> None:  # type: ignore[type-arg]
    for node in nodes:
        click.echo("  " * depth + f"- {node.label}" + (f"  ({node.questions} questions)" if node.questions else ""))
        _print_tags(node.children, depth + 1)


@tags.command("build")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--mode", type=click.Choice(["rebuild", "revise", "keep"]), help="Default: the tags.mode setting.")
@model_option
@provider_option
@json_option
def tags_build(project_ref: str, mode: str | None, model: str | None, provider: str | None, as_json: bool) -> None:
    """Build the tag tree from the documents' tables of contents."""
    tree = service().build_tags(project_ref, mode=mode, model=model, provider=provider)
    render.as_json(tree) if as_json else _print_tags(tree)


@tags.command("show")
@click.argument("project_ref", metavar="PROJECT")
@json_option
def tags_show(project_ref: str, as_json: bool) -> None:
    """Show the tag tree with question counts."""
    tree = service().show_tags(project_ref)
    if as_json:
        return render.as_json(tree)
    _print_tags(tree) if tree else click.echo(f"No tags yet. Build them with `loreforge tags build {project_ref}`.")


@tags.command("add")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("label")
@click.option("--parent", help="Parent tag (label or id); without it the tag is top-level.")
def tags_add(project_ref: str, label: str, parent: str | None) -> None:
    """Add a tag. A label names one tag in a project: one another tag has is refused, whatever its parent."""
    click.echo(f"Added tag {service().add_tag(project_ref, label, parent).id}.")


@tags.command("rename")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("tag")
@click.argument("new_label")
def tags_rename(project_ref: str, tag: str, new_label: str) -> None:
    """Rename a tag (label or id); the new label must be one no other tag of the project has."""
    click.echo(f"Renamed to '{service().rename_tag(project_ref, tag, new_label).label}'.")


@tags.command("delete")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("tag")
def tags_delete(project_ref: str, tag: str) -> None:
    """Delete a tag and its children (questions keep their text)."""
    click.echo(f"Deleted {service().delete_tag(project_ref, tag).deleted} tag(s).")


@cli.group()
def questions() -> None:
    """Questions: generate (a job), list, add, edit, delete."""


@questions.command("generate")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--chunks", help="Chunk ids (comma or space separated); default: all chunks.")
@click.option("--document", "document_id", type=int, help="Only chunks of this document.")
@click.option("--search", "text", help="Only chunks containing this text.")
@click.option("--min-size", type=click.IntRange(min=0), help="Only chunks of at least this many characters.")
@click.option("--max-size", type=click.IntRange(min=0), help="Only chunks of at most this many characters.")
@click.option("--has-questions/--no-questions", default=None, help="Only chunks with (or without) questions.")
@click.option("--force", is_flag=True, help="Ask again even where the same chunk, prompt and model were done.")
@click.option("--ga/--no-ga", default=None, help="Multiply by the documents' active genre–audience pairs (default: ga.use_in_questions).")
@model_option
@provider_option
@json_option
def questions_generate(project_ref: str, chunks: str | None, force: bool, ga: bool | None, model: str | None, provider: str | None,
                       as_json: bool, **chunk_filter: Any) -> None:
    """Generate questions for chunks (N per chunk from questions.chars_per_question; N per active genre–audience
    pair); the chunk filter options pick the chunks as `chunks list` does."""
    from loreforge.filters import ChunkFilter

    bar = render.ProgressLine("questions")
    job = service().generate_questions(project_ref, chunk_ids=_ids(chunks), model=model, provider=provider, force=force, on_progress=bar,
                                       chunk_filter=ChunkFilter(**chunk_filter), ga=ga)
    bar.close()
    render.job_outcome(job, as_json)


@questions.command("list")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--chunk", "chunk_id", type=int, help="Only questions of this chunk.")
@click.option("--tag", help="Only questions with this tag.")
@click.option("--search", "text", help="Only questions containing this text.")
@click.option("--unanswered", is_flag=True, help="Only questions without an answer.")
@click.option("--page", type=int, default=1, show_default=True)
@click.option("--page-size", type=int, default=DEFAULT_PAGE_SIZE, show_default=True)
@json_option
def questions_list(project_ref: str, chunk_id: int | None, tag: str | None, text: str | None, unanswered: bool,
                   page: int, page_size: int, as_json: bool) -> None:
    """List questions."""
    result = service().list_questions(project_ref, chunk_id=chunk_id, tag=tag, text=text,
                                      answered=False if unanswered else None, page=page, page_size=page_size)
    if as_json:
        return render.as_json(result)
    render.table(["id", "chunk", "tag", "answered", "stale", "question"],
                 [(q.id, q.chunk_id or "-", render.clip(q.tag, 16), "yes" if q.answered else "", "stale" if q.stale else "",
                   render.clip(q.text, 60)) for q in result.items])
    click.echo(f"{result.total} questions")


@questions.command("add")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("chunk_id", type=int)
@click.argument("text")
@click.option("--tag", help="Tag label.")
def questions_add(project_ref: str, chunk_id: int, text: str, tag: str | None) -> None:
    """Add a question by hand to a chunk."""
    click.echo(f"Added question {service().add_question(project_ref, chunk_id, text, tag).id}.")


@questions.command("edit")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("question_id", type=int)
@click.option("--text", help="New text.")
@click.option("--tag", help="New tag label ('' removes the tag).")
def questions_edit(project_ref: str, question_id: int, text: str | None, tag: str | None) -> None:
    """Edit a question's text or tag."""
    q = service().edit_question(project_ref, question_id, text=text, tag=tag)
    click.echo(f"Question {q.id}: {q.text}" + (f" [{q.tag}]" if q.tag else ""))


@questions.command("delete")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("question_ids", nargs=-1, type=int, required=True)
def questions_delete(project_ref: str, question_ids: tuple[int, ...]) -> None:
    """Delete questions."""
    click.echo(f"Deleted {service().delete_questions(project_ref, list(question_ids)).deleted} question(s).")


@cli.group()
def answers() -> None:
    """Answers: generate (a job), optimize one. Review them with `loreforge dataset`."""


@answers.command("generate")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--questions", "question_ids", help="Question ids; default: every unanswered question.")
@click.option("--chunk", "chunk_id", type=int, help="Only questions of this chunk.")
@click.option("--tag", help="Only questions with this tag ('' for untagged ones).")
@click.option("--search", "text", help="Only questions containing this text.")
@click.option("--mode", type=click.Choice(["batched", "per-question"]), help="Default: the answers.mode setting.")
@click.option("--force", is_flag=True, help="Answer again even questions that have an answer.")
@model_option
@provider_option
@json_option
def answers_generate(project_ref: str, question_ids: str | None, mode: str | None, force: bool, model: str | None,
                     provider: str | None, as_json: bool, **question_filter: Any) -> None:
    """Answer questions with their chunks; each answer becomes a dataset item. The question filter options pick
    the questions as `questions list` does."""
    from loreforge.filters import QuestionFilter

    bar = render.ProgressLine("answers")
    job = service().generate_answers(project_ref, question_ids=_ids(question_ids), mode=mode, model=model,
                                     provider=provider, force=force, on_progress=bar,
                                     question_filter=QuestionFilter(**question_filter))
    bar.close()
    render.job_outcome(job, as_json)


@answers.command("optimize")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("item_id", type=int)
@click.option("--advice", required=True, help="How the answer should change.")
@model_option
@json_option
def answers_optimize(project_ref: str, item_id: int, advice: str, model: str | None, as_json: bool) -> None:
    """Rewrite one answer following your advice."""
    view = service().optimize_answer(project_ref, item_id, advice, model=model)
    render.as_json(view) if as_json else click.echo(view.answer)
