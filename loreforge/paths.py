"""Output folders: made if missing and proved writable before any work is done, so a bad path is one clear error
up front rather than a failure after minutes of work (used by the export writers and the trainer); and the
confinement of paths a remote client names (`confined`, `inside`: used by the REST API, docs/security.md)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from loreforge.errors import Forbidden, UserError


def writable_dir(path: Path, hint: str) -> Path:
    """`path` as a folder that exists and can be written (made with its parents); UserError naming it otherwise."""
    if path.exists() and not path.is_dir():
        raise UserError(f"cannot write to {path}", got="a file, not a folder", hint=hint)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise UserError(f"cannot write to {path}", got=exc.strerror or str(exc), hint=hint) from exc
    return path


def confined(path: str | Path, base: Path, allowed: Sequence[Path] = (), what: str = "path") -> Path:
    """Where a remote client may make the server write: a relative `path` is taken under `base`; the resolved
    result (symlinks and `..` followed) must lie inside `base` or one of the `allowed` folders. Forbidden otherwise."""
    given = Path(path)
    full = (given if given.is_absolute() else base / given).resolve()
    roots = [base.resolve(), *(Path(a).resolve() for a in allowed)]
    if any(full == root or full.is_relative_to(root) for root in roots):
        return full
    raise Forbidden(
        f"The {what} {str(path)!r} is outside the folders this server may write",
        expected="a relative path (taken under " + str(base) + ")" + (" or one inside " + ", ".join(map(str, roots[1:])) if allowed else ""),
        got=str(full),
        hint="Give a relative path, or start the server with `loreforge serve --allow-path DIR`",
    )


def inside(folder: Path, relative: str, what: str = "file") -> Path:
    """`relative` (a path a client names inside `folder`, e.g. one file of an export) resolved, kept inside `folder`."""
    if Path(relative).is_absolute():
        raise Forbidden(f"The {what} must be a path relative to its folder", got=repr(relative))
    return confined(relative, folder, what=what)
