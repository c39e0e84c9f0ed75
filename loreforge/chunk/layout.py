"""The Markdown block structure of one document: headings, fenced code blocks and tables, as offsets.

Fed by the splitter entry point (`split.py`) with the Markdown an ingest loader produced; read by the boundary
search (`boundaries.py`), the packer (`packer.py`) and the table of contents (`toc.py`). Only the lines that can
start a structure are looked at from Python (one regex finds them); ordinary text stays an implicit gap between
blocks, so a 100 MB document costs a few small objects per heading/table/code block, never per character.

Conventions (CommonMark/GFM, with two practical liberties):
- ATX headings `#`..`######` need a space or the line end after the marks; closing `#`s are dropped.
- Setext headings (`===` / `---` under a paragraph) are recognised when the paragraph is at most
  `SETEXT_MAX_LINES` lines and `SETEXT_MAX_CHARS` characters (a long paragraph above `---` is treated as text
  followed by a thematic break, which is what such documents mean in practice).
- Code fences may be indented by any amount (fences inside list items); a fence without its closing line runs
  to the end of the document, as in CommonMark. Nothing inside a fence is a heading or a table.
- A table is a header row holding `|`, a delimiter row (`|---|:--:|`, same number of cells) and the following
  non-blank lines that hold a `|`.
- A label is a paragraph made of one bold line (`**...**`, at most `SETEXT_MAX_CHARS`), which many documents
  (Chinese news and reports especially) use as a sub-heading. It is not in the TOC or heading paths; the
  splitters only avoid ending a chunk right after it and prefer cutting before it.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

HEADING = "heading"
CODE = "code"
TABLE = "table"
LABEL = "label"  # a paragraph that is one bold line ("**营收结构**"): a heading in all but syntax

SETEXT_MAX_LINES = 3
SETEXT_MAX_CHARS = 200

_H = r"[^\S\n]"
_STRUCTURE_LINE = re.compile(  # "\r" is tolerated at line ends (CRLF text that was not normalised)
    r"^(?:"
    r"(?P<fence>[ \t]*(?:`{3,}|~{3,}))"
    r"|(?P<atx> {0,3}#{1,6}(?:[ \t\r]|$))"
    r"|(?P<setext> {0,3}(?:=+|-+)[ \t\r]*$)"
    r"|(?P<delim>[ \t]*(?=[^\n]*\|)\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t\r]*$)"
    r"|(?P<label>[ \t]*\*\*[^\n]*\*\*[ \t\r]*$)"
    r")",
    re.M,
)
_TABLE_ROWS = re.compile(r"(?:\n[^\n]*\|[^\n]*)*")
_ATX_CLOSING = re.compile(r"(?:^|[ \t]+)#+[ \t]*$")
_NOT_SETEXT_TEXT = re.compile(r"[ \t]*(?:[-*+][ \t]|\d{1,9}[.)][ \t]|>|\|)|    ")
_closing_cache: dict[tuple[str, int], re.Pattern[str]] = {}


@dataclass(frozen=True, slots=True)
class Block:
    """One structural block. Offsets are into the document text."""

    kind: str  # HEADING | CODE | TABLE
    start: int  # first non-blank character of the block's first line
    end: int  # just after the block's last non-whitespace character
    prev_end: int  # just after the last non-whitespace character before the block (0 at the start)
    inner: int  # code: end of the opening fence line; table: end of the delimiter row; heading: == end
    body_end: int  # code: end of the last line before the closing fence; otherwise == end
    level: int = 0  # heading level (1 for "#")
    title: str = ""  # heading text

    def header(self, text: str) -> str:
        """The lines a continuation chunk repeats: the opening fence line or the table's two header rows."""
        return text[self.start : self.inner] + "\n"


@dataclass(frozen=True)
class Layout:
    """A document and its blocks, sorted by position and never overlapping."""

    text: str
    blocks: list[Block]
    starts: list[int]
    content_start: int  # first non-whitespace character (== content_end for a blank document)
    content_end: int  # just after the last non-whitespace character

    def index_before(self, pos: int) -> int:
        """Index of the last block starting at or before `pos` (-1 if none)."""
        return bisect_right(self.starts, pos) - 1

    def block_at(self, pos: int) -> Block | None:
        """The block whose span strictly contains `pos` (start < pos < end), if any."""
        i = self.index_before(pos)
        if i >= 0:
            block = self.blocks[i]
            if block.start < pos < block.end:
                return block
        return None

    def headings(self) -> list[Block]:
        return [b for b in self.blocks if b.kind == HEADING]


def rstrip_pos(text: str, pos: int, floor: int = 0) -> int:
    """Move `pos` back over whitespace, not below `floor`."""
    while pos > floor and text[pos - 1].isspace():
        pos -= 1
    return pos


def lstrip_pos(text: str, pos: int, ceiling: int) -> int:
    """Move `pos` forward over whitespace, not beyond `ceiling`."""
    while pos < ceiling and text[pos].isspace():
        pos += 1
    return pos


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def _indent(text: str, start: int, end: int) -> int:
    pos = start
    while pos < end and text[pos] in " \t":
        pos += 1
    return pos


