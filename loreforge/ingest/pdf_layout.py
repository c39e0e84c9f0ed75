"""One PDF page → blocks of text lines and tables in reading order (used by the PDF loader).

pdfminer's layout analysis (through pdfplumber) groups characters into text boxes and orders them, which
keeps columns and side notes apart. Ruled tables that pdfplumber finds are rendered as Markdown tables and
their characters are left out of the running text. Lone page numbers in the top or bottom margin are dropped.
Headings are not guessed here: pdf_outline marks the lines that match the document's outline.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING

from pdfminer.layout import LTChar, LTComponent, LTFigure, LTItem, LTTextBox, LTTextLine

from loreforge.ingest.tables import render_table

if TYPE_CHECKING:
    from pdfplumber.page import Page

_MIRROR = str.maketrans("()[]{}<>", ")(][}{><")
_DIGIT_RUNS = re.compile(r"\d+(?:[.,:]\d+)*|\D")
_PAGE_NUMBER = re.compile(r"^[-–—\s]*(?:\d{1,4}|[ivxlcdm]{1,6})[-–—\s]*$", re.I)
_MARGIN = 0.12  # top and bottom share of the page where a lone number is taken for a page number

BBox = tuple[float, float, float, float]  # pdfplumber's (x0, top, x1, bottom)


@dataclass
class Line:
    text: str
    y: float  # pdfminer's y1 (top edge, measured from the bottom), to compare with outline destinations


@dataclass
class Block:
    """A text box (lines) or a rendered table (markdown)."""

    lines: list[Line] = field(default_factory=list)
    table: str = ""
    edge: bool = False  # lies in the top or bottom margin, where running headers and footers live


def _bbox(page: Page, obj: LTComponent) -> BBox:
    """pdfminer coordinates → pdfplumber's (x0, top, x1, bottom), as pdfplumber converts its own objects."""
    mb_x0, mb_top = page.mediabox[0], page.mediabox[1]
    return (obj.x0 + mb_x0, page.height - obj.y1 + mb_top, obj.x1 + mb_x0, page.height - obj.y0 + mb_top)


def _inside(bbox: BBox, boxes: list[BBox]) -> bool:
    cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    return any(b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b in boxes)


def fix_rtl(line: LTTextLine, text: str) -> str:
    """A right-to-left line stored in visual order (left to right on the page) is put back in reading order."""
    dirs = [unicodedata.bidirectional(ch) for ch in text]
    if not any(d in ("R", "AL") for d in dirs) or "L" in dirs:
        return text
    xs = [ch.x0 for ch in line if isinstance(ch, LTChar) and ch.get_text().strip()]
    if sum(b > a for a, b in pairwise(xs)) <= len(xs) // 2:  # already in logical order
        return text
    return "".join(reversed(_DIGIT_RUNS.findall(text))).translate(_MIRROR)


def _box_lines(page: Page, box: LTTextBox, tables: list[BBox]) -> list[Line]:
    lines = []
    for line in box:
        if not isinstance(line, LTTextLine) or (tables and _inside(_bbox(page, line), tables)):
            continue
        text = " ".join(line.get_text().replace("\x00", "").split())
        if text:
            lines.append(Line(fix_rtl(line, text), line.y1))
    if len(lines) >= 3 and all(len(line.text) == 1 for line in lines):  # rotated or vertical text
        lines = [Line("".join(line.text for line in lines), lines[0].y)]
    return lines


def _in_margin(page: Page, box: LTTextBox) -> bool:
    _, top, _, bottom = _bbox(page, box)
    return bool(bottom < page.height * _MARGIN or top > page.height * (1 - _MARGIN))


def _text_boxes(container: Iterable[LTItem]) -> list[LTTextBox]:
    """Text boxes in the layout's reading order, including those inside figures (form XObjects)."""
    boxes: list[LTTextBox] = []
    for obj in container:
        if isinstance(obj, LTTextBox):
            boxes.append(obj)
        elif isinstance(obj, LTFigure):
            boxes.extend(_text_boxes(obj))
    return boxes


def _tables(page: Page) -> list[tuple[BBox, str]]:
    """Ruled tables with at least two rows and two columns holding text: (bbox, Markdown)."""
    found = []
    for table in page.find_tables():
        rows = table.extract()
        filled = sum(1 for row in rows for cell in row if cell and cell.strip())
        if len(rows) < 2 or max((len(r) for r in rows), default=0) < 2 or filled < 2:
            continue
        markdown = render_table(rows)
        if markdown:
            x0, top, x1, bottom = table.bbox
            found.append(((x0, top, x1, bottom), markdown))
    return found


def page_blocks(page: Page) -> list[Block]:
    """The page's text boxes in reading order, each table placed before the first box below it."""
    tables = _tables(page)
    table_boxes = [bbox for bbox, _ in tables]
    pending = sorted(tables, key=lambda t: t[0][1])
    blocks: list[Block] = []
    for box in _text_boxes(page.layout):
        x0, top, x1, _ = _bbox(page, box)
        for table in [t for t in pending if t[0][1] <= top and t[0][0] < x1 and x0 < t[0][2]]:
            blocks.append(Block(table=table[1]))
            pending.remove(table)
        lines = _box_lines(page, box, table_boxes)
        if not lines:
            continue
        edge = _in_margin(page, box)
        if not (edge and len(lines) == 1 and _PAGE_NUMBER.match(lines[0].text)):
            blocks.append(Block(lines=lines, edge=edge))
    blocks.extend(Block(table=markdown) for _, markdown in pending)
    return blocks


def _running_key(block: Block) -> str:
    return re.sub(r"\d+", "#", " ".join(line.text for line in block.lines)).casefold()


def drop_running_lines(pages: list[list[Block]]) -> int:
    """Remove headers and footers repeated in the margins of at least half the pages (3 or more); count them."""
    if len(pages) < 3:
        return 0
    seen: dict[str, int] = {}
    for blocks in pages:
        for key in {_running_key(b) for b in blocks if b.edge}:
            seen[key] = seen.get(key, 0) + 1
    running = {key for key, count in seen.items() if count >= max(3, len(pages) / 2)}
    removed = 0
    for blocks in pages:
        keep = [b for b in blocks if not (b.edge and _running_key(b) in running)]
        removed += len(blocks) - len(keep)
        blocks[:] = keep
    return removed


def dehyphenate(lines: list[str]) -> list[str]:
    """Join a word split across lines ("tem-" + "por invidunt" → "tempor" / "invidunt")."""
    out: list[str] = []
    for line in lines:
        prev = out[-1] if out else ""
        if len(prev) > 1 and prev.endswith("-") and prev[-2].islower() and line[:1].islower():
            first, _, rest = line.partition(" ")
            out[-1] = prev[:-1] + first
            if rest:
                out.append(rest)
        else:
            out.append(line)
    return out


def render_blocks(blocks: list[Block], headings: dict[tuple[int, int], int]) -> str:
    """Markdown for one page; `headings` maps (block index, line index) to a heading level."""
    out: list[str] = []
    for b, block in enumerate(blocks):
        if block.table:
            out.append(block.table)
            continue
        para: list[str] = []
        for i, line in enumerate(block.lines):
            level = headings.get((b, i))
            if level is None:
                para.append(line.text)
                continue
            if para:
                out.append("\n".join(dehyphenate(para)))
                para = []
            out.append("#" * level + " " + line.text)
        if para:
            out.append("\n".join(dehyphenate(para)))
    return "\n\n".join(out)
