"""Greedy packing: walk the document once, each time cutting at the best boundary the size window allows.

Fed by a strategy module (markdown.py, recursive.py, fixed.py, token.py, custom.py) with a `Plan`: a boundary
`Profile` (what a good cut is) and a `Sizing` (how long a chunk may be, counted in characters or tokens).
Produces raw `ChunkSpan`s; `merging.py` then joins short leftovers and sets heading paths.

Choosing each cut (`Packer._choose`):
1. the strongest candidate in the primary window (far policy: [min, target], the farthest; target policy:
   target ± tolerance, the nearest to the target; a target below min: [min, max], the nearest to min);
2. if that splits a sentence (strategies with a sentence rule): a sentence-or-better candidate anywhere in
   [min, max], nearest to the target, or the whole rest of the document if it fits;
3. if the primary window had nothing: any candidate in [min, max]; then the best one below min (a short
   chunk); as a last resort a character cut at max;
4. rescue: a cut inside a table row, a code line or a heading, or right after a heading, when that unit would
   fit in a chunk, moves elsewhere in [min, max], takes the rest, goes below min, or (rows, lines) ends after
   a heading instead;
5. balance (far policies): a final remainder shorter than min is avoided by an equally strong earlier cut;
6. the strategy's refine step (markdown: keep a section that fits whole).

Conventions:
- A chunk's text is `carried + document[start:end]`, stripped of surrounding whitespace (a chunk continuing a
  code block keeps the indentation of its first line).
- Continuation chunks of a table or code block longer than a chunk carry its header: the header row and the
  delimiter row (tables) or the opening fence line (code), each followed by "\\n". The fence is not closed at
  the end of a chunk that stops inside the block (CommonMark closes an unclosed fence at the end of the text).
  A header longer than half a chunk is not carried.
- Overlap: the next chunk starts up to `overlap` units before the previous chunk's end, at a line or sentence
  start if there is one, else at a word or clause start, else at a character; `ChunkSpan.overlap` is the number of
  characters it repeats, so `start + overlap == previous.end`. Overlap never starts inside a heading or inside
  a table/code block small enough to stay whole; it is dropped for a chunk it would leave no room in, or would
  force to end inside a table row or code line or right after a heading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Literal, NamedTuple

from loreforge.chunk.boundaries import (
    CHAR,
    CUSTOM,
    HEAD_CHAR,
    HEAD_WORD,
    INNER_CHAR,
    INNER_LINE,
    INNER_WORD,
    LAST,
    Cut,
    Finder,
    Profile,
    safe_char,
)
from loreforge.chunk.layout import CODE, TABLE, Block, Layout, lstrip_pos, rstrip_pos
from loreforge.chunk.measure import CharMeasure, Measure
from loreforge.records import ChunkSpan

_CLOSERS = "”’\"'』」）)\\]"
_LINE_OR_SENTENCE_START = re.compile(
    rf"(?:(?<=\n)|[。！？；]+[{_CLOSERS}]*|(?<=\S)[.!?]+[{_CLOSERS}]*(?=\s))\s*(?=\S)"
)
_WORD_OR_CLAUSE_START = re.compile(r"(?:(?<=\s)|(?<=[，、：,;:]))(?=\S)")


@dataclass(frozen=True)
class Sizing:
    """Size rules for one split. Lengths are characters; `target` and `overlap` are in `measure` units."""

    min_len: int
    max_len: int
    target: int
    policy: Literal["far", "target"] = "far"
    tolerance: int = 0  # target policy: characters either side of the target searched first
    sentence_floor: int | None = None  # a cut weaker than this splits a sentence: look in [min, max] first
    overlap: int = 0
    balance: bool = True
    measure: Measure = field(default_factory=CharMeasure)
    token_units: bool = False  # True when `measure` counts tokens (blocks over `target` tokens are split)

    def too_big(self, text: str, block: Block) -> bool:
        """Whether a table/code block cannot stay whole in one chunk."""
        if block.end - block.start > self.max_len:
            return True
        return self.token_units and self.measure.count(text[block.start : block.end]) > self.target


class Window(NamedTuple):
    """Offsets bounding the next cut. `s` is where the chunk's new text starts, `a` where its span starts."""

    s: int
    a: int
    lo: int  # the chunk reaches min_length here
    hi: int  # primary upper bound (target)
    target: int
    cap: int  # max_length reached here


Refine = Callable[[Finder, Window, Cut], Cut]


@dataclass(frozen=True)
class Plan:
    """Everything a strategy decides: boundary preferences, sizes, an optional final say, warnings."""

    profile: Profile
    sizing: Sizing
    refine: Callable[[Sizing], Refine] | None = None
    warnings: tuple[str, ...] = ()
    separator_lines: tuple[str, ...] = ()  # lines that are separators here, never setext heading underlines


