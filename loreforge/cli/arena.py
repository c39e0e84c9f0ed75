"""CLI: `loreforge arena` — blind tests of two models on a project's probes, in the terminal as on the web UI's
Blind test page: `create`, `list`, `show` (the results), `round` (the next round: its question and the two answers
as left and right, models hidden) and `vote`. Shells over `ArenaActions`."""

from __future__ import annotations

from typing import Any

import click

from loreforge.cli import render
from loreforge.cli.base import cli, json_option, service

VOTES = ("left", "right", "both-good", "both-bad")  # the service's votes, with dashes


@cli.group()
def arena() -> None:
    """Blind tests: two models answer the same probes, shown as left and right; you vote, then see which was which."""


@arena.command("create")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--model-a", required=True, metavar="MODEL", help="Model A: a base model, a model config, or the base of --adapter-a.")
@click.option("--adapter-a", metavar="RUN|DIR", help="Model A is this tuned run or folder (on --model-a, default the run's base).")
@click.option("--model-b", default="", metavar="MODEL", help="Model B, as --model-a.")
@click.option("--adapter-b", metavar="RUN|DIR", help="Model B is this tuned run or folder.")
@click.option("--probes", "probe_sets", multiple=True, metavar="SET", help="Probe sets (repeat; default: all of the project's).")
@click.option("--size", type=click.IntRange(1), help="At most this many rounds.")
@click.option("--name", help="A name for the test.")
@click.option("--max-new-tokens", type=click.IntRange(1), help="Longest answer (default: the eval.max_new_tokens setting).")
@click.option("--temperature", type=click.FloatRange(0, 2), default=0.0, show_default=True)
@click.option("--system", metavar="TEXT", help="System prompt for both models.")
@click.option("--seed", type=int, help="Seed of the rounds' order (default: random).")
@json_option
def arena_create(project_ref: str, model_a: str, adapter_a: str | None, model_b: str, adapter_b: str | None,
                 probe_sets: tuple[str, ...], as_json: bool, **options: Any) -> None:
    """Create a blind test of model A against model B on the project's probe sets."""
    view = service().create_arena(project_ref, model_a, model_b, adapter_a=adapter_a, adapter_b=adapter_b,
                                  probes=list(probe_sets) or None, **options)
    if as_json:
        return render.as_json(view)
    click.echo(f"blind test {view.id}: {view.rounds} rounds; next: `loreforge arena round {view.id}`")


@arena.command("list")
@click.argument("project_ref", metavar="PROJECT")
@json_option
def arena_list(project_ref: str, as_json: bool) -> None:
    """The project's blind tests with their votes so far."""
    views = service().list_arenas(project_ref)
    if as_json:
        return render.as_json(views)
    render.table(["id", "name", "A", "B", "voted", "A wins", "B wins", "both good", "both bad"],
                 [(v.id, render.clip(v.name, 30), render.clip(v.models["a"].name, 24), render.clip(v.models["b"].name, 24),
                   f"{v.voted}/{v.rounds}", *(v.results["counts"][o] for o in ("a", "b", "both_good", "both_bad")))
                  for v in views])


def _rate(cell: dict[str, Any]) -> str:
    if not cell["n"]:
        return "-"
    return f"{cell['rate'] * 100:.0f}% [{cell['low'] * 100:.0f}–{cell['high'] * 100:.0f}] ({cell['k']}/{cell['n']})"


@arena.command("show")
@click.argument("arena_id", type=int)
@json_option
def arena_show(arena_id: int, as_json: bool) -> None:
    """A blind test's results: each model's win rate among decided votes and good rate, with 95% intervals."""
    view = service().get_arena(arena_id)
    if as_json:
        return render.as_json(view)
    r = view.results
    click.echo(f"blind test {view.id} '{view.name}': {view.voted} of {view.rounds} rounds voted")
    render.table(["model", "what", "wins", "losses", "win rate", "good rate"],
                 [(label.upper(), view.models[label].name, r["models"][label]["wins"], r["models"][label]["losses"],
                   _rate(r["models"][label]["win_rate"]), _rate(r["models"][label]["good_rate"])) for label in ("a", "b")])
    click.echo(f"both good {r['counts']['both_good']}, both bad {r['counts']['both_bad']}; sign test p = "
               f"{render.show(None if r['sign_p'] is None else round(r['sign_p'], 4))}")


@arena.command("round")
@click.argument("arena_id", type=int)
@json_option
def arena_round(arena_id: int, as_json: bool) -> None:
    """The next round: its question and both answers (generated now when needed), as left and right."""
    s = service()
    view = s.next_arena_round(arena_id)
    if view is None:
        click.echo(f"every round is voted: `loreforge arena show {arena_id}`")
        return
    for side in ("left", "right"):
        view = s.answer_arena_round(arena_id, view.id, side)
    if as_json:
        return render.as_json(view)
    click.echo(f"round {view.position} of {view.total} (id {view.id})\nQ: {view.question}\n\nLEFT:\n{view.left}\n\nRIGHT:\n{view.right}\n")
    click.echo(f"vote: `loreforge arena vote {arena_id} {view.id} left|right|both-good|both-bad`")


@arena.command("answer")
@click.argument("arena_id", type=int)
@click.argument("round_id", type=int)
@click.argument("side", type=click.Choice(("left", "right")))
@json_option
def arena_answer(arena_id: int, round_id: int, side: str, as_json: bool) -> None:
    """One side's answer of a round, streamed as it is generated (stored; the model stays hidden)."""
    stream = None if as_json else (lambda piece: click.echo(piece, nl=False))
    view = service().answer_arena_round(arena_id, round_id, side, on_piece=stream)
    if as_json:
        return render.as_json(view)
    click.echo("")


@arena.command("vote")
@click.argument("arena_id", type=int)
@click.argument("round_id", type=int)
@click.argument("vote", type=click.Choice(VOTES))
@json_option
def arena_vote(arena_id: int, round_id: int, vote: str, as_json: bool) -> None:
    """Vote on a round; then it says which model was left and which right."""
    view = service().vote_arena_round(arena_id, round_id, vote.replace("-", "_"))
    if as_json:
        return render.as_json(view)
    shown = view.revealed or {}
    click.echo(f"left was {shown.get('left')}, right was {shown.get('right')}\nreference: {view.reference or '-'}")
