"""Output folders: made if missing and proved writable before any work is done, so a bad path is one clear error
up front rather than a failure after minutes of work. Used by the export writers and the trainer."""

from __future__ import annotations

import tempfile
from pathlib import Path

from loreforge.errors import UserError


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
