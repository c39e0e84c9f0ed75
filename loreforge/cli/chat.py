"""CLI: `loreforge chat` (a terminal chat with a base or tuned model, or both with --compare) and
`loreforge serve-model` (an OpenAI-compatible server for them). Shells over `loreforge.inference`; a run id
given as --adapter is looked up through the service (`get_run`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from loreforge.cli.base import cli, service
from loreforge.defaults import DEFAULT_HOST
from loreforge.errors import UserError
from loreforge.inference.defaults import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_BATCH_WAIT_S,
    DEFAULT_MAX_NEW_TOKENS,
    DEFAULT_MODEL_PORT,
    DEFAULT_TEMPERATURE,
    DEVICES_HELP,
    DTYPES,
    LAYOUTS,
)

if TYPE_CHECKING:
    from loreforge.settings.server import ServerSettings

_model = click.option("--model", "base", required=True, metavar="BASE",
                      help="Base model: a folder, a hub id, or a .gguf file (converted once and cached).")
_device = click.option("--device", default="auto", show_default=True, help=DEVICES_HELP + ".")
_dtype = click.option("--dtype", type=click.Choice(DTYPES), default="auto", show_default=True,
                      help="Weights dtype (auto: float32 on CPU, the checkpoint's dtype on a GPU).")


def _max_new(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--max-new-tokens", type=click.IntRange(1), default=DEFAULT_MAX_NEW_TOKENS,
                        show_default=True, help=help_text)


def _temperature(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--temperature", type=click.FloatRange(0, 2), default=DEFAULT_TEMPERATURE,
                        show_default=True, help=help_text)


def _tuned(spec: str) -> Path:
    from loreforge.inference.tuned import tuned_folder

    return tuned_folder(spec, lambda run_id: service().get_run(run_id))  # the service opens for a run id only


@cli.command()
@_model
@click.option("--adapter", metavar="RUN|DIR", help="A train run id or its folder: a LoRA adapter (merged in "
              "memory) or a full fine-tuned model.")
@click.option("--compare", is_flag=True, help="Answer each message with the base and the tuned model.")
@click.option("--system", "system", metavar="TEXT", help="System prompt (change it with /system TEXT).")
@_max_new("Longest answer, in tokens.")
@_temperature("0 is greedy; above 0 samples.")
@click.option("--top-p", type=click.FloatRange(0, 1, min_open=True), default=None, help="Nucleus sampling (with --temperature > 0).")
@click.option("--layout", type=click.Choice(LAYOUTS), default="auto", show_default=True,
              help="--compare: columns side by side, or one answer after the other (auto: columns when the "
              "terminal is at least 100 wide).")
@_device
@_dtype
def chat(base: str, adapter: str | None, compare: bool, system: str | None, max_new_tokens: int, temperature: float,
         top_p: float | None, layout: str, device: str, dtype: str) -> None:
    """Chat in the terminal with a base model, a tuned one (--adapter), or both (--compare), answers streamed.
    Commands: /reset, /system TEXT, /exit (or Ctrl-D); Ctrl-C stops an answer."""
    from loreforge.inference.chat import ChatSession, Side
    from loreforge.inference.engine import load_model, load_tuned
    from loreforge.inference.served import served_name
    from loreforge.inference.terminal import ChatOptions, run_chat

    if compare and not adapter:
        raise UserError("--compare needs --adapter", hint="Name the tuned model: --adapter RUN|DIR")
    folder = _tuned(adapter) if adapter else None
    sides: list[Side] = []
    if folder is None or compare:
        click.echo(f"loading {base} …", err=True)
        sides.append(Side(f"base · {served_name(base)}", load_model(base, device=device, dtype=dtype)))
    if folder is not None:
        click.echo(f"loading {folder} …", err=True)
        label = f"tuned · run {adapter}" if adapter and adapter.isdigit() else f"tuned · {folder.name}"
        sides.append(Side(label, load_tuned(base, folder, device=device, dtype=dtype)))
    run_chat(ChatSession(sides, system), ChatOptions(max_new_tokens, temperature, top_p, layout), sys.stdout)


@cli.command("serve-model")
@_model
@click.option("--adapter", "adapters", multiple=True, metavar="NAME=RUN|DIR",
              help="A tuned model served as NAME: a train run id or folder (LoRA adapter or full model). Repeatable.")
@click.option("--name", "base_name", metavar="NAME", help="The base model's served name (default: its folder or "
              "file name, or the hub id).")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on; any but loopback needs the access token.")
@click.option("--port", default=DEFAULT_MODEL_PORT, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="Host header name answered besides loopback and --host (repeatable; `*` any).")
@click.option("--max-body-mb", type=float, default=None, help="Largest request body in MB (default 256).")
@_max_new("Longest answer, in tokens, when a request sets no max_tokens.")
@_temperature("Used when a request sets no temperature; 0 is greedy.")
@click.option("--batch-size", type=click.IntRange(1, 512), default=DEFAULT_BATCH_SIZE, show_default=True,
              help="Most concurrent requests for one model generated together.")
@click.option("--batch-wait", type=click.FloatRange(0, 10), default=DEFAULT_BATCH_WAIT_S, show_default=True,
              help="Seconds a request waits for others to join its batch.")
@_device
@_dtype
def serve_model(base: str, adapters: tuple[str, ...], base_name: str | None, host: str, port: int,
                allowed_hosts: tuple[str, ...], max_body_mb: float | None, max_new_tokens: int, temperature: float,
                batch_size: int, batch_wait: float, device: str, dtype: str) -> None:
    """Serve the base model and tuned models by name over an OpenAI-compatible API (/v1/models,
    /v1/chat/completions, streaming or not). Loopback by default; see docs/chat-and-serve.md."""
    from loreforge.cli.server import check_port
    from loreforge.inference.tuned import parse_named
    from loreforge.settings.server import ServerSettings

    named = [parse_named(spec) for spec in adapters]
    settings = ServerSettings.from_env(host=host, port=port, allowed_hosts=allowed_hosts,
                                       max_body_mb=max_body_mb).with_token()
    check_port(host, port)
    tuned = [(name, _tuned(target)) for name, target in named]
    import uvicorn

    from loreforge.inference.openai_app import create_openai_app
    from loreforge.inference.served import load_pool

    click.echo(f"loading {base}" + "".join(f", {name} ({folder})" for name, folder in tuned) + " …", err=True)
    pool = load_pool(base, tuned, base_name=base_name, device=device, dtype=dtype, batch_size=batch_size,
                     wait_s=batch_wait)
    app = create_openai_app(pool, settings, max_new_tokens=max_new_tokens, temperature=temperature)
    _announce(settings, list(pool.models))
    uvicorn.run(app, host=host, port=port, log_level="info")  # the app closes the pool when the server stops


def _announce(settings: ServerSettings, names: list[str]) -> None:
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    click.echo(f"OpenAI-compatible API on http://{shown}:{settings.port}/v1  models: {', '.join(names)}")
    if not settings.loopback:
        click.echo(f"warning: {settings.host} is reachable from other machines; every request needs the access token "
                   "and traffic is not encrypted (see docs/security.md).", err=True)
    if settings.token is not None:
        source = "from LOREFORGE_TOKEN" if os.environ.get("LOREFORGE_TOKEN") else "generated; set LOREFORGE_TOKEN to keep one"
        click.echo(f"Access token ({source}): {settings.token.get_secret_value()}\n"
                   "  clients send `Authorization: Bearer TOKEN` (the api_key of an OpenAI client)")
