"""Where an ingested file's bytes live, written so that parallel ingests never touch each other's files.

The service's document actions (loreforge/service/documents.py) feed this module: an upload stream is
received into a temporary file of its own (`receive`), every document is prepared in a private staging
folder (`stage`: the original's copy, hashed while it is copied, and later its Markdown), and a staged folder
is published into `documents/` by one atomic rename under a name nobody else holds (`publish`). Staging
happens under the project's `tmp/`, on the same filesystem as `documents/`, so publishing never copies.
A folder is only ever removed (`discard`) by the ingest that created it: a losing parallel ingest cannot
delete the winner's files.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

COPY_BLOCK = 1 << 20
MARKDOWN_NAME = "content.md"
MARKDOWN_NAME_BESIDE_CONTENT_MD = "content.converted.md"  # when the original itself is called content.md
_TAKEN = (errno.EEXIST, errno.ENOTEMPTY)
_NAME_TRIES = 20


@dataclass(frozen=True)
class Staged:
    """A document being prepared: a private folder holding the original's copy, with that copy's hash."""

    folder: Path
    original: Path
    sha256: str
    size: int

    @property
    def markdown(self) -> Path:
        """Where the converted Markdown goes, beside the original (never over it)."""
        name = MARKDOWN_NAME if self.original.name != MARKDOWN_NAME else MARKDOWN_NAME_BESIDE_CONTENT_MD
        return self.folder / name


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, streamed: a large file is never held in memory to hash it."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(COPY_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def receive(stream: BinaryIO, tmp_dir: Path, max_bytes: int) -> tuple[Path, int]:
    """Copy an upload stream into a new temporary file of its own under `tmp_dir`.

    Stops reading once more than `max_bytes` came (the size returned is then above the limit, and the caller
    refuses the file). The caller removes the file; on an error it is removed here."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=tmp_dir)
    path = Path(name)
    written = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while written <= max_bytes and (block := stream.read(COPY_BLOCK)):
                written += len(block)
                out.write(block)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, written


def stage(source: Path, tmp_dir: Path, stored_name: str, *, move: bool = False) -> Staged:
    """A new private folder under `tmp_dir` holding the source's bytes as `stored_name`.

    `move` moves the source in (for a temporary file this ingest owns, on the same filesystem) instead of
    copying it. The hash is of the staged copy, so it always matches the bytes that will be stored."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="ingest-", dir=tmp_dir))
    dest = folder / stored_name
    try:
        if move:
            os.replace(source, dest)
            sha256 = file_sha256(dest)
        else:
            sha256 = _copy_hashing(source, dest)
        return Staged(folder=folder, original=dest, sha256=sha256, size=dest.stat().st_size)
    except BaseException:
        discard(folder)
        raise


def _copy_hashing(source: Path, dest: Path) -> str:
    digest = hashlib.sha256()
    with source.open("rb") as src, dest.open("xb") as out:
        while block := src.read(COPY_BLOCK):
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def publish(staged: Staged, documents_dir: Path) -> Path:
    """Move the staged folder into `documents_dir` by one atomic rename; returns the folder it now is.

    The name is the first 16 hex digits of the content hash; if that name is taken (a folder left by a
    deleted document or a crash), a random suffix is added. An existing folder is never replaced or removed."""
    documents_dir.mkdir(parents=True, exist_ok=True)
    base = staged.sha256[:16]
    for attempt in range(_NAME_TRIES):
        target = documents_dir / (base if attempt == 0 else f"{base}-{secrets.token_hex(4)}")
        if target.exists():
            continue
        try:
            os.rename(staged.folder, target)  # POSIX: fails on a non-empty target; Windows: on any target
        except OSError as exc:
            if exc.errno in _TAKEN or isinstance(exc, FileExistsError):
                continue
            raise
        return target
    raise FileExistsError(errno.EEXIST, f"no free folder name for {base} after {_NAME_TRIES} tries", str(documents_dir))


def moved(staged: Staged, folder: Path, path: Path) -> Path:
    """Where `path` (inside the staged folder) is once the folder was published as `folder`."""
    return folder / path.relative_to(staged.folder)


def discard(folder: Path) -> None:
    """Remove a folder this ingest created (staged or published by it); a missing one is fine."""
    shutil.rmtree(folder, ignore_errors=True)
