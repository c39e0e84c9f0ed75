"""CLI: `loreforge dialogues generate` — multi-turn dialogues from questions and their chunks (review them with
`loreforge dataset list --kind dialogue`)."""

from __future__ import annotations

from typing import Any

import click

from loreforge.cli import render
from loreforge.cli.base import cli, json_option, service


@cli.group()
def dialogues() -> None:
    """Multi-turn dialogues: a user and an assistant role talking over a question's chunk, several rounds. They
    are dataset items of kind `dialogue`: review, export and train them like QA pairs."""


@dialogues.command("generate")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--questions", "question_ids", help="Question ids (comma or space separated); default: every question without a dialogue.")
@click.option("--chunk", "chunk_id", type=int, help="Only questions of this chunk.")
@click.option("--tag", help="Only questions with this tag ('' for untagged ones).")
@click.option("--search", "text", help="Only questions containing this text.")
@click.option("--rounds", type=int, help="Rounds per dialogue (default: dialogues.rounds, 3).")
@click.option("--mode", type=click.Choice(["whole", "turns"]), help="whole: one call per dialogue; turns: one per round.")
@click.option("--user-role", help="The asking role's name (default: dialogues.user_role).")
@click.option("--assistant-role", help="The answering role's name (default: dialogues.assistant_role).")
@click.option("--scenario", help="The setting of the dialogue, told to the model.")
@click.option("--system-prompt", help="The system prompt stored with each dialogue.")
@click.option("--force", is_flag=True, help="Make the dialogues of these questions again.")
@click.option("--model", "model", metavar="CONFIG", help="The model config to use instead of the active one.")
@click.option("--provider", type=click.Choice(["extractive"]), help="extractive: rounds cut from the chunk's sentences, no LLM.")
@json_option
def dialogues_generate(project_ref: str, question_ids: str | None, rounds: int | None, mode: str | None, user_role: str | None,
                       assistant_role: str | None, scenario: str | None, system_prompt: str | None, force: bool, model: str | None,
                       provider: str | None, as_json: bool, **question_filter: Any) -> None:
    """Make a multi-turn dialogue from each question (a job); the question filter options pick the questions as
    `questions list` does."""
    from loreforge.filters import QuestionFilter

    ids = [int(x) for x in question_ids.replace(",", " ").split()] if question_ids else None
    bar = render.ProgressLine("dialogues")
    job = service().generate_dialogues(project_ref, question_ids=ids, rounds=rounds, mode=mode, user_role=user_role,
                                       assistant_role=assistant_role, scenario=scenario, system_prompt=system_prompt, model=model,
                                       provider=provider, force=force, on_progress=bar, question_filter=QuestionFilter(**question_filter))
    bar.close()
    render.job_outcome(job, as_json)
