"""CLI: `loreforge distill ...` — distillation without documents: a topic's tag tree, questions per leaf, answers from
the model's own knowledge (and dialogues), with an estimate of calls and tokens before a run starts."""

from __future__ import annotations

import click

from loreforge.cli import render
from loreforge.cli.base import cli, exit_for, json_option, service

model_option = click.option("--model", "model", metavar="CONFIG", help="The model config to use instead of the active one.")


def _tree(nodes: list, depth: int = 0) -> None:  # type: ignore[type-arg]
    for n in nodes:
        counts = f"  ({n.questions} questions, {n.items} answered)" if n.questions else ""
        click.echo("  " * depth + f"- [{n.id}] {n.label}{counts}")
        _tree(n.children, depth + 1)


def _estimate(e: object) -> None:
    click.echo(f"Estimate: {e.tags} tags, {e.leaves} leaves, {e.questions} questions; "  # type: ignore[attr-defined]
               f"about {e.calls} calls and {e.tokens:,} tokens")  # type: ignore[attr-defined]
    render.table(["step", "calls", "tokens in", "tokens out"],
                 [(k, v["calls"], v["tokens_in"], v["tokens_out"]) for k, v in e.steps.items()])  # type: ignore[attr-defined]


def _jobs(run: object, as_json: bool) -> None:
    if as_json:
        return render.as_json(run)
    if run.started_in_background:  # type: ignore[attr-defined]
        click.echo("Started in the background; follow it with `loreforge jobs list`.")
        return
    for job in run.jobs:  # type: ignore[attr-defined]
        click.echo(f"{job.kind}: {job.summary}")
    _tree(run.tree)  # type: ignore[attr-defined]
    worst = next((j.status for j in run.jobs if j.status != "completed"), "completed")  # type: ignore[attr-defined]
    exit_for(worst)


@cli.group()
def distill() -> None:
    """Distillation without documents: a topic → a tag tree → questions per leaf → answers from the model's own
    knowledge (marked distilled, never counted as grounded) and/or multi-turn dialogues."""


@distill.command("estimate")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--levels", type=int, help="Levels of sub-tags (default: distill.levels).")
@click.option("--tags-per-level", type=int, help="Sub-tags under each tag (default: distill.tags_per_level).")
@click.option("--questions-per-leaf", type=int, help="Questions per leaf tag (default: distill.questions_per_leaf).")
@click.option("--mode", type=click.Choice(["single", "multi", "both"]), help="Single-turn answers, dialogues, or both.")
@json_option
def distill_estimate(project_ref: str, levels: int | None, tags_per_level: int | None, questions_per_leaf: int | None,
                     mode: str | None, as_json: bool) -> None:
    """The calls and tokens a distillation run takes, per step."""
    e = service().distill_estimate(project_ref, levels=levels, tags_per_level=tags_per_level, questions_per_leaf=questions_per_leaf, mode=mode)
    render.as_json(e) if as_json else _estimate(e)


@distill.command("run")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("topic")
@click.option("--levels", type=int, help="Levels of sub-tags (default: distill.levels).")
@click.option("--tags-per-level", type=int, help="Sub-tags under each tag (default: distill.tags_per_level).")
@click.option("--questions-per-leaf", type=int, help="Questions per leaf tag (default: distill.questions_per_leaf).")
@click.option("--mode", type=click.Choice(["single", "multi", "both"]), help="Single-turn answers, dialogues, or both.")
@click.option("--yes", is_flag=True, help="Start without showing the estimate and asking.")
@model_option
@json_option
def distill_run(project_ref: str, topic: str, levels: int | None, tags_per_level: int | None, questions_per_leaf: int | None,
                mode: str | None, yes: bool, model: str | None, as_json: bool) -> None:
    """Everything from TOPIC: tag tree, questions, answers and/or dialogues (each a job; again: continues)."""
    if not yes:
        _estimate(service().distill_estimate(project_ref, levels=levels, tags_per_level=tags_per_level,
                                             questions_per_leaf=questions_per_leaf, mode=mode))
        click.confirm("Start?", abort=True)
    bar = render.ProgressLine("distill")
    run = service().distill_run(project_ref, topic, levels=levels, tags_per_level=tags_per_level, questions_per_leaf=questions_per_leaf,
                                mode=mode, model=model, on_progress=bar)
    bar.close()
    _jobs(run, as_json)


