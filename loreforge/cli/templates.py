"""CLI: `loreforge templates add|list|edit|delete|apply` — question templates (a fixed question put to every chunk
or image, with an answer type)."""

from __future__ import annotations

import click

from loreforge.cli import render
from loreforge.cli.base import cli, json_option, service

ANSWER_TYPES = ["text", "label", "json"]


def _labels(text: str | None) -> list[str] | None:
    return None if text is None else [x for x in text.replace("，", ",").split(",")]


def _format(text: str | None) -> str | None:
    """`--format` as given, or read from a file with `@FILE`."""
    if text is None or not text.startswith("@"):
        return text
    from pathlib import Path

    return Path(text[1:]).expanduser().read_text(encoding="utf-8")


def _show(t: object) -> None:
    render.kv([(k, getattr(t, k)) for k in ("id", "question", "source", "answer_type", "labels", "json_format", "description",
                                              "questions", "answered")])


@cli.group()
def templates() -> None:
    """Question templates: a fixed question put to every chunk (or image), answered as free text, a label from a
    list (else "other"), or JSON in your format."""


@templates.command("add")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("question")
@click.option("--type", "answer_type", type=click.Choice(ANSWER_TYPES), default="text", show_default=True, help="The answer type.")
@click.option("--labels", help="label type: the labels, comma separated.")
@click.option("--format", "json_format", help="json type: an example JSON value (or @FILE holding one); answers must have its shape.")
@click.option("--description", default="", help="Extra guidance for the model, sent with the question.")
@click.option("--source", type=click.Choice(["text", "image"]), default="text", show_default=True, help="Put it to chunks or images.")
@json_option
def templates_add(project_ref: str, question: str, answer_type: str, labels: str | None, json_format: str | None,
                  description: str, source: str, as_json: bool) -> None:
    """Add a question template."""
    t = service().add_template(project_ref, question, answer_type=answer_type, labels=_labels(labels) or [],
                               json_format=_format(json_format) or "", description=description, source=source)
    render.as_json(t) if as_json else click.echo(f"Added template {t.id}. Put it to every {'chunk' if source == 'text' else 'image'} "
                                                 f"with `loreforge templates apply {project_ref} {t.id}`.")


@templates.command("list")
@click.argument("project_ref", metavar="PROJECT")
@json_option
def templates_list(project_ref: str, as_json: bool) -> None:
    """List the project's question templates."""
    rows = service().list_templates(project_ref)
    if as_json:
        return render.as_json(rows)
    render.table(["id", "source", "type", "questions", "answered", "question"],
                 [(t.id, t.source, t.answer_type, t.questions, t.answered, render.clip(t.question, 60)) for t in rows])


@templates.command("edit")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("template_id", type=int)
@click.option("--question", help="New question text.")
@click.option("--type", "answer_type", type=click.Choice(ANSWER_TYPES), help="New answer type.")
@click.option("--labels", help="New labels, comma separated.")
@click.option("--format", "json_format", help="New JSON format (or @FILE).")
@click.option("--description", help="New guidance.")
@json_option
def templates_edit(project_ref: str, template_id: int, question: str | None, answer_type: str | None, labels: str | None,
                   json_format: str | None, description: str | None, as_json: bool) -> None:
    """Change a template (questions not answered yet follow its new answer type)."""
    t = service().edit_template(project_ref, template_id, question=question, answer_type=answer_type, labels=_labels(labels),
                                json_format=_format(json_format), description=description)
    render.as_json(t) if as_json else _show(t)


@templates.command("delete")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("template_id", type=int)
def templates_delete(project_ref: str, template_id: int) -> None:
    """Delete a template and its unanswered questions."""
    service().delete_template(project_ref, template_id)
    click.echo(f"Deleted template {template_id}.")


@templates.command("apply")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("template_id", type=int)
@click.option("--chunks", help="Only these chunk ids (comma or space separated); default: every chunk.")
@json_option
def templates_apply(project_ref: str, template_id: int, chunks: str | None, as_json: bool) -> None:
    """Put the template's question to every chunk that lacks it (answer them with `loreforge answers generate`)."""
    ids = [int(x) for x in chunks.replace(",", " ").split()] if chunks else None
    result = service().apply_template(project_ref, template_id, chunk_ids=ids)
    if as_json:
        return render.as_json(result)
    click.echo(f"{result.created} question(s) made, {result.existing} chunk(s) already had it. "
               f"Answer them with `loreforge answers generate {project_ref}`.")