def scan_layout(text: str, separator_lines: tuple[str, ...] = ()) -> Layout:
    """Find every heading, fenced code block and table of `text`.

    `separator_lines`: lines (stripped) that are never setext underlines (the custom strategy's separator).
    """
    n = len(text)
    content_end = rstrip_pos(text, n)
    content_start = lstrip_pos(text, 0, content_end)
    blocks: list[Block] = []
    floor = 0  # start of the first line not yet claimed by a block
    pos = 0
    while True:
        m = _STRUCTURE_LINE.search(text, pos)
        if m is None:
            break
        line_start = m.start()
        line_end = _line_end(text, line_start)
        kind = m.lastgroup
        found: tuple[Block, int] | None = None
        if kind == "fence":
            found = _code_block(text, line_start, line_end, content_end, floor)
        elif kind == "atx":
            found = _atx_heading(text, line_start, line_end, floor)
        elif kind == "setext" and text[line_start:line_end].strip() not in separator_lines:
            found = _setext_heading(text, line_start, line_end, floor)
        elif kind == "delim":
            found = _table(text, line_start, line_end, floor)
        elif kind == "label":
            found = _label(text, line_start, line_end, floor)
        if found is None:
            pos = line_end + 1
            continue
        block, next_line = found
        blocks.append(block)
        floor = pos = next_line
        if pos > n:
            break
    return Layout(text, blocks, [b.start for b in blocks], content_start, content_end)


def _prev_end(text: str, start: int) -> int:
    return rstrip_pos(text, start, 0)


def _code_block(text: str, line_start: int, line_end: int, content_end: int, floor: int) -> tuple[Block, int] | None:
    start = _indent(text, line_start, line_end)
    char = text[start]
    width = start
    while width < line_end and text[width] == char:
        width += 1
    fence_len = width - start
    if char == "`" and "`" in text[width:line_end]:
        return None  # inline code such as ```x```, not a fence
    inner = rstrip_pos(text, line_end, start)
    closing = _closing_cache.get((char, fence_len))
    if closing is None:
        closing = re.compile(rf"^[ \t]*{re.escape(char)}{{{fence_len},}}[ \t\r]*$", re.M)
        _closing_cache[(char, fence_len)] = closing
    close = closing.search(text, line_end + 1) if line_end < len(text) else None
    if close is None:
        end = body_end = max(content_end, inner)
        next_line = len(text) + 1
    else:
        end, next_line = rstrip_pos(text, close.end(), close.start()), close.end() + 1
        body_end = rstrip_pos(text, close.start(), inner)
    return Block(CODE, start, end, _prev_end(text, start), inner, body_end), next_line


def _atx_heading(text: str, line_start: int, line_end: int, floor: int) -> tuple[Block, int]:
    start = _indent(text, line_start, line_end)
    marks = start
    while marks < line_end and text[marks] == "#":
        marks += 1
    title = _ATX_CLOSING.sub("", text[marks:line_end].strip()).strip()
    end = rstrip_pos(text, line_end, start)
    block = Block(HEADING, start, end, _prev_end(text, start), end, end, level=marks - start, title=title)
    return block, line_end + 1


def _setext_heading(text: str, line_start: int, line_end: int, floor: int) -> tuple[Block, int] | None:
    """A `===`/`---` line closing a short paragraph that no block has claimed."""
    lines: list[tuple[int, int]] = []
    cursor = line_start
    while cursor > floor and len(lines) <= SETEXT_MAX_LINES:
        prev_start = text.rfind("\n", 0, cursor - 1) + 1
        if prev_start < floor or not text[prev_start : cursor - 1].strip():
            break
        lines.append((prev_start, cursor - 1))
        cursor = prev_start
    if not lines or len(lines) > SETEXT_MAX_LINES:
        return None
    lines.reverse()
    first_start, _ = lines[0]
    if _NOT_SETEXT_TEXT.match(text, first_start):
        return None
    title = " ".join(text[a:b].strip() for a, b in lines)
    if len(title) > SETEXT_MAX_CHARS:
        return None
    start = _indent(text, first_start, lines[0][1])
    end = rstrip_pos(text, line_end, line_start)
    level = 1 if text[_indent(text, line_start, line_end)] == "=" else 2
    block = Block(HEADING, start, end, _prev_end(text, start), end, end, level=level, title=title)
    return block, line_end + 1


def _cells(row: str) -> int:
    row = row.strip().replace("\\|", "")
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|"):
        row = row[:-1]
    return row.count("|") + 1


def _table(text: str, line_start: int, line_end: int, floor: int) -> tuple[Block, int] | None:
    if line_start == 0:
        return None
    header_start = text.rfind("\n", 0, line_start - 1) + 1
    header = text[header_start : line_start - 1]
    if header_start < floor or "|" not in header or not header.strip():
        return None
    if _cells(header) != _cells(text[line_start:line_end]):
        return None
    rows_end = _TABLE_ROWS.match(text, line_end).end()
    start = _indent(text, header_start, line_start)
    inner = rstrip_pos(text, line_end, line_start)
    end = rstrip_pos(text, rows_end, inner)
    return Block(TABLE, start, end, _prev_end(text, start), inner, end), rows_end + 1


def _label(text: str, line_start: int, line_end: int, floor: int) -> tuple[Block, int] | None:
    """A bold line standing alone between blank lines (or after a block / at the document edges)."""
    content = text[line_start:line_end].strip()
    if len(content) > SETEXT_MAX_CHARS or not content.strip("*").strip():
        return None
    if line_start > floor:
        prev_start = text.rfind("\n", 0, line_start - 1) + 1
        if text[prev_start : line_start - 1].strip():
            return None  # the last line of a paragraph
    next_end = _line_end(text, min(line_end + 1, len(text)))
    if text[line_end + 1 : next_end].strip():
        return None  # followed by more paragraph text (or a setext underline)
    start = _indent(text, line_start, line_end)
    end = rstrip_pos(text, line_end, start)
    return Block(LABEL, start, end, _prev_end(text, start), end, end, title=content.strip("*").strip()), line_end + 1
