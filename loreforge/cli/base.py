"""The root click group, error rendering, and the shared service handle of one CLI invocation."""

from __future__ import annotations

import os
from typing import IO, TYPE_CHECKING, Any

import click

from loreforge.errors import LoreForgeError

if TYPE_CHECKING:
    from loreforge.service import Service

_STATE: dict[str, Any] = {}


class CliError(click.ClickException):
    """A LoreForgeError shown as one line on stderr, exit status 1, no traceback."""

    exit_code = 1

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True, file=file)


class LoreForgeGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LoreForgeError as exc:
            raise CliError(str(exc)) from exc


@click.group(cls=LoreForgeGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    envvar="LOREFORGE_HOME",
    help="Data folder (default: $LOREFORGE_HOME or ~/.loreforge).",
)
@click.pass_context
def cli(ctx: click.Context, home: str | None) -> None:
    """LoreForge: turn documents into training data, fine-tune an open LLM on it, and measure what it learned.

    Data lives under --home / $LOREFORGE_HOME (default ~/.loreforge): a SQLite database (or PostgreSQL via
    $LOREFORGE_DATABASE_URL) and one folder per project holding the original files and their Markdown.
    """
    _STATE.clear()
    _STATE["home"] = home
    if home:  # what reads the home outside the service (the GGUF cache, background workers) sees the same one
        os.environ["LOREFORGE_HOME"] = os.path.abspath(os.path.expanduser(home))
    ctx.call_on_close(_close)


def _close() -> None:
    svc = _STATE.pop("service", None)
    if svc is not None:
        svc.close()


def open_service(home: str | None) -> "Service":
    """The service one CLI invocation uses (tests put a recording service here)."""
    from loreforge.service import Service
    from loreforge.settings import AppConfig

    return Service(AppConfig.from_env(home))


def service() -> "Service":
    svc = _STATE.get("service")
    if svc is None:
        svc = _STATE["service"] = open_service(_STATE.get("home") or os.environ.get("LOREFORGE_HOME"))
    return svc


# Exit statuses of commands that run long work (documented in docs/generation.md): scripts can tell a job that
# did everything from one that left items failed or was cancelled. 2 is click's usage error.
EXIT_CODES = {"completed": 0, "failed": 1, "interrupted": 1, "completed_with_failures": 3, "cancelled": 4}


def exit_for(status: str) -> None:
    """End the command with the exit status of a job's final `status`."""
    code = EXIT_CODES.get(status, 1)
    if code:
        raise SystemExit(code)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
