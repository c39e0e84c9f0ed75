"""CLI: `loreforge dataset list|show|edit|confirm|unconfirm|rate|score|check|dedup|delete|import`."""

from __future__ import annotations

from typing import Any

import click

from loreforge.cli import render
from loreforge.cli.base import cli, json_option, service
from loreforge.cli.generate import model_option, provider_option
from loreforge.defaults import DATASET_SORTS, DEFAULT_PAGE_SIZE
from loreforge.filter_fields import FIELDS, SCORE_FIELDS, FilterField


def filter_options(fn: Any = None, *, scores: bool = True) -> Any:
    """The dataset filter options shared by list/confirm/delete/score/check/export, one per filter field
    (`loreforge.filter_fields`; `scores=False` leaves out --min-score/--max-score, for `dataset score` where
    --min-score is the auto-confirm threshold)."""
    if fn is None:
        return lambda f: filter_options(f, scores=scores)
    for f in reversed(FIELDS):
        if scores or f.name not in SCORE_FIELDS:
            fn = _option(f)(fn)
    return fn


def _option(f: FilterField) -> Any:
    if f.switch:
        return click.option(f.cli, f.option_dest, default=None, help=f.help)
    return click.option(f.cli, f.option_dest, type=str if f.many else f.type, help=f.help)


def make_filter(opts: dict[str, Any]) -> Any:
    """The DatasetFilter the options name (popped from `opts`); a list option takes "1,2 3"."""
    from loreforge.filters import DatasetFilter

    data = {f.name: opts.pop(f.option_dest, None) for f in FIELDS}
    for f in FIELDS:
        if f.many and data[f.name] is not None:
            try:
                data[f.name] = [f.type(x) for x in str(data[f.name]).replace(",", " ").split()]
            except ValueError:
                raise click.BadParameter(f"expected values such as 3,5,8, got {data[f.name]!r}", param_hint=f.cli) from None
    return DatasetFilter(**data)


@cli.group()
def dataset() -> None:
    """Review QA pairs: list, show, edit, confirm, rate, score, check, dedup, delete, import."""


@dataset.command("list")
@click.argument("project_ref", metavar="PROJECT")
@filter_options
@click.option("--page", type=int, default=1, show_default=True)
@click.option("--page-size", type=int, default=DEFAULT_PAGE_SIZE, show_default=True)
@click.option("--sort", type=click.Choice(DATASET_SORTS), default="id", show_default=True,
              help="Order of the list (- first: descending).")
@json_option
def dataset_list(project_ref: str, page: int, page_size: int, sort: str, as_json: bool, **opts: Any) -> None:
    """List dataset items (filters combine)."""
    result = service().list_dataset(project_ref, make_filter(opts), page=page, page_size=page_size, sort=sort)
    if as_json:
        return render.as_json(result)
    render.table(
        ["id", "ok", "score", "stars", "grounded", "tag", "question", "answer"],
        [(i.id, "✓" if i.confirmed else "", "" if i.score is None else f"{i.score:g}", i.rating if i.rating is not None else "",
          {True: "yes", False: "NO", None: ""}[i.grounding.get("ok") if i.grounding else None], render.clip(i.tag, 12),
          render.clip(i.question, 36), render.clip(i.answer, 40)) for i in result.items],
    )
    click.echo(f"{result.total} items")


@dataset.command("show")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("item_id", type=int)
@json_option
def dataset_show(project_ref: str, item_id: int, as_json: bool) -> None:
    """Show one item beside its source chunk."""
    i = service().show_dataset_item(project_ref, item_id)
    if as_json:
        return render.as_json(i)
    render.kv([
        ("id", i.id), ("confirmed", "yes" if i.confirmed else "no"), ("tag", i.tag or "-"),
        ("score", "-" if i.score is None else f"{i.score:g} — {i.score_reason}"), ("stars", i.rating if i.rating is not None else "-"),
        ("grounding", "-" if not i.grounding else ("ok" if i.grounding.get("ok") else f"missing {i.grounding.get('missing')}")),
        ("labels", ", ".join(i.labels) or "-"), ("note", i.note or "-"), ("model", i.model or "-"),
        ("source", f"chunk {i.chunk_id} of document {i.document_id}" if i.chunk_id else "-"), ("kind", i.kind),
    ])
    if i.kind == "dialogue":
        meta = i.meta or {}
        user, assistant = meta.get("user_role", "user"), meta.get("assistant_role", "assistant")
        click.echo(f"\nsystem: {i.system}" if i.system else "")
        for q, a in [*(i.history or []), [i.question, i.answer]]:
            click.echo(f"{user}: {q}\n{assistant}: {a}\n")
    else:
        click.echo(f"\nQ: {i.question}\n\nA: {i.answer}")
    if i.cot:
        click.echo(f"\nCoT: {i.cot}")
    if i.source_text:
        click.echo(f"\n--- source chunk ---\n{i.source_text}")


@dataset.command("edit")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("item_id", type=int)
@click.option("--question")
@click.option("--answer")
@click.option("--cot")
@click.option("--tag")
@click.option("--note")
@click.option("--labels", help="Free labels, comma separated ('' clears them).")
@click.option("--history", "history_json", metavar="JSON",
              help='A dialogue\'s earlier rounds as JSON: [["user", "assistant"], ...] (the last round is --question/--answer).')
