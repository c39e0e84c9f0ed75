"""CLI: `loreforge models ...` (model configs) and `loreforge prompts ...` (prompt templates)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from loreforge.cli import render
from loreforge.cli.base import CliError, cli, json_option, service


@cli.group()
def models() -> None:
    """Model configs of a project: add, list, test, use, remove, list-remote, presets."""


def _read_key(value: str | None) -> tuple[str | None, str | None]:
    """(literal key, env var) from --api-key: `env:VAR`, or `-` to read it from a prompt / stdin."""
    if value is None:
        return None, None
    if value.startswith("env:"):
        return None, value[4:]
    if value == "-":
        key = click.prompt("API key", hide_input=True) if sys.stdin.isatty() else sys.stdin.readline().strip()
        return key, None
    raise CliError(
        "A literal API key is never read from the command line (it would land in shell history and process "
        "lists) — pass `--api-key env:VAR` or `--api-key -` and type or pipe the key"
    )


@models.command("add")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--provider", required=True, help="A preset (see `loreforge models presets`) or custom.")
@click.option("--model", "model_name", default="", help="Model name, e.g. deepseek-chat; for local: a folder, hub id or .gguf file.")
@click.option("--adapter", help="local only: a LoRA adapter folder or a train run id, loaded on top of --model.")
@click.option("--name", help="Config name (default PROVIDER-MODEL).")
@click.option("--base-url", help="Endpoint base URL (required for custom).")
@click.option("--api-key", help="env:VAR, or - to read the key from a prompt / standard input.")
@click.option("--temperature", type=float)
@click.option("--max-tokens", type=int)
@click.option("--top-p", type=float)
@click.option("--extra-body", help='JSON merged into each request, e.g. \'{"enable_thinking": false}\'.')
@click.option("--stream/--no-stream", default=None, help="Stream replies.")
@click.option("--no-activate", is_flag=True, help="Do not make it the active config.")
@click.option("--type", "model_type", type=click.Choice(["text", "vision"]), default="text", show_default=True,
              help="vision: a model that reads images (image QA, PDF pages), active among the vision configs.")
@json_option
def models_add(project_ref: str, provider: str, model_name: str, adapter: str | None, name: str | None,
               base_url: str | None, api_key: str | None, temperature: float | None, max_tokens: int | None, top_p: float | None, extra_body: str | None,
               stream: bool | None, no_activate: bool, model_type: str, as_json: bool) -> None:
    """Add a model config to PROJECT (it becomes the active one)."""
    literal, env = _read_key(api_key)
    options: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens, "top_p": top_p, "stream": stream}
    if extra_body:
        try:
            options["extra_body"] = json.loads(extra_body)
        except (ValueError, RecursionError) as exc:  # also a number too long to convert, or nesting too deep
            raise CliError(f"--extra-body is not valid JSON ({getattr(exc, 'msg', 'a number too long or nesting too deep')})") from None
    view = service().add_model(project_ref, provider, model_name, name=name, base_url=base_url, api_key=literal,
                               api_key_env=env, options=options, activate=not no_activate, adapter=adapter, type=model_type)
    if as_json:
        return render.as_json(view)
    click.echo(f"Added model config '{view.name}' ({view.provider}/{view.model or '-'}, key {view.api_key or 'none'})"
               + (" — active" if view.active else ""))


@models.command("list")
@click.argument("project_ref", metavar="PROJECT")
@json_option
def models_list(project_ref: str, as_json: bool) -> None:
    """List PROJECT's model configs (keys are never shown)."""
    views = service().list_models(project_ref)
    if as_json:
        return render.as_json(views)
    if not views:
        click.echo("No model configs: generation uses the extractive provider (no LLM, lower quality).")
        return
    render.table(["", "name", "type", "provider", "model", "base url", "key", "options"],
                 [("*" if v.active else "", v.name, v.type, v.provider, v.model, v.base_url or "(preset)", v.api_key or "-",
                   render.clip(json.dumps(v.options, ensure_ascii=False), 40)) for v in views])


@models.command("use")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("name")
def models_use(project_ref: str, name: str) -> None:
    """Make NAME the active model config."""
    click.echo(f"Active model config: {service().use_model(project_ref, name).name}")


@models.command("remove")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("name")
def models_remove(project_ref: str, name: str) -> None:
    """Remove a model config."""
    service().remove_model(project_ref, name)
    click.echo(f"Removed model config '{name}'.")


@models.command("test")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("name", required=False)
@json_option
def models_test(project_ref: str, name: str | None, as_json: bool) -> None:
    """Send one tiny request with NAME (default: the active config); report latency or the error."""
    result = service().test_model(project_ref, name)
    if as_json:
        render.as_json(result)
    elif result.ok:
        click.echo(f"OK {result.name}: {result.latency_ms:.0f} ms, replied {result.reply!r}")
    else:
        click.echo(f"FAILED {result.name} after {result.latency_ms:.0f} ms: {result.error}", err=True)
    if not result.ok:
        sys.exit(1)


@models.command("list-remote")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("name", required=False)
@json_option
def models_list_remote(project_ref: str, name: str | None, as_json: bool) -> None:
    """List the models offered by the endpoint of NAME (default: the active config)."""
    names = service().list_remote_models(project_ref, name)
    if as_json:
        return render.as_json(names)
    for n in names:
        click.echo(n)


@models.command("presets")
@json_option
def models_presets(as_json: bool) -> None:
    """List provider presets (default base URL, API-key variable, notes)."""
    presets = service().list_presets()
    if as_json:
        return render.as_json(presets)
    render.table(["provider", "kind", "base url", "key variable", "label"],
                 [(p.name, p.kind, p.base_url or "-", p.key_env or "-", p.label) for p in presets])


@cli.group()
def prompts() -> None:
    """Prompt templates: list, show, set (a project override), reset."""


@prompts.command("list")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--language", type=click.Choice(["zh", "en"]), help="Default: the project's language.")
@json_option
def prompts_list(project_ref: str, language: str | None, as_json: bool) -> None:
    """List the templates in force for PROJECT."""
    views = service().list_prompts(project_ref, language)
    if as_json:
        return render.as_json(views)
    render.table(["name", "lang", "overridden", "hash", "variables", "what for"],
                 [(v.name, v.language, "yes" if v.overridden else "", v.hash, " ".join(v.variables), v.description) for v in views])


@prompts.command("show")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("name")
@click.option("--language", type=click.Choice(["zh", "en"]))
@json_option
def prompts_show(project_ref: str, name: str, language: str | None, as_json: bool) -> None:
    """Print one template."""
    view = service().show_prompt(project_ref, name, language)
    if as_json:
        return render.as_json(view)
    click.echo(view.text, nl=False)


@prompts.command("set")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("name")
@click.option("--file", "path", type=click.File("r", encoding="utf-8"), required=True, help="The template text ('-' for stdin).")
@click.option("--language", type=click.Choice(["zh", "en"]))
def prompts_set(project_ref: str, name: str, path: Any, language: str | None) -> None:
    """Override template NAME for PROJECT (every {{variable}} of the original must stay)."""
    view = service().set_prompt(project_ref, name, path.read(), language)
    click.echo(f"Prompt '{view.name}' ({view.language}) overridden; hash {view.hash}.")


@prompts.command("reset")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("name")
@click.option("--language", type=click.Choice(["zh", "en"]))
def prompts_reset(project_ref: str, name: str, language: str | None) -> None:
    """Drop PROJECT's override of NAME."""
    view = service().reset_prompt(project_ref, name, language)
    click.echo(f"Prompt '{view.name}' ({view.language}) back to the default; hash {view.hash}.")
