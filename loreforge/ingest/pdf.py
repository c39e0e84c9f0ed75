"""Loader for PDF files.

pypdf opens the file first: it tells a damaged file from an encrypted one (the empty user password is tried),
and reads the outline (bookmarks) with each entry's page. pdfplumber then lays out each page (see pdf_layout):
text in reading order, ruled tables as Markdown tables, outline titles as headings. Pages are joined with a
blank line and meta["page_offsets"] holds where each page starts in the Markdown. A PDF whose pages carry no
text at all is a scan, and is refused with a pointer to OCR rather than loaded as an empty document.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from loreforge.errors import IngestError
from loreforge.ingest.document import finish, first_heading
from loreforge.ingest.pdf_layout import Block, drop_running_lines, page_blocks, render_blocks
from loreforge.ingest.pdf_outline import OutlineEntry, match_headings, read_outline
from loreforge.records import LoadedDocument

log = logging.getLogger(__name__)

LAYOUT_PARAMS: dict[str, Any] = {"all_texts": True}  # lay out text inside form XObjects too
_PLACEHOLDER_TITLE = re.compile(
    r"\.(pdf|docx?|rtf|odt|tex|dvi|ps|indd|pptx?|xlsx?|txt)$|^(microsoft \w+ - |untitled)", re.I
)
_DAMAGED_HINT = "Open it in a PDF viewer and save or print it to a new PDF, or upload the original file"


def _damaged(filename: str, detail: str = "") -> IngestError:
    return IngestError(filename, "is damaged or truncated" + (f" ({detail})" if detail else ""), hint=_DAMAGED_HINT)


def _open_reader(path: Path, filename: str) -> tuple[Any, list[str]]:
    """A pypdf reader, decrypted with the empty password when needed; IngestError if that is not enough."""
    import pypdf

    try:
        reader = pypdf.PdfReader(path)
        encrypted = reader.is_encrypted
        if encrypted and not reader.decrypt(""):
            raise IngestError(
                filename,
                "is encrypted: needs a password",
                hint="Remove the password first (e.g. `qpdf --decrypt --password=PASSWORD in.pdf out.pdf`, "
                "or print it to a new PDF) and upload the decrypted file",
            )
        len(reader.pages)
    except IngestError:
        raise
    except pypdf.errors.DependencyError as exc:
        raise IngestError(filename, f"uses encryption this installation cannot open ({exc})",
                          hint="Install the `cryptography` package, or decrypt the file first") from exc
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types for broken files
        raise _damaged(filename, f"{type(exc).__name__}: {exc}"[:200]) from exc
    warnings = ["the PDF is encrypted with an empty password; it was opened without one"] if encrypted else []
    return reader, warnings


def _reader_facts(path: Path, filename: str) -> tuple[int, list[OutlineEntry], str | None, list[str]]:
    """Page count, outline, metadata title and warnings, read with pypdf."""
    reader, warnings = _open_reader(path, filename)
    try:
        outline = read_outline(reader)
    except Exception as exc:  # noqa: BLE001 - a broken outline should not stop the text
        log.debug("outline of %s unreadable: %r", filename, exc)
        outline = []
        warnings.append("the PDF's outline (bookmarks) could not be read; no headings were added")
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # noqa: BLE001 - metadata is optional
        title = None
    return len(reader.pages), outline, _useful_title(title), warnings


def _useful_title(title: object) -> str | None:
    """The metadata title, unless it is a tool's placeholder such as "Binder1.pdf" or "Microsoft Word - x.doc"."""
    text = " ".join(str(title or "").split())
    if not text or _PLACEHOLDER_TITLE.search(text):
        return None
    return text


def _pages(path: Path, filename: str) -> tuple[list[list[Block]], list[int]]:
    """Laid-out blocks of every page and the 1-based numbers of pages that could not be read."""
    import pdfplumber

    pages: list[list[Block]] = []
    failed: list[int] = []
    try:
        pdf = pdfplumber.open(path, laparams=LAYOUT_PARAMS, password="")
    except Exception as exc:  # noqa: BLE001 - pdfminer raises many types for broken files
        raise _damaged(filename, f"{type(exc).__name__}: {exc}"[:200]) from exc
    with pdf:
        for number, page in enumerate(pdf.pages):
            try:
                pages.append(page_blocks(page))
            except Exception as exc:  # noqa: BLE001 - one bad page should not lose the others
                log.debug("page %d of %s unreadable: %r", number + 1, filename, exc)
                pages.append([])
                failed.append(number + 1)
            finally:
                page.close()
    return pages, failed


def _join_pages(texts: list[str]) -> tuple[str, list[int]]:
    """Pages joined by a blank line, and the offset where each page starts (an empty page: where the next would)."""
    parts: list[str] = []
    offsets: list[int] = []
    pos = 0
    for text in texts:
        if text and parts:
            pos += 2
        offsets.append(pos)
        if text:
            parts.append(text)
            pos += len(text)
    return "\n\n".join(parts) + "\n" if parts else "", offsets


def _page_list(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:20])
    return shown + (f" and {len(numbers) - 20} more" if len(numbers) > 20 else "")


def load_pdf(path: Path, filename: str) -> LoadedDocument:
    """Load a .pdf file."""
    page_count, outline, meta_title, warnings = _reader_facts(path, filename)
    if page_count == 0:
        raise IngestError(filename, "is empty (the PDF has no pages)", hint="Upload the PDF that holds the document")
    pages, failed = _pages(path, filename)
    if len(failed) == len(pages):
        raise _damaged(filename, "no page could be read")
    blank = [i + 1 for i, blocks in enumerate(pages) if not blocks and i + 1 not in failed]
    if len(blank) + len(failed) == len(pages):
        raise IngestError(
            filename,
            "has no text layer — it is a scanned image; it needs OCR or a vision model",
            hint="Convert it with a vision model or MinerU: `loreforge pdf convert PROJECT FILE --strategy vision` (or "
            "mineru-api / mineru-local), or run it through OCR first (e.g. `ocrmypdf in.pdf out.pdf`) and ingest the result",
        )
    if failed:
        warnings.append(f"page(s) {_page_list(failed)} could not be read and are missing")
    if blank:
        warnings.append(f"page(s) {_page_list(blank)} have no text layer (scanned or images only) and are missing")
    running = drop_running_lines(pages)
    headings = match_headings(pages, outline)
    if len(headings) < len(outline):
        warnings.append(f"{len(outline) - len(headings)} of {len(outline)} outline entries were not found in the text")
    by_page: dict[int, dict[tuple[int, int], int]] = {}
    for (p, b, i), level in headings.items():
        by_page.setdefault(p, {})[(b, i)] = level
    texts = [render_blocks(blocks, by_page.get(n, {})) for n, blocks in enumerate(pages)]
    del pages
    markdown, offsets = _join_pages(texts)
    return finish(
        markdown,
        fmt="pdf",
        filename=filename,
        title=first_heading(markdown) or meta_title,
        pages=len(texts),
        warnings=warnings,
        meta={"page_offsets": offsets, "outline_entries": len(outline), "headings_from_outline": len(headings),
              "running_lines_removed": running},
    )
