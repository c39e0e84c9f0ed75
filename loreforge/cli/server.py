"""CLI: `loreforge serve` (REST API + OpenAPI docs) and `loreforge demo` (the main job on defaults)."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from loreforge.cli import render
from loreforge.cli.base import cli, json_option, service
from loreforge.defaults import DEFAULT_HOST, DEFAULT_PORT
from loreforge.errors import UserError

if TYPE_CHECKING:
    from loreforge.settings.server import ServerSettings


@cli.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on; any but loopback needs the access token.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="Port to listen on.")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="Host header name the server answers to besides loopback and --host (repeatable; `*` any).")
@click.option("--allow-path", "allow_paths", multiple=True, type=click.Path(file_okay=False), metavar="DIR",
              help="Folder outside LOREFORGE_HOME that API clients may make the server write to (repeatable).")
@click.option("--allowed-key-env", "allowed_key_envs", multiple=True, metavar="PATTERN",
              help="Environment variables a model config added over the API may read (repeatable; default *_API_KEY).")
@click.option("--max-body-mb", type=float, default=None, help="Largest request body in MB (default 256).")
@click.option("--allow-remote-code", is_flag=True, default=None,
              help="Let API clients set trust_remote_code (runs Python code shipped with a model).")
def serve(host: str, port: int, allowed_hosts: tuple[str, ...], allow_paths: tuple[str, ...],
          allowed_key_envs: tuple[str, ...], max_body_mb: float | None, allow_remote_code: bool | None) -> None:
    """Serve the web UI (at /ui) and the REST API (under /api, OpenAPI docs at /docs). See docs/security.md before
    using --host."""
    from loreforge.settings.server import ServerSettings

    settings = ServerSettings.from_env(
        host=host, port=port, allowed_hosts=allowed_hosts, allow_paths=tuple(Path(p) for p in allow_paths),
        allowed_key_envs=allowed_key_envs, max_body_mb=max_body_mb, allow_remote_code=allow_remote_code,
    ).with_token()
    check_port(host, port)
    import uvicorn

    from loreforge.web import create_app

    app = create_app(service(), settings)
    _announce(settings)
    uvicorn.run(app, host=host, port=port, log_level="info")


def check_port(host: str, port: int) -> None:
    """Fail before announcing anything when the address cannot be listened on (most often: the port is taken)."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UserError(f"cannot listen on {host}", got=str(exc), hint="Pass an address of this machine with --host") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a closing socket is no clash
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserError(f"port {port} is in use — pick another with --port") from None
            raise UserError(f"cannot listen on {host}:{port}", got=exc.strerror or str(exc),
                            hint="Pick another address or port (--host, --port)") from None


def _announce(settings: ServerSettings) -> None:
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    base = f"http://{shown}:{settings.port}"
    click.echo(f"LoreForge API on {base}/api  (docs: {base}/docs; web UI: {base}/ui)")
    if settings.loopback and settings.token is None:
        return
    if not settings.loopback:
        click.echo(f"warning: {settings.host} is reachable from other machines; every request needs the access token "
                   "and traffic is not encrypted (put a TLS proxy in front, see docs/security.md).", err=True)
        names = ", ".join(sorted(settings.host_names()))
        click.echo(f"Host names answered: {names} (add others with --allowed-host NAME)")
    token = settings.token.get_secret_value() if settings.token is not None else ""
    source = "from LOREFORGE_TOKEN" if os.environ.get("LOREFORGE_TOKEN") else "generated; set LOREFORGE_TOKEN to keep one"
    click.echo(f"Access token ({source}): {token}\n  send `Authorization: Bearer TOKEN`; in a browser open "
               f"{base}/login?token={token}&next=/ui once")


@cli.command()
@click.option("--project", "project_name", default="demo", show_default=True, help="Project of the dataset half (recreated).")
@click.option("--dataset-only", is_flag=True, help="Only the dataset half (seconds): no training, no evaluation.")
@json_option
def demo(project_name: str, dataset_only: bool, as_json: bool) -> None:
    """LoreForge's first run, offline, on documents written for it. The dataset half: a Chinese half-year report
    and an English FAQ through ingest, split, tags, questions and answers (extractive, no LLM), the grounding check
    and a LLaMA Factory bundle. The learning half (`loreforge run demo`): two fictional companies' facts taught to
    the starter model (SmolLM2-135M-Instruct) on CPU, then base vs tuned on probes it never trained on — about 5
    minutes on 2 cores. Run again, the learning half continues its run (what is done is skipped); to start it
    over, delete its project first (`loreforge project delete morrow-coast`)."""
    from loreforge.cli.pipeline import StageLines, _outcome
    from loreforge.pipeline.load import shipped_recipe

    svc = service()
    report = svc.demo(project_name)
    if as_json and dataset_only:
        return render.as_json(report)
    if not as_json:
        _echo_dataset_demo(report, dataset_only)
    if dataset_only:
        return
    recipe = shipped_recipe("demo")
    assert recipe is not None
    if not as_json:
        click.echo("\nThe learning half: does a model learn the facts of two documents? (`loreforge run demo`)", err=True)
    view = svc.run_pipeline(recipe, on_event=StageLines(as_json))
    if as_json:
        render.as_json({"dataset": report.model_dump(mode="json"), "run": view.model_dump(mode="json")})
        return
    _outcome(view, False)


def _echo_dataset_demo(report: Any, dataset_only: bool) -> None:
    p = report.project
    click.echo(f"Project '{p.name}' (id {p.id}) at {p.path}")
    for item in report.ingest.items:
        click.echo(f"  {item.status:<9} {item.filename}" + (f" — {item.error}" if item.error else ""))
    click.echo("\nTable of contents")
    for doc in report.toc.documents:
        click.echo(f"  [{doc.document_id}] {doc.filename}")
        _tree(doc.toc, 2)
    s = report.split.stats
    click.echo(
        f"\nChunks ({report.split.strategy}): {s.count} chunks, {s.total_chars} characters; "
        f"size min {s.min} / median {s.median:g} / mean {s.mean:g} / max {s.max}"
    )
    if report.questions and report.answers:
        click.echo(f"Tags: {report.tags}; questions: job {report.questions.id} {report.questions.summary}; "
                   f"answers: job {report.answers.id} {report.answers.summary} (extractive provider: no LLM, lower quality)")
    if report.grounding:
        click.echo(f"Grounding check: {report.grounding.checked} checked, {report.grounding.failed} failed")
    if report.export:
        counts = ", ".join(f"{k} {v}" for k, v in report.export.counts.items())
        click.echo(f"LLaMA Factory bundle ({counts}):\n{report.export.folder}")
    if dataset_only:
        click.echo(f"Next: `loreforge dataset list {p.name}`, or add an LLM with `loreforge models add {p.name} --provider ...`; "
                   "the learning half: `loreforge run demo`")


def _tree(nodes: list, depth: int) -> None:  # type: ignore[type-arg]
    for node in nodes:
        click.echo("  " * depth + "- " + node.title)
        _tree(node.children, depth + 1)