@click.option("--system", help="The item's own system prompt ('' clears it).")
def dataset_edit(project_ref: str, item_id: int, labels: str | None, history_json: str | None, **fields: Any) -> None:
    """Edit an item's question, answer, chain of thought, tag, note, labels — or a dialogue's earlier rounds and
    system prompt."""
    import json

    from loreforge.errors import UserError

    label_list = [x for x in labels.split(",")] if labels is not None else None
    try:
        history = json.loads(history_json) if history_json is not None else None
    except ValueError as exc:
        raise UserError("--history is not valid JSON", expected='[["user", "assistant"], ...]', got=str(exc)) from None
    if history is not None and not isinstance(history, list):
        raise UserError("--history must be a JSON list of rounds", expected='[["user", "assistant"], ...]', got=history_json)
    i = service().edit_dataset_item(project_ref, item_id, labels=label_list, history=history, **fields)
    click.echo(f"Item {i.id} saved.")


def _batch_confirm(project_ref: str, opts: dict[str, Any], value: bool) -> None:
    result = service().confirm_dataset(project_ref, make_filter(opts), confirmed=value)
    click.echo(f"{result.changed} of {result.matched} matching items {'confirmed' if value else 'unconfirmed'}.")


@dataset.command("confirm")
@click.argument("project_ref", metavar="PROJECT")
@filter_options
def dataset_confirm(project_ref: str, **opts: Any) -> None:
    """Confirm matching items (e.g. --ids 3,4 or --min-score 4)."""
    _batch_confirm(project_ref, opts, True)


@dataset.command("unconfirm")
@click.argument("project_ref", metavar="PROJECT")
@filter_options
def dataset_unconfirm(project_ref: str, **opts: Any) -> None:
    """Unconfirm matching items."""
    _batch_confirm(project_ref, opts, False)


@dataset.command("rate")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("item_id", type=int)
@click.argument("stars", type=int)
def dataset_rate(project_ref: str, item_id: int, stars: int) -> None:
    """Give an item 0-5 stars."""
    service().rate_dataset_item(project_ref, item_id, stars)
    click.echo(f"Item {item_id}: {stars} stars.")


@dataset.command("score")
@click.argument("project_ref", metavar="PROJECT")
@filter_options(scores=False)
@model_option
@provider_option
@click.option("--min-score", "auto", type=float, help="Auto-confirm items scoring at least this; auto-reject (unconfirm) the rest.")
@click.option("--force", is_flag=True, help="Score again items already scored with the same prompt and model.")
@json_option
def dataset_score(project_ref: str, model: str | None, provider: str | None, auto: float | None, force: bool, as_json: bool,
                  **opts: Any) -> None:
    """AI quality score 0-5 (question quality, accuracy, relevance, consistency) with a reason; a job."""
    bar = render.ProgressLine("score")
    job = service().score_dataset(project_ref, make_filter(opts), model=model, provider=provider, min_score=auto, force=force,
                                  on_progress=bar)
    bar.close()
    render.job_outcome(job, as_json)


@dataset.command("check")
@click.argument("project_ref", metavar="PROJECT")
@filter_options
@json_option
def dataset_check(project_ref: str, as_json: bool, **opts: Any) -> None:
    """Grounding check: every figure, date and name in an answer must appear in its source chunk."""
    report = service().check_dataset(project_ref, make_filter(opts))
    if as_json:
        return render.as_json(report)
    for item in report.items:
        click.echo(f"item {item['id']}: not in the source: {', '.join(item['missing'])}  ({render.clip(item['question'], 50)})")
    click.echo(f"{report.checked} checked, {report.failed} failed the grounding check")


@dataset.command("dedup")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--threshold", type=float, help="Similarity threshold (default: questions.dedup_threshold).")
@click.option("--remove", is_flag=True, help="Delete the duplicates (the first of each group is kept).")
@json_option
def dataset_dedup(project_ref: str, threshold: float | None, remove: bool, as_json: bool) -> None:
    """Find near-identical QA pairs; mark them, or remove them with --remove."""
    report = service().dedup_dataset(project_ref, threshold=threshold, remove=remove)
    if as_json:
        return render.as_json(report)
    for group in report.groups:
        click.echo("duplicates: " + ", ".join(map(str, group)))
    click.echo(f"{report.duplicates} duplicates in {len(report.groups)} groups; {report.removed} removed")


@dataset.command("delete")
@click.argument("project_ref", metavar="PROJECT")
@filter_options
@click.option("--all", "everything", is_flag=True, help="Allow deleting every item when no filter is given.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def dataset_delete(project_ref: str, everything: bool, yes: bool, **opts: Any) -> None:
    """Delete matching items (--ids for a selection)."""
    f = make_filter(opts)
    if not yes:
        matched = service().list_dataset(project_ref, f, page_size=1).total
        click.confirm(f"Delete {matched} dataset item(s)?", abort=True)
    result = service().delete_dataset(project_ref, f, everything=everything)
    click.echo(f"Deleted {result.changed} item(s).")
