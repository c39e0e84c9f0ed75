"""The `loreforge` command line: a thin shell over `loreforge.service.Service`.

Commands parse arguments, call one service action and render the result (`--json` on every list/show).
Errors from the service are printed as one clear line, without a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from loreforge import __version__
from loreforge.cli.base import cli, get_service
from loreforge.cli import chunks as _chunks  # noqa: F401 - registers commands
from loreforge.cli import documents as _documents  # noqa: F401
from loreforge.cli import projects as _projects  # noqa: F401
from loreforge.cli import server as _server  # noqa: F401


@cli.command()
def version() -> None:
    """Print the LoreForge version."""
    click.echo(f"loreforge {__version__}")


def main(argv: list[str] | None = None) -> Any:
    from loreforge.errors import LoreForgeError

    try:
        return cli.main(args=argv, prog_name="loreforge", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except LoreForgeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    finally:
        svc = get_service(create=False)
        if svc is not None:
            svc.close()


__all__ = ["cli", "main"]
