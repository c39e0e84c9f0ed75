"""Table of contents and heading paths, from the headings `layout.py` found.

`extract_toc` is public (the service shows a document's outline); `HeadingTrail` gives each chunk the path of
headings in force at its start. Headings inside code fences are never headings (the layout skips fences).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from loreforge.chunk.layout import Block, Layout, scan_layout
from loreforge.records import TocEntry


@dataclass
class _Node:
    level: int
    title: str
    start: int
    children: list["_Node"] = field(default_factory=list)

    def freeze(self) -> TocEntry:
        return TocEntry(self.level, self.title, self.start, tuple(c.freeze() for c in self.children))


def toc_from_layout(layout: Layout) -> list[TocEntry]:
    """Nest the headings by level: a heading is a child of the closest earlier heading of a lower level."""
    roots: list[_Node] = []
    stack: list[_Node] = []
    for heading in layout.headings():
        node = _Node(heading.level, heading.title, heading.start)
        while stack and stack[-1].level >= node.level:
            stack.pop()
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)
    return [root.freeze() for root in roots]


def extract_toc(markdown: str) -> list[TocEntry]:
    """The headings tree of a Markdown document (ATX and setext headings), with character offsets."""
    return toc_from_layout(scan_layout(markdown))


class HeadingTrail:
    """Walks forward through a document and answers "which headings are in force at this offset?".

    Offsets passed to `path_at` must not decrease. A heading that starts exactly at the offset counts.
    """

    def __init__(self, layout: Layout) -> None:
        self._headings: list[Block] = layout.headings()
        self._next = 0
        self._stack: list[Block] = []
        self._path: tuple[str, ...] = ()

    def path_at(self, pos: int) -> tuple[str, ...]:
        changed = False
        while self._next < len(self._headings) and self._headings[self._next].start <= pos:
            heading = self._headings[self._next]
            while self._stack and self._stack[-1].level >= heading.level:
                self._stack.pop()
            self._stack.append(heading)
            self._next += 1
            changed = True
        if changed:
            self._path = tuple(h.title for h in self._stack)
        return self._path
