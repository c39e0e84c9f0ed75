"""The `loreforge` command line: a thin shell over `loreforge.service.Service`.

Commands parse arguments, call one service action and render the result (`--json` on every list/show).
Errors from the service are printed as one clear line, without a traceback, with exit status 1.
"""

from __future__ import annotations

import click

from loreforge import __version__
from loreforge.cli import arena as _arena  # noqa: F401 - registers commands
from loreforge.cli import ask as _ask  # noqa: F401
from loreforge.cli import chat as _chat  # noqa: F401
from loreforge.cli import chunks as _chunks  # noqa: F401
from loreforge.cli import cleaning as _cleaning  # noqa: F401
from loreforge.cli import dataset as _dataset  # noqa: F401
from loreforge.cli import dialogues as _dialogues  # noqa: F401
from loreforge.cli import distill as _distill  # noqa: F401
from loreforge.cli import documents as _documents  # noqa: F401
from loreforge.cli import evaluate as _evaluate  # noqa: F401
from loreforge.cli import export as _export  # noqa: F401
from loreforge.cli import ga as _ga  # noqa: F401
from loreforge.cli import generate as _generate  # noqa: F401
from loreforge.cli import images as _images  # noqa: F401
from loreforge.cli import jobs as _jobs  # noqa: F401
from loreforge.cli import local_models as _local_models  # noqa: F401
from loreforge.cli import model_servers as _model_servers  # noqa: F401
from loreforge.cli import models as _models  # noqa: F401
from loreforge.cli import pipeline as _pipeline  # noqa: F401
from loreforge.cli import pdf as _pdf  # noqa: F401
from loreforge.cli import probes as _probes  # noqa: F401
from loreforge.cli import projects as _projects  # noqa: F401
from loreforge.cli import run_insight as _run_insight  # noqa: F401
from loreforge.cli import server as _server  # noqa: F401
from loreforge.cli import templates as _templates  # noqa: F401
from loreforge.cli import training as _training  # noqa: F401
from loreforge.cli.base import cli


@cli.command()
def version() -> None:
    """Print the LoreForge version."""
    click.echo(f"loreforge {__version__}")


def main() -> None:
    cli(prog_name="loreforge")


__all__ = ["cli", "main"]
