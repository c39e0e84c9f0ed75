"""What every loader does last: tidy the Markdown, refuse empty documents, pick a title.

The format loaders (text, html, docx, pdf, epub) build Markdown their own way and then call `finish`, so the
rules for newlines, emptiness and titles are the same for all of them.
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any

from loreforge.errors import IngestError
from loreforge.records import LoadedDocument

# A fence line or an ATX heading line; `[^\n]*` keeps the scan linear on huge lines.
_HEADING_OR_FENCE = re.compile(r"^ {0,3}(?:(`{3,}|~{3,})|(#{1,6})[ \t]+(\S[^\n]*))", re.M)
_MAX_TITLE = 200


def small_int(raw: str | None, limit: int = 10_000) -> int | None:
    """A non-negative whole number written in a file's attribute (a heading level, a column span), or None when
    it is not one — '²' (a digit int() cannot read), '-1', 'x' — or is absurdly large (past `limit`)."""
    text = (raw or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > len(str(limit)):
        return None
    value = int(text)
    return value if value <= limit else None


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR become LF (str.replace returns the same object when there is nothing to do)."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def tidy_markdown(text: str) -> str:
    """Newlines normalised, trailing spaces dropped, runs of blank lines collapsed to one, ends stripped.

    Works line by line with str methods (no regex), so a huge line of spaces costs linear time.
    """
    out: list[str] = []
    for line in normalize_newlines(text).replace("\xa0", " ").split("\n"):
        line = line.rstrip()
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n" if out else ""


def first_heading(markdown: str) -> str | None:
    """The text of the first ATX heading outside fenced code, or None."""
    fence: str | None = None
    for match in _HEADING_OR_FENCE.finditer(markdown):
        marker = match.group(1)
        if marker:
            if fence is None:
                fence = marker[0]
            elif marker[0] == fence:
                fence = None
            continue
        if fence is None:
            title = re.sub(r"[ \t]+#+[ \t]*$", "", match.group(3)).strip().strip("#").strip()
            if title:
                return title[:_MAX_TITLE]
    return None


def is_blank(text: str) -> bool:
    return not text or text.isspace()


def empty_error(filename: str, detail: str = "") -> IngestError:
    return IngestError(
        filename,
        "is empty" + (f" ({detail})" if detail else ""),
        hint="Check that you uploaded the right file; a document needs some text to learn from",
    )


def finish(
    markdown: str,
    *,
    fmt: str,
    filename: str,
    title: str | None = None,
    pages: int | None = None,
    encoding: str | None = None,
    warnings: list[str] | tuple[str, ...] = (),
    meta: dict[str, Any] | None = None,
    empty_detail: str = "",
) -> LoadedDocument:
    """Build the LoadedDocument: NULs removed, refused when empty; title given, else first heading, else stem."""
    warnings = list(warnings)
    if "\x00" in markdown:  # PostgreSQL text cannot hold NUL, and no reader wants it
        markdown = markdown.replace("\x00", "")
        warnings.append("NUL characters were removed from the text")
    if is_blank(markdown):
        raise empty_error(filename, empty_detail)
    title = (title or "").strip()[:_MAX_TITLE] or first_heading(markdown) or PurePath(filename).stem or filename
    return LoadedDocument(
        markdown=markdown,
        format=fmt,
        title=title,
        pages=pages,
        encoding=encoding,
        warnings=tuple(dict.fromkeys(warnings)),
        meta=dict(meta or {}),
    )
