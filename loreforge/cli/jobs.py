"""CLI: `loreforge jobs list|show|cancel|retry` and `loreforge usage`."""

from __future__ import annotations

import click

from loreforge.cli import render
from loreforge.cli.base import cli, json_option, service


@cli.group()
def jobs() -> None:
    """Long work of every kind (questions, answers, score, train): list, show, cancel, retry (reruns only what is
    not done; a train run resumes from its last checkpoint)."""


@jobs.command("list")
@click.option("--project", "project_ref", help="Only this project's jobs.")
@click.option("--kind", help="Only jobs of this kind (questions, answers, score, train).")
@click.option("--active", is_flag=True, help="Only jobs still queued, running or cancelling.")
@json_option
def jobs_list(project_ref: str | None, kind: str | None, active: bool, as_json: bool) -> None:
    """List recent jobs."""
    views = service().list_jobs(project_ref, kind=kind, active=active)
    if as_json:
        return render.as_json(views)
    render.table(["id", "project", "kind", "status", "done", "failed", "skipped", "total", "created"],
                 [(j.id, j.project or "-", j.kind, j.status, j.done, j.failed, j.skipped, j.total,
                   f"{j.created_at:%Y-%m-%d %H:%M}") for j in views])


@jobs.command("show")
@click.argument("job_id", type=int)
@json_option
def jobs_show(job_id: int, as_json: bool) -> None:
    """Show a job with each failure."""
    job = service().get_job(job_id)
    render.as_json(job) if as_json else render.job_result(job)


@jobs.command("cancel")
@click.argument("job_id", type=int)
def jobs_cancel(job_id: int) -> None:
    """Ask a running job to stop (from any shell or machine); its worker stops at its next heartbeat."""
    job = service().cancel_job(job_id)
    click.echo(f"job {job.id}: {job.status}")


@jobs.command("retry")
@click.argument("job_id", type=int)
@json_option
def jobs_retry(job_id: int, as_json: bool) -> None:
    """Rerun the failed (or, after a crash, unfinished) items of a job."""
    bar = render.ProgressLine(f"job {job_id}")
    job = service().retry_job(job_id, on_progress=bar)
    bar.close()
    render.job_outcome(job, as_json)


@cli.command()
@click.argument("project_ref", metavar="PROJECT")
@json_option
def usage(project_ref: str, as_json: bool) -> None:
    """Tokens per model and per stage, calls and tokens per row each stage made, and tokens per finished QA pair."""
    view = service().usage(project_ref)
    if as_json:
        return render.as_json(view)
    for title, rows in (("by model", view.by_model), ("by stage", view.by_stage)):
        click.echo(title)
        render.table(["", "calls", "errors", "tokens in", "tokens out"], [(r.key, r.calls, r.errors, r.tokens_in, r.tokens_out) for r in rows])
        click.echo("")
    if view.per_row:
        click.echo("per row made")
        render.table(["stage", "rows", "", "calls", "calls/row", "tokens/row"],
                     [(r.stage, r.rows, r.what, r.calls, r.calls_per_row, r.tokens_per_row) for r in view.per_row])
        click.echo("")
    per = f"{view.tokens_per_pair:g}" if view.tokens_per_pair is not None else "-"
    click.echo(f"{view.qa_pairs} QA pairs; {per} tokens per pair")
