"""docs/cli.md, generated from the CLI's own help: every command, its usage line, its help text and its options,
in the order `loreforge --help` lists them. `python -m loreforge.cli.doc > docs/cli.md` writes it; a test checks
that the file is exactly what this prints, so the reference can never drift from the program."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import click

HEADER = """# Command line reference

Generated from the CLI's own help by `python -m loreforge.cli.doc > docs/cli.md` (a test checks it is current).
Every command takes `--home DIR` before its name (the data folder; default `$LOREFORGE_HOME` or `~/.loreforge`)
and `-h/--help`. Errors are one line on stderr with exit status 1; commands that run long work exit 0 when it
completed, 1 when it failed or its worker was lost, 2 on a usage error, 3 when it completed with some items
failed, 4 when it was cancelled.
"""


def commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command under `group`, depth first, in the order the group lists them."""
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


def _usage(path: tuple[str, ...], command: click.Command) -> str:
    ctx = click.Context(command, info_name=" ".join(("loreforge", *path)))
    pieces = command.collect_usage_pieces(ctx)
    return " ".join(["loreforge", *path, *pieces])


def _option(param: click.Parameter) -> tuple[str, str]:
    names = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
    kind = param.type
    if isinstance(kind, click.Choice):
        names += " " + "|".join(str(c) for c in kind.choices)
    elif not getattr(param, "is_flag", False) and not getattr(param, "count", False):
        names += f" {(param.metavar or kind.name).upper()}" if isinstance(param, click.Option) else ""
    names = names.replace("|", "\\|")
    help_text = " ".join((getattr(param, "help", None) or "").split()).replace("|", "\\|")
    default = getattr(param, "default", None)
    if getattr(param, "show_default", False) and default not in (None, False, ()):
        help_text += f" (default: {default})"
    if getattr(param, "multiple", False) and "repeatable" not in help_text.lower():
        help_text += " Repeatable."
    return names, help_text


def render(root: click.Group) -> str:
    blocks = [HEADER.rstrip()]
    for path, command in commands(root):
        block = [f"## `{' '.join(('loreforge', *path))}`"]
        help_text = inspect.cleandoc(command.help or "").replace("\b\n", "")
        if not isinstance(command, click.Group):
            block.append(f"```\n{_usage(path, command)}\n```")
        if help_text:
            block.append(help_text)
        options = [p for p in command.params if isinstance(p, click.Option) and p.name != "help"]
        if options and not isinstance(command, click.Group):
            rows = ["| option | meaning |", "|---|---|"] + ["| {} | {} |".format(*_option(p)) for p in options]
            block.append("\n".join(rows))
        blocks.append("\n\n".join(block))
    return "\n\n".join(blocks) + "\n"


def main() -> None:
    from loreforge.cli import cli

    print(render(cli), end="")


if __name__ == "__main__":
    main()
