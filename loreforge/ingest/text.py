"""Loader for plain text and Markdown (.txt, .md, .markdown).

Text is already valid Markdown, so it is kept as it is (not escaped): the bytes are read once, decoded once
(see textdecode) and newlines normalised with str.replace. That keeps a 100 MB file to a few copies of itself.
"""

from __future__ import annotations

from pathlib import Path

from loreforge.ingest.document import empty_error, finish, is_blank, normalize_newlines
from loreforge.ingest.textdecode import decode_text
from loreforge.records import LoadedDocument


def load_text(path: Path, filename: str, fmt: str) -> LoadedDocument:
    """Load a .txt or .md file as Markdown; `fmt` is "txt" or "md"."""
    data = path.read_bytes()
    if is_blank_bytes(data):
        raise empty_error(filename, "only whitespace" if data else "0 bytes")
    decoded = decode_text(data, filename)
    del data
    text, encoding, warnings = decoded.text, decoded.encoding, decoded.warnings
    del decoded  # keep one reference, so the copies below can free the original
    if text.startswith("\ufeff"):
        text = text[1:]
    text = normalize_newlines(text)
    if is_blank(text):
        raise empty_error(filename, "only whitespace")
    return finish(text, fmt=fmt, filename=filename, encoding=encoding, warnings=warnings)


def is_blank_bytes(data: bytes) -> bool:
    """True for 0 bytes or ASCII whitespace only (checked without decoding)."""
    return not data or data.isspace()