@distill.command("tags")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("topic")
@click.option("--levels", type=int, help="Levels of sub-tags (default: distill.levels).")
@click.option("--tags-per-level", type=int, help="Sub-tags under each tag (default: distill.tags_per_level).")
@model_option
@json_option
def distill_tags(project_ref: str, topic: str, levels: int | None, tags_per_level: int | None, model: str | None, as_json: bool) -> None:
    """Build (or complete) TOPIC's tag tree."""
    bar = render.ProgressLine("distill tags")
    run = service().distill_tags(project_ref, topic, levels=levels, tags_per_level=tags_per_level, model=model, on_progress=bar)
    bar.close()
    _jobs(run, as_json)


@distill.command("questions")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--topic", help="Only this topic's leaves (label or id); default: every tree.")
@click.option("--questions-per-leaf", type=int, help="Questions per leaf (default: distill.questions_per_leaf).")
@click.option("--force", is_flag=True, help="Ask leaves that have questions again (N more, none like the existing).")
@model_option
@json_option
def distill_questions(project_ref: str, topic: str | None, questions_per_leaf: int | None, force: bool, model: str | None, as_json: bool) -> None:
    """Ask questions of every leaf tag (a job)."""
    bar = render.ProgressLine("distill questions")
    job = service().distill_questions(project_ref, topic=topic, questions_per_leaf=questions_per_leaf, model=model, force=force, on_progress=bar)
    bar.close()
    render.job_outcome(job, as_json)


@distill.command("answers")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--topic", help="Only this topic's questions (label or id); default: every tree.")
@click.option("--force", is_flag=True, help="Answer again questions that have an answer.")
@model_option
@json_option
def distill_answers(project_ref: str, topic: str | None, force: bool, model: str | None, as_json: bool) -> None:
    """Answer distilled questions from the model's own knowledge (a job). For dialogues: `loreforge dialogues generate`."""
    bar = render.ProgressLine("distill answers")
    job = service().distill_answers(project_ref, topic=topic, model=model, force=force, on_progress=bar)
    bar.close()
    render.job_outcome(job, as_json)


@distill.command("tree")
@click.argument("project_ref", metavar="PROJECT")
@json_option
def distill_tree(project_ref: str, as_json: bool) -> None:
    """Show the distillation trees with question counts."""
    trees = service().list_distill_tags(project_ref)
    render.as_json(trees) if as_json else (_tree(trees) if trees else click.echo("No distillation topic yet."))


@distill.command("tag-add")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("label")
@click.option("--parent", help="Parent tag id or topic label; without it LABEL is a new topic.")
def distill_tag_add(project_ref: str, label: str, parent: str | None) -> None:
    """Add a tag to a tree (or a topic)."""
    click.echo(f"Added tag {service().add_distill_tag(project_ref, label, parent).id}.")


@distill.command("tag-rename")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("tag")
@click.argument("label")
def distill_tag_rename(project_ref: str, tag: str, label: str) -> None:
    """Rename a tag (id, or a topic's label)."""
    click.echo(f"Renamed to '{service().rename_distill_tag(project_ref, tag, label).label}'.")


@distill.command("tag-delete")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("tag")
def distill_tag_delete(project_ref: str, tag: str) -> None:
    """Delete a tag and everything under it (its questions and items stay)."""
    click.echo(f"Deleted {service().delete_distill_tag(project_ref, tag).deleted} tag(s).")
