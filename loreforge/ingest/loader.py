"""`load()`: the one entry point of the ingest stage (the service layer calls it for every uploaded file).

It picks the format from the user's file name, refuses files over `ingest.max_file_mb` before reading a byte,
refuses empty files, and calls the format's loader. Loaders wrap their libraries' errors in IngestError; any
other exception that still escapes is wrapped here too, so the user always gets a message naming the file
(the original exception stays attached as __cause__ for the logs).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath

from loreforge.errors import IngestError, LoreForgeError
from loreforge.records import LoadedDocument
from loreforge.settings import IngestSettings

MB = 1024 * 1024

SUPPORTED_EXTENSIONS: dict[str, str] = {
    ".txt": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".docx": "docx",
    ".pdf": "pdf",
    ".epub": "epub",
}


def format_for(filename: str) -> str:
    """The format name for a file name's extension; IngestError naming the supported ones otherwise."""
    ext = PurePath(filename).suffix.lower()
    fmt = SUPPORTED_EXTENSIONS.get(ext)
    if fmt is None:
        raise IngestError(
            filename,
            f"has an unsupported file type '{ext}'" if ext else "has no file extension, so its type is unknown",
            expected="one of " + ", ".join(SUPPORTED_EXTENSIONS),
            hint="Convert it to one of these formats (for example save it as .docx, .pdf or .txt) and upload it again",
        )
    return fmt


def _check_size(path: Path, filename: str, limits: IngestSettings) -> int:
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise IngestError(filename, f"could not be read ({exc.strerror or exc})", hint="Upload the file again") from exc
    check_size(size, filename, limits)
    if size == 0:
        raise IngestError(filename, "is empty (0 bytes)", hint="Check that you uploaded the right file")
    return size


def check_size(size: int, filename: str, limits: IngestSettings) -> None:
    """Refuse a file over `ingest.max_file_mb` (used before a byte is read or stored)."""
    if size > limits.max_file_mb * MB:
        raise IngestError(
            filename,
            f"is too large: {size / MB:,.1f} MB, more than the limit of {limits.max_file_mb:g} MB",
            hint="Split the file, or raise the limit with `loreforge settings set PROJECT ingest.max_file_mb N`",
        )


def _dispatch(fmt: str, path: Path, filename: str, limits: IngestSettings) -> LoadedDocument:
    if fmt in ("txt", "md"):
        from loreforge.ingest.text import load_text

        return load_text(path, filename, fmt)
    if fmt == "html":
        from loreforge.ingest.html import load_html

        return load_html(path, filename)
    if fmt == "docx":
        from loreforge.ingest.docx import load_docx

        return load_docx(path, filename, limits)
    if fmt == "pdf":
        from loreforge.ingest.pdf import load_pdf

        return load_pdf(path, filename)
    from loreforge.ingest.epub import load_epub

    return load_epub(path, filename, limits)


def load(path: Path, *, filename: str | None = None, limits: IngestSettings | None = None) -> LoadedDocument:
    """Read the stored file at `path` as Markdown.

    `filename` is the user's original name (default: path.name); it picks the format by extension and is named
    in every error. `limits` defaults to IngestSettings().
    """
    path = Path(path)
    filename = filename or path.name
    limits = limits or IngestSettings()
    fmt = format_for(filename)
    _check_size(path, filename, limits)
    try:
        return _dispatch(fmt, path, filename, limits)
    except (LoreForgeError, MemoryError, KeyboardInterrupt):
        raise
    except RecursionError as exc:
        raise IngestError(filename, "is nested too deeply to be read", hint="Simplify or re-save the file") from exc
    except Exception as exc:  # noqa: BLE001 - last line of defence: never show a library traceback to the user
        raise IngestError(
            filename,
            f"is damaged or truncated (it could not be read as {fmt.upper()}: {type(exc).__name__})",
            hint="Open it in the program that made it and save it again, or upload the original file",
        ) from exc