class Packer:
    """Cuts one laid-out document into raw chunks (no heading paths yet, no merging)."""

    def __init__(self, layout: Layout, plan: Plan) -> None:
        self.layout = layout
        self.text = layout.text
        self.sizing = sizing = plan.sizing
        self._big: dict[int, bool] = {}
        self.finder = Finder(layout, plan.profile, self._is_big)
        self.refine = plan.refine(sizing) if plan.refine is not None else None

    def _is_big(self, block: Block) -> bool:
        big = self._big.get(block.start)
        if big is None:
            big = self._big[block.start] = self.sizing.too_big(self.text, block)
        return big

    def run(self) -> list[ChunkSpan]:
        end = self.layout.content_end
        chunks: list[ChunkSpan] = []
        prev: ChunkSpan | None = None
        s = a = self.layout.content_start
        while s < end:
            pos, a, carried = self._next_cut(s, a)
            chunk = self._chunk(a, end if pos is None else pos, carried, prev)
            chunks.append(chunk)
            if pos is None or chunk.end >= end:
                break
            prev = chunk
            s = self._next_start(chunk.end)
            a = self._overlap_start(prev, s) if self.sizing.overlap > 0 else s
        return chunks

    # -- one cut ----------------------------------------------------------------------------------
    def _next_cut(self, s: int, a: int) -> tuple[int | None, int, str]:
        """(cut offset or None for "take the rest", span start, carried header)."""
        end = self.layout.content_end
        for start in (a, s) if a < s else (s,):
            carried = self._carried(start)
            window = self._window(s, start, carried)
            if window is None:
                continue
            if window.hi >= end:
                near = self._near_cut(window)
                return (None if near is None else near.pos), start, carried
            cut = self._choose(window)
            if cut is not None and (start == s or cut.strength >= CHAR):
                return cut.pos, start, carried
        carried = self._carried(s)
        cap = min(s + max(self.sizing.max_len - len(carried), 1), end)
        first = lstrip_pos(self.text, s, end)
        return (None if cap >= end else max(safe_char(self.text, cap, first), first + 1)), s, carried

    def _window(self, s: int, a: int, carried: str) -> Window | None:
        z = self.sizing
        k = len(carried)
        cap = a + z.max_len - k
        first = lstrip_pos(self.text, s, self.layout.content_end)
        if cap <= first:
            return None
        budget = z.target - (z.measure.count(carried) if carried else 0)
        target = z.measure.limit(self.text, a, budget, cap)
        hi = target if z.policy == "far" else min(cap, target + z.tolerance)
        lo = min(max(a + z.min_len - k, first + 1), cap)
        return Window(first, a, lo, max(hi, lo), target, cap)

    def _near_cut(self, w: Window) -> Cut | None:
        """When the rest would fit: a separator the strategy always cuts at (custom), if there is one."""
        near = self.finder.profile.near
        if not near:
            return None
        return self.finder.best(w.lo, self.layout.content_end - 1, "near", min_strength=min(near))

    def _choose(self, w: Window) -> Cut | None:
        f, z = self.finder, self.sizing
        if w.target < w.lo < w.cap:  # the target is below min_length (tokens vs characters): min wins
            cut = f.best(w.lo, w.cap, "target", w.lo)
        elif z.policy == "far":
            cut = f.best(w.lo, w.hi, "far")
        else:
            cut = f.best(max(w.lo, w.target - z.tolerance), w.hi, "target", w.target)
        if z.sentence_floor is not None and (cut is None or cut.strength < z.sentence_floor):
            cut = f.best(w.lo, w.cap, "target", w.target, min_strength=z.sentence_floor) or cut
            if (cut is None or cut.strength < z.sentence_floor) and self.layout.content_end <= w.cap:
                return Cut(self.layout.content_end, CUSTOM)  # the rest fits: take it rather than split a sentence
        if cut is None:  # the primary window may start above lo (target policy) or end below cap
            cut = f.best(w.lo, w.cap, "far" if z.policy == "far" else "target", w.target)
        if cut is None and w.lo > w.s + 1:
            cut = f.best(w.s + 1, w.lo - 1, "far")
        if cut is None:
            return None
        cut = self._rescue(w, cut)
        if z.balance and z.policy == "far" and cut.strength not in f.profile.near:
            cut = self._balance(w, cut)
        return self.refine(f, w, cut) if self.refine is not None else cut

    def _rescue(self, w: Window, cut: Cut) -> Cut:
        """A cut inside a table row, code line or heading, or right after a heading, when the unit would fit in
        a chunk: rather move within [min, max] (past the target if need be), stop short of min_length, or (for
        a row or line) end after a heading."""
        if cut.strength >= CHAR:
            return cut
        in_structure = cut.strength in (INNER_WORD, INNER_CHAR)
        if in_structure and not self._line_fits(cut.pos):
            return cut
        if cut.strength in (HEAD_WORD, HEAD_CHAR) and not self._heading_fits(cut.pos):
            return cut
        f = self.finder
        floor = INNER_LINE if in_structure else CHAR
        inside = f.best(w.lo, w.cap, "target", cut.pos, min_strength=floor)
        if inside is None and not in_structure:  # a heading before a table row / code line too long anyway
            inside = f.best(w.lo, w.cap, "target", cut.pos, min_strength=INNER_CHAR)
            inside = None if inside is None or self._line_fits(inside.pos) else inside
        if inside is not None:
            return inside
        if self.layout.content_end <= w.cap:
            return Cut(self.layout.content_end, CUSTOM)  # the rest fits: take it
        if w.lo > w.s + 1:
            below = f.best(w.s + 1, w.lo - 1, "far", min_strength=INNER_LINE)
            if below is not None:
                return below
        if cut.strength == LAST:
            return cut
        return f.best(w.s + 1, cut.pos - 1, "far", min_strength=LAST, max_strength=LAST) or cut

    def _heading_fits(self, pos: int) -> bool:
        block = self.layout.block_at(pos)
        return block is not None and block.end - block.start <= self.sizing.max_len

    def _line_fits(self, pos: int) -> bool:
        text = self.text
        start = text.rfind("\n", 0, pos) + 1
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        block = self.layout.block_at(pos)
        header = block.header(text) if block is not None and block.kind in (CODE, TABLE) else ""
        header = header if self._carriable(header) else ""
        line = text[lstrip_pos(text, start, end) : rstrip_pos(text, end, start)]
        z = self.sizing
        if len(line) + len(header) > z.max_len:
            return False
        return not z.token_units or z.measure.count(header + line) <= z.target

    def _balance(self, w: Window, cut: Cut) -> Cut:
        """Avoid a final remainder shorter than min_length when an equally good earlier cut exists."""
        end = self.layout.content_end
        remainder = end - cut.pos
        if remainder >= self.sizing.min_len:
            return cut
        hi = min(w.hi, end - self.sizing.min_len)
        if hi < w.lo:
            return cut
        return self.finder.best(w.lo, hi, "far", min_strength=cut.strength) or cut

    # -- chunk assembly -------------------------------------------------------------------------
    def _carried(self, a: int) -> str:
        block = self.layout.block_at(a)
        if block is None or block.kind not in (CODE, TABLE) or a <= block.inner or not self._is_big(block):
            return ""
        header = block.header(self.text)
        return header if self._carriable(header) else ""

    def _carriable(self, header: str) -> bool:
        """A header is repeated only if it takes at most half of a chunk (in characters and in units)."""
        z = self.sizing
        if 2 * len(header) > z.max_len:
            return False
        return not z.token_units or 2 * z.measure.count(header) <= z.target

    def _chunk(self, a: int, pos: int, carried: str, prev: ChunkSpan | None) -> ChunkSpan:
        end = rstrip_pos(self.text, pos, a)
        overlap = prev.end - a if prev is not None and a < prev.end else 0
        return ChunkSpan(carried + self.text[a:end], a, end, (), overlap, carried)

    def _next_start(self, pos: int) -> int:
        """First non-whitespace offset after a cut (a line start inside a split code block: keep indents)."""
        s = lstrip_pos(self.text, pos, self.layout.content_end)
        block = self.layout.block_at(s)
        if block is not None and block.kind == CODE and s > block.inner:
            newline = self.text.rfind("\n", pos, s)
            if newline >= 0 and self._is_big(block):
                return newline + 1
        return s

    def _overlap_start(self, prev: ChunkSpan, s: int) -> int:
        """Where the next chunk's span starts so that it repeats the end of `prev` (or `s` for none)."""
        end = prev.end
        floor = prev.start + 1
        if floor >= end:
            return s
        p0 = max(self.sizing.measure.tail(self.text, end, self.sizing.overlap, prev.start), floor)
        for rx in (_LINE_OR_SENTENCE_START, _WORD_OR_CLAUSE_START):
            for m in rx.finditer(self.text, max(floor, p0 - 8), end):
                q = m.end()
                if q >= end:
                    break
                if q >= p0 and self._overlap_ok(q):
                    return q
        q = lstrip_pos(self.text, safe_char(self.text, p0, floor - 1), end)
        return q if q < end and self._overlap_ok(q) else s

    def _overlap_ok(self, q: int) -> bool:
        block = self.layout.block_at(q)
        return block is None or (block.kind in (CODE, TABLE) and self._is_big(block))


def pack(layout: Layout, plan: Plan) -> list[ChunkSpan]:
    """Raw chunks of a document (`merging.merge_short` and `merging.with_heading_paths` finish them)."""
    return Packer(layout, plan).run()
