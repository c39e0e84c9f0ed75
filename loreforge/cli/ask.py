"""CLI: `loreforge ask` (one answer from any model — a base model, a tuned run or folder, a model config —
streamed to the terminal; the web UI's Chat page asks two side by side) and `loreforge dataset add` (a question
and an answer kept as a dataset item, as the Chat page's "add this exchange to the dataset" does). Shells over
`ChatActions`."""

from __future__ import annotations

import click

from loreforge.cli import render
from loreforge.cli.base import cli, json_option, service
from loreforge.cli.dataset import dataset
from loreforge.inference.defaults import DEFAULT_MAX_NEW_TOKENS, DEFAULT_TEMPERATURE


@cli.command()
@click.argument("question")
@click.option("--model", default="", metavar="MODEL", help="A base model folder, .gguf file or hub id, or a model "
              "config of --project (with --adapter: the base, default the run's).")
@click.option("--adapter", metavar="RUN|DIR", help="The tuned model: a train run id or its folder.")
@click.option("--project", "project_ref", help="The project whose model configs --model may name.")
@click.option("--system", metavar="TEXT", help="System prompt.")
@click.option("--max-new-tokens", type=click.IntRange(1), default=DEFAULT_MAX_NEW_TOKENS, show_default=True)
@click.option("--temperature", type=click.FloatRange(0, 2), default=DEFAULT_TEMPERATURE, show_default=True, help="0 is greedy.")
@click.option("--top-p", type=click.FloatRange(0, 1, min_open=True), default=None, help="Nucleus sampling (temperature > 0).")
@json_option
def ask(question: str, model: str, adapter: str | None, project_ref: str | None, system: str | None, max_new_tokens: int,
        temperature: float, top_p: float | None, as_json: bool) -> None:
    """One answer to QUESTION from a base model, a tuned run (--adapter) or a model config, streamed as it is
    written (the model is loaded for this one answer; `loreforge chat` keeps it for a conversation)."""
    stream = None if as_json else (lambda piece: click.echo(piece, nl=False))
    reply = service().chat_reply(question, model, adapter=adapter, project=project_ref, system=system,
                                 max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, on_piece=stream)
    if as_json:
        return render.as_json(reply)
    click.echo("")
    click.echo(f"[{reply.model}: {reply.completion_tokens} tokens in {reply.latency_ms / 1000:.1f} s, {reply.finish_reason}]",
               err=True)


@dataset.command("add")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--question", required=True, help="The question (the user's message).")
@click.option("--answer", required=True, help="The answer, as it should be learned.")
@click.option("--system", metavar="TEXT", help="The item's own system prompt.")
@click.option("--model", metavar="NAME", help="The model that wrote the first draft (kept as provenance).")
@click.option("--confirm", "confirmed", is_flag=True, help="Confirm it at once (it is exported and trained on).")
@click.option("--note", help="A note on the item.")
@json_option
def dataset_add(project_ref: str, question: str, answer: str, system: str | None, model: str | None, confirmed: bool,
                note: str | None, as_json: bool) -> None:
    """Add one question and answer to the dataset by hand (e.g. a chat exchange whose answer you corrected)."""
    item = service().save_chat_exchange(project_ref, question, answer, system=system, model=model, confirmed=confirmed, note=note)
    if as_json:
        return render.as_json(item)
    click.echo(f"dataset item {item.id} added{' and confirmed' if item.confirmed else ''}")
