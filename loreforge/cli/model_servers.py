"""CLI: `loreforge model-servers` — `serve-model` started in the background for a train run (its base and tuned
model under their names), listed with its address and whether it is up, and stopped; the web UI's Serve page does
the same. `loreforge serve-model` itself runs in the foreground. Shells over `ModelServerActions`."""

from __future__ import annotations

import click

from loreforge.cli import render
from loreforge.cli.base import cli, json_option, service
from loreforge.defaults import DEFAULT_HOST


@cli.group("model-servers")
def model_servers() -> None:
    """OpenAI-compatible servers of base and tuned models, run in the background."""


@model_servers.command("start")
@click.option("--run", "run_ref", metavar="RUN|DIR", help="The tuned model: a train run id or folder.")
@click.option("--model", "base", metavar="BASE", help="The base model (default: the run's).")
@click.option("--name", help="The tuned model's served name (default: tuned).")
@click.option("--base-name", help="The base model's served name (default: its folder name or hub id).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: the first free one from 8718).")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address; any but loopback needs the access token.")
@click.option("--project", "project_ref", help="List it under this project (default: the run's).")
@json_option
def servers_start(run_ref: str | None, base: str | None, name: str | None, base_name: str | None, port: int | None, host: str,
                  project_ref: str | None, as_json: bool) -> None:
    """Start serve-model in the background and return at once (it is ready once the weights are loaded)."""
    view = service().start_model_server(run_ref, base=base, name=name, base_name=base_name, port=port, host=host,
                                        project=project_ref)
    if as_json:
        return render.as_json(view)
    click.echo(f"model server {view.id} starting on {view.url} (models: {', '.join(view.models)}); log: {view.log_file}")


@model_servers.command("list")
@click.option("--all", "stopped", is_flag=True, help="Those stopped too.")
@json_option
def servers_list(stopped: bool, as_json: bool) -> None:
    """The background model servers: address, models, status (starting, ready, exited, stopped)."""
    views = service().list_model_servers(stopped=stopped)
    if as_json:
        return render.as_json(views)
    render.table(["id", "status", "url", "models", "run", "pid"],
                 [(v.id, v.status, v.url, ", ".join(v.models), render.show(v.run_id), render.show(v.pid)) for v in views])


@model_servers.command("stop")
@click.argument("server_id", type=int)
@json_option
def servers_stop(server_id: int, as_json: bool) -> None:
    """Stop a background model server."""
    view = service().stop_model_server(server_id)
    if as_json:
        return render.as_json(view)
    click.echo(f"model server {view.id}: {view.status}")
