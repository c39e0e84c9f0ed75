"""The root click group and the shared service handle of one CLI invocation."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from loreforge.service import Service

_STATE: dict[str, Any] = {}


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    envvar="LOREFORGE_HOME",
    help="Data folder (default: $LOREFORGE_HOME or ~/.loreforge).",
)
def cli(home: str | None) -> None:
    """LoreForge: turn documents into training data, fine-tune an open LLM on it, and measure what it learned.

    Data lives under --home / $LOREFORGE_HOME (default ~/.loreforge): a SQLite database (or PostgreSQL via
    $LOREFORGE_DATABASE_URL) and one folder per project holding the original files and their Markdown.
    """
    if home:
        os.environ["LOREFORGE_HOME"] = home
    _STATE.pop("service", None)


def get_service(create: bool = True) -> "Service | None":
    svc = _STATE.get("service")
    if svc is None and create:
        from loreforge.service import Service

        svc = _STATE["service"] = Service()
    return svc


def service() -> "Service":
    svc = get_service()
    assert svc is not None
    return svc


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
