"""Loader for EPUB e-books.

The archive is checked by zipguard before ebooklib opens it; the spine gives the reading order, each XHTML
item goes through the HTML converter, and the title comes from the book's metadata. ebooklib is imported only
when an .epub is loaded.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from loreforge.errors import IngestError, LoreForgeError
from loreforge.ingest.document import finish
from loreforge.ingest.html import html_to_markdown
from loreforge.ingest.zipguard import check_zip
from loreforge.records import LoadedDocument
from loreforge.settings import IngestSettings

if TYPE_CHECKING:
    from ebooklib.epub import EpubBook

# Font obfuscation (IDPF, Adobe) also lives in META-INF/encryption.xml; anything else there is DRM.
_FONT_OBFUSCATION = {"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"}
_ALGORITHM = re.compile(rb'Algorithm\s*=\s*["\']([^"\']+)["\']')
_DAMAGED_HINT = "Open it in an e-book editor (e.g. Calibre or Sigil) and save it again, or upload the original file"


def _book_title(book: EpubBook) -> str | None:
    for value, _attrs in book.get_metadata("DC", "title") or []:
        text = " ".join(str(value or "").split())
        if text:
            return text
    return None


def _chapters(book: EpubBook, filename: str) -> tuple[list[str], list[str]]:
    """Markdown of each spine item in reading order, and warnings for items that are missing."""
    chapters: list[str] = []
    warnings: list[str] = []
    for idref, _linear in book.spine:
        item = book.get_item_with_id(idref)
        if item is None:
            warnings.append(f"the spine names an item '{idref}' that is not in the book; it was skipped")
            continue
        media = (getattr(item, "media_type", "") or "").lower()
        if "html" not in media and "xml" not in media:
            continue
        page = html_to_markdown(item.get_content(), filename)
        if page.markdown.strip():
            chapters.append(page.markdown.strip("\n"))
    return chapters, warnings


def _check_drm(path: Path, filename: str) -> None:
    """Refuse a DRM-protected book: its chapters are encrypted and would come out as noise."""
    with zipfile.ZipFile(path) as archive:
        if "META-INF/encryption.xml" not in archive.namelist():
            return
        algorithms = {m.decode("ascii", "replace") for m in _ALGORITHM.findall(archive.read("META-INF/encryption.xml"))}
    if algorithms - _FONT_OBFUSCATION:
        raise IngestError(
            filename,
            "is protected by DRM (its chapters are encrypted)",
            hint="Upload a DRM-free copy of the book (e.g. from the publisher), or export its text another way",
        )


def load_epub(path: Path, filename: str, limits: IngestSettings) -> LoadedDocument:
    """Load an .epub file."""
    check_zip(path, filename, limits, "EPUB")
    try:
        _check_drm(path, filename)
        from ebooklib import epub

        book = epub.read_epub(str(path), options={"ignore_ncx": True})
        chapters, warnings = _chapters(book, filename)
        title = _book_title(book)
    except LoreForgeError:
        raise
    except Exception as exc:  # noqa: BLE001 - ebooklib/lxml/zipfile raise many types; the user needs one message
        raise IngestError(
            filename, f"is damaged or truncated (it could not be read as an EPUB: {type(exc).__name__})",
            hint=_DAMAGED_HINT,
        ) from exc
    markdown = "\n\n".join(chapters) + "\n" if chapters else ""
    return finish(
        markdown,
        fmt="epub",
        filename=filename,
        title=title,
        warnings=warnings,
        meta={"chapters": len(chapters)},
        empty_detail="no text in its chapters",
    )
