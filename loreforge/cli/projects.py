"""CLI: `loreforge project ...` and `loreforge settings ...`."""

from __future__ import annotations

import click

from loreforge.cli import render
from loreforge.cli.base import cli, json_option, service


@cli.group()
def project() -> None:
    """Create, list, show, rename and delete projects."""


@project.command("create")
@click.argument("name")
@click.option("--description", "-d", default="", help="A line describing the project.")
@click.option("--copy-from", metavar="PROJECT", help="Copy settings and model configs from this project.")
@json_option
def project_create(name: str, description: str, copy_from: str | None, as_json: bool) -> None:
    """Create a project called NAME."""
    view = service().create_project(name, description=description, copy_from=copy_from)
    if as_json:
        return render.as_json(view)
    click.echo(f"Created project '{view.name}' (id {view.id}) at {view.path}")


@project.command("list")
@json_option
def project_list(as_json: bool) -> None:
    """List projects with their counts of documents, chunks, questions and dataset items."""
    views = service().list_projects()
    if as_json:
        return render.as_json(views)
    if not views:
        click.echo("No projects yet. Create one with `loreforge project create NAME`.")
        return
    render.table(
        ["id", "name", "documents", "chunks", "questions", "dataset", "created"],
        [
            (v.id, v.name, v.counts.documents, v.counts.chunks, v.counts.questions, v.counts.dataset_items, f"{v.created_at:%Y-%m-%d %H:%M}")
            for v in views
        ],
    )


@project.command("show")
@click.argument("project_ref", metavar="PROJECT")
@json_option
def project_show(project_ref: str, as_json: bool) -> None:
    """Show one project."""
    v = service().get_project(project_ref)
    if as_json:
        return render.as_json(v)
    render.kv(
        [
            ("id", v.id),
            ("name", v.name),
            ("description", v.description or "-"),
            ("documents", v.counts.documents),
            ("chunks", v.counts.chunks),
            ("questions", v.counts.questions),
            ("dataset items", v.counts.dataset_items),
            ("files", v.path),
            ("created", f"{v.created_at:%Y-%m-%d %H:%M:%S}"),
        ]
    )


@project.command("modes")
@click.argument("project_ref", metavar="PROJECT")
@json_option
def project_modes(project_ref: str, as_json: bool) -> None:
    """What each way of making data has made in PROJECT (pairs, dialogues, distillation, cleaning, templates,
    images, PDF conversions, chains of thought)."""
    v = service().mode_summary(project_ref)
    if as_json:
        return render.as_json(v)
    render.kv(
        [
            ("genre–audience pairs", f"{v.ga_pairs} ({v.active_ga_pairs} active), {v.ga_items} QA pairs made in their styles"),
            ("dialogues", v.dialogues),
            ("distillation", f"{v.distill_topics} topic(s), {v.distilled_items} distilled item(s)"),
            ("cleaned chunks", f"{v.cleaned_chunks} ({v.flagged_chunks} flagged: figures changed)"),
            ("question templates", v.templates),
            ("images", f"{v.images}, {v.image_items} image QA pair(s)"),
            ("PDF conversions", v.pdf_jobs),
            ("chain of thought", f"{v.cot_items} item(s) with one (answers.cot = {v.cot_setting})"),
        ]
    )


@project.command("rename")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("new_name")
def project_rename(project_ref: str, new_name: str) -> None:
    """Rename PROJECT to NEW_NAME."""
    v = service().rename_project(project_ref, new_name)
    click.echo(f"Renamed to '{v.name}'.")


@project.command("delete")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def project_delete(project_ref: str, yes: bool) -> None:
    """Delete PROJECT with all its documents, chunks, questions and files."""
    svc = service()
    if not yes:
        v = svc.get_project(project_ref)
        click.confirm(
            f"Delete project '{v.name}' with {v.counts.documents} documents, {v.counts.chunks} chunks, "
            f"{v.counts.questions} questions and {v.counts.dataset_items} dataset items?",
            abort=True,
        )
    svc.delete_project(project_ref)
    click.echo(f"Deleted project '{project_ref}'.")


@cli.group()
def settings() -> None:
    """Show and change a project's task settings (dotted keys such as split.max_length)."""


@settings.command("show")
@click.argument("project_ref", metavar="PROJECT")
@json_option
def settings_show(project_ref: str, as_json: bool) -> None:
    """Show every setting with its effective value and where it comes from (default / project)."""
    rows = service().show_settings(project_ref)
    if as_json:
        return render.as_json(rows)
    render.table(
        ["key", "value", "source", "allowed", "description"],
        [(r.key, render.clip(_fmt(r.value), 40), r.source, r.allowed, render.clip(r.description, 60)) for r in rows],
    )


@settings.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("project_ref", metavar="PROJECT")
@click.argument("key")
@click.argument("value")
def settings_set(project_ref: str, key: str, value: str) -> None:
    """Set KEY to VALUE for PROJECT (lists as JSON, e.g. '["\\n\\n", "。"]')."""
    row = service().set_setting(project_ref, key, value)
    click.echo(f"{row.key} = {_fmt(row.value)}  (default {_fmt(row.default)})")


@settings.command("reset")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("key")
def settings_reset(project_ref: str, key: str) -> None:
    """Drop PROJECT's value for KEY so the default applies."""
    row = service().reset_setting(project_ref, key)
    click.echo(f"{row.key} = {_fmt(row.value)}  (default)")


def _fmt(value: object) -> str:
    import json

    return json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) or value is None else str(value)
