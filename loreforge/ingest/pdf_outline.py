"""PDF outline (bookmarks) → which page lines are headings (used by the PDF loader).

The outline is read with pypdf, with each entry's depth, page and vertical position. After all pages are laid
out, every entry is matched to one line with the same text (ignoring section numbering such as "1.2"): on its
own page, nearest its position, else on the page before or after (anchors often sit across a page break).
A table of contents repeats the titles, but on other pages, so it is not mistaken for the headings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loreforge.ingest.pdf_layout import Block

if TYPE_CHECKING:
    from pypdf import PdfReader

_NUMBERING = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[A-Z]\.|[IVXLC]+\.)\s+")
_MAX_ENTRIES = 10_000
_MAX_DEPTH = 32
_MAX_HEADING_CHARS = 300

Position = tuple[int, int, int]  # page, block, line


@dataclass(frozen=True, eq=False)
class OutlineEntry:
    """One outline entry: title, depth (1 = top), 0-based page and y of its destination, when known."""

    title: str
    level: int
    page: int | None
    y: float | None = None


def _keys(text: str) -> set[str]:
    plain = " ".join(text.split()).casefold()
    return {k for k in (plain, _NUMBERING.sub("", plain.strip())) if k}


def read_outline(reader: PdfReader) -> list[OutlineEntry]:
    """Outline entries in document order, from a pypdf reader."""
    entries: list[OutlineEntry] = []

    def walk(items: list[Any], depth: int) -> None:
        for item in items:
            if len(entries) >= _MAX_ENTRIES or depth > _MAX_DEPTH:
                return
            if isinstance(item, list):
                walk(item, depth + 1)
                continue
            title = " ".join(str(getattr(item, "title", "") or "").split())
            try:
                page = reader.get_destination_page_number(item)
            except Exception:  # noqa: BLE001 - a broken destination only costs this entry its page
                page = None
            top = getattr(item, "top", None)
            y = float(top) if isinstance(top, (int, float)) else None
            if title:
                entries.append(OutlineEntry(title, depth, page if page is not None and page >= 0 else None, y))

    walk(reader.outline, 1)
    return entries


def _index(pages: list[list[Block]]) -> dict[str, list[Position]]:
    index: dict[str, list[Position]] = {}
    for p, blocks in enumerate(pages):
        for b, block in enumerate(blocks):
            for i, line in enumerate(block.lines):
                if len(line.text) <= _MAX_HEADING_CHARS:
                    for key in _keys(line.text):
                        index.setdefault(key, []).append((p, b, i))
    return index


def _choose(entry: OutlineEntry, found: list[Position], pages: list[list[Block]], after: Position) -> Position | None:
    if entry.page is None:
        later = [pos for pos in found if pos > after]
        return later[0] if later else None
    for page in (entry.page, entry.page - 1, entry.page + 1):
        here = [pos for pos in found if pos[0] == page]
        if here:
            target = entry.y
            if target is None or page != entry.page:
                return here[-1] if page < entry.page else here[0]
            return min(here, key=lambda pos: abs(pages[pos[0]][pos[1]].lines[pos[2]].y - target))
    return None


def match_headings(pages: list[list[Block]], outline: list[OutlineEntry]) -> dict[Position, int]:
    """Map (page, block, line) → heading level for the lines that match outline entries."""
    if not outline:
        return {}
    index = _index(pages)
    used: dict[Position, int] = {}
    after: Position = (-1, -1, -1)
    for entry in outline:
        found = sorted({pos for key in _keys(entry.title) for pos in index.get(key, ()) if pos not in used})
        pos = _choose(entry, found, pages, after) if found else None
        if pos is not None:
            used[pos] = min(entry.level, 6)
            after = pos
    return used
