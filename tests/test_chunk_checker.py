"""The shared invariant checker for every split strategy, the generated-document grammar, and tests that the
checker itself catches broken splits.

`check_split(doc, result, settings, truth)` asserts the invariants of the chunk stage (see the brief of
`loreforge.chunk`): nothing lost, exact offsets, order/overlap, sizes, short chunks only when unmergeable,
heading paths, code/table integrity with carried headers, headings kept with their bodies, sentences kept
whole when a boundary was within the limits. `truth` is the structure a generator knows it wrote; for real
documents it is derived from the layout scanner.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import pytest
from hypothesis import strategies as st

from loreforge.chunk import SplitResult, split_text
from loreforge.chunk.layout import CODE, HEADING, LABEL, TABLE, scan_layout
from loreforge.chunk.token import EstimatedTokens
from loreforge.records import ChunkSpan
from loreforge.settings import SplitSettings

_WS = re.compile(r"\s+")
_CJK_ENDERS = "。！？；"
_CLOSERS = "”’\"'』」）)]"


@dataclass(frozen=True)
class Span:
    kind: str  # heading | code | table | label
    start: int
    end: int
    header_end: int = 0  # code: end of the fence line; table: end of the delimiter row
    level: int = 0
    title: str = ""


@dataclass
class Truth:
    spans: list[Span] = field(default_factory=list)

    def headings(self) -> list[Span]:
        return [s for s in self.spans if s.kind == HEADING]

    def containing(self, pos: int) -> Span | None:
        for s in self.spans:
            if s.start < pos < s.end:
                return s
        return None


def truth_from_layout(doc: str, settings: SplitSettings | None = None) -> Truth:
    custom = settings is not None and settings.strategy == "custom" and settings.custom_separator.strip()
    layout = scan_layout(doc, (settings.custom_separator.strip(),) if custom else ())  # type: ignore[union-attr]
    return Truth([Span(b.kind, b.start, b.end, b.inner, b.level, b.title) for b in layout.blocks])


# -- generated documents ------------------------------------------------------------------------------
EN_WORDS = (
    "revenue growth quarter profit margin cloud user platform market design model data report "
    "service value rate network retail ads video games pay search"
).split()
CJK_CHARS = "营收增长季度利润平台用户业务广告游戏市场电商云计算数据模型服务价值网络视频支付搜索科技公司发布财报同比"


@dataclass
class DocBuilder:
    parts: list[str] = field(default_factory=list)
    truth: Truth = field(default_factory=Truth)
    size: int = 0

    def add(self, text: str) -> int:
        start = self.size
        self.parts.append(text)
        self.size += len(text)
        return start

    def text(self) -> str:
        return "".join(self.parts)


def _en_sentence(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(EN_WORDS), min_size=2, max_size=14))
    return " ".join(words).capitalize() + draw(st.sampled_from([".", "!", "?", ".", "."]))


def _cjk_sentence(draw: st.DrawFn) -> str:
    n = draw(st.integers(3, 40))
    seed = draw(st.integers(0, len(CJK_CHARS) - 1))
    body = "".join(CJK_CHARS[(seed + i * 7) % len(CJK_CHARS)] for i in range(n))
    if n > 12 and draw(st.booleans()):
        body = body[:6] + "，" + body[6:]
    return body + draw(st.sampled_from(list(_CJK_ENDERS)))


def _paragraph(draw: st.DrawFn) -> str:
    style = draw(st.sampled_from(["en", "cjk", "mixed"]))
    out = []
    for _ in range(draw(st.integers(1, 8))):
        cjk = style == "cjk" or (style == "mixed" and draw(st.booleans()))
        sentence = _cjk_sentence(draw) if cjk else _en_sentence(draw)
        out.append(sentence if cjk else sentence + " ")
        if draw(st.integers(0, 9)) == 0:
            out.append("\n")
        elif draw(st.integers(0, 19)) == 0:
            out.append(" " * draw(st.integers(2, 300)))
    return "".join(out).strip()


def _title(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return " ".join(draw(st.lists(st.sampled_from(EN_WORDS), min_size=1, max_size=4))).title()
    return "".join(draw(st.lists(st.sampled_from(CJK_CHARS), min_size=2, max_size=10)))


def _add_heading(draw: st.DrawFn, b: DocBuilder, separator: str | None) -> None:
    level = draw(st.integers(1, 4))
    title = _title(draw)
    if level <= 2 and draw(st.integers(0, 3)) == 0:
        underline = ("=" if level == 1 else "-") * draw(st.integers(3, 8))
        if separator is not None and underline == separator.strip():
            underline += underline[0]  # a line holding only the custom separator is a separator
        line = title + "\n" + underline
    else:
        line = "#" * level + " " + title
    start = b.add(line)
    b.truth.spans.append(Span(HEADING, start, b.size, level=level, title=title))


def _add_label(draw: st.DrawFn, b: DocBuilder) -> None:
    title = _title(draw)
    start = b.add("**" + title + "**")
    b.truth.spans.append(Span(LABEL, start, b.size, title=title))


def _add_table(draw: st.DrawFn, b: DocBuilder) -> None:
    cols = draw(st.integers(1, 4))
    cell = st.one_of(st.sampled_from(EN_WORDS), st.text(alphabet=CJK_CHARS, min_size=1, max_size=12))
    header = "| " + " | ".join(draw(cell) for _ in range(cols)) + " |"
    delim = "|" + "|".join(" --- " for _ in range(cols)) + "|"
    rows = []
    for _ in range(draw(st.integers(1, 40))):
        cells = [draw(cell) * draw(st.sampled_from([1, 1, 1, 3, 20])) for _ in range(cols)]
        rows.append("| " + " | ".join(cells) + " |")
    start = b.add(header + "\n" + delim)
    header_end = b.size
    b.add("\n" + "\n".join(rows))
    b.truth.spans.append(Span(TABLE, start, b.size, header_end=header_end))


def _add_code(draw: st.DrawFn, b: DocBuilder) -> None:
    fence = draw(st.sampled_from(["```", "```python", "~~~", "````text"]))
    close = fence[0] * (len(fence) - len(fence.lstrip(fence[0])))
    lines = []
    for i in range(draw(st.integers(1, 60))):
        kind = draw(st.integers(0, 5))
        if kind == 0:
            lines.append("# not a heading " + str(i))
        elif kind == 1:
            lines.append("    value = compute(x, y)  # 计算。")
        elif kind == 2:
            lines.append("")
        else:
            lines.append(f"x{i} = {i} * " + "y" * draw(st.sampled_from([1, 5, 40])))
    start = b.add(fence)
    header_end = b.size
    b.add("\n" + "\n".join(lines) + "\n" + close)
    b.truth.spans.append(Span(CODE, start, b.size, header_end=header_end))


def _add_long_line(draw: st.DrawFn, b: DocBuilder) -> None:
    n = draw(st.integers(200, 5000))
    kind = draw(st.sampled_from(["x", "cjk", "url", "words"]))
    if kind == "x":
        b.add("x" * n)
    elif kind == "cjk":
        b.add((CJK_CHARS * (n // len(CJK_CHARS) + 1))[:n])
    elif kind == "url":
        b.add("https://example.com/" + "a" * n)
    else:
        b.add(" ".join(EN_WORDS[i % len(EN_WORDS)] for i in range(n // 6)))


@st.composite
def documents(draw: st.DrawFn, custom_separator: str | None = None) -> tuple[str, Truth]:
    b = DocBuilder()
    kinds = ["heading", "para", "para", "para", "list", "table", "code", "long", "label"]
    if custom_separator:
        kinds += ["sep", "sep"]
    for i in range(draw(st.integers(0, 30))):
        if i:
            b.add(draw(st.sampled_from(["\n\n", "\n\n", "\n\n\n", "\n\n   \n", "\n\n" + " " * 40 + "\n\n"])))
        kind = draw(st.sampled_from(kinds))
        if kind == "heading":
            _add_heading(draw, b, custom_separator)
        elif kind == "para":
            b.add(_paragraph(draw))
        elif kind == "list":
            b.add("\n".join("- " + _paragraph(draw).replace("\n", " ") for _ in range(draw(st.integers(1, 6)))))
        elif kind == "table":
            _add_table(draw, b)
        elif kind == "code":
            _add_code(draw, b)
        elif kind == "long":
            _add_long_line(draw, b)
        elif kind == "label":
            _add_label(draw, b)
        else:
            b.add(custom_separator or "")
    return b.text(), b.truth


@st.composite
def split_settings(draw: st.DrawFn, strategy: str, **fixed: object) -> SplitSettings:
    max_len = draw(st.integers(100, 2000))
    min_len = draw(st.integers(0, min(400, max_len)))
    chunk_size = draw(st.integers(10, 2500))
    overlap = draw(st.sampled_from([0, 0, draw(st.integers(0, min(chunk_size - 1, 400)))]))
    values: dict[str, object] = dict(
        strategy=strategy, min_length=min_len, max_length=max_len, chunk_size=chunk_size, overlap=overlap
    )
    values.update(fixed)
    return SplitSettings(**values)


# -- the checker ----------------------------------------------------------------------------------------
def _squash(text: str) -> str:
    return _WS.sub("", text)


def _big_spans(doc: str, truth: Truth, settings: SplitSettings, measure: object | None) -> set[Span]:
    big = set()
    for s in truth.spans:
        if s.kind not in (CODE, TABLE):
            continue
        size = s.end - s.start
        if size > settings.max_length:
            big.add(s)
        elif settings.strategy == "token" and measure is not None:
            if measure.count(doc[s.start : s.end]) > settings.chunk_size:  # type: ignore[attr-defined]
                big.add(s)
    return big


def check_split(
    doc: str,
    result: SplitResult,
    settings: SplitSettings,
    truth: Truth | None = None,
    measure: object | None = None,
) -> None:
    """Assert every invariant of a split. `measure` is the token measure used (token strategy only)."""
    chunks = result.chunks
    truth = truth if truth is not None else truth_from_layout(doc, settings)
    if settings.strategy == "token" and measure is None:
        measure = EstimatedTokens()
    if not doc.strip():
        assert chunks == []
        return
    assert chunks, "a document with text gives at least one chunk"
    _check_offsets_and_coverage(doc, chunks, settings)
    _check_sizes(chunks, settings)
    _check_heading_paths(chunks, truth)
    big = _big_spans(doc, truth, settings, measure)
    _check_blocks(doc, chunks, settings, truth, big, measure)
    _check_heading_ends(doc, chunks, settings, truth, big, measure)
    if settings.strategy != "token":
        _check_sentences(doc, chunks, settings, truth)


def _check_offsets_and_coverage(doc: str, chunks: list[ChunkSpan], settings: SplitSettings) -> None:
    own_parts = []
    prev: ChunkSpan | None = None
    for c in chunks:
        assert c.text.startswith(c.carried), "text starts with carried"
        assert doc[c.start : c.end] == c.text[len(c.carried) :], "offsets must be exact"
        assert c.size == len(c.text), "size is the text length"
        assert c.text.strip(), "no empty or whitespace-only chunk"
        assert not doc[c.end - 1].isspace(), "chunks end on text"
        assert 0 <= c.overlap < c.end - c.start, "overlap within the span"
        if settings.strategy in ("markdown", "custom"):
            assert c.overlap == 0, "no overlap for section strategies"
        if prev is None:
            assert c.overlap == 0 and not doc[: c.start].strip(), "the first chunk starts at the text"
        else:
            assert c.start > prev.start, "chunks are ordered by start"
            if c.overlap:
                assert c.start + c.overlap == prev.end, "overlap ends where the previous chunk ends"
            else:
                assert c.start >= prev.end and not doc[prev.end : c.start].strip(), "only whitespace between"
        own = c.text[len(c.carried) :][c.overlap :]
        assert own.strip(), "every chunk brings new text"
        own_parts.append(own)
        prev = c
    assert not doc[chunks[-1].end :].strip(), "the last chunk reaches the end of the text"
    assert _squash("".join(own_parts)) == _squash(doc), "nothing lost, nothing repeated, in order"


def _check_sizes(chunks: list[ChunkSpan], settings: SplitSettings) -> None:
    lo, hi = settings.min_length, settings.max_length
    for i, c in enumerate(chunks):
        assert len(c.text) <= hi, f"chunk {i} has {len(c.text)} > max {hi} characters"
        if len(c.text) >= lo or len(chunks) == 1:
            continue
        if i > 0:
            p = chunks[i - 1]
            assert len(p.carried) + c.end - p.start > hi, f"short chunk {i} could merge with the previous one"
        if i + 1 < len(chunks):
            n = chunks[i + 1]
            assert len(c.carried) + n.end - c.start > hi, f"short chunk {i} could merge with the next one"


def _path_at(headings: list[Span], pos: int) -> tuple[str, ...]:
    stack: list[Span] = []
    for h in headings:
        if h.start > pos:
            break
        while stack and stack[-1].level >= h.level:
            stack.pop()
        stack.append(h)
    return tuple(h.title for h in stack)


def _check_heading_paths(chunks: list[ChunkSpan], truth: Truth) -> None:
    headings = truth.headings()
    for c in chunks:
        expected = _path_at(headings, c.start)
        assert c.heading_path == expected, f"heading path {c.heading_path} at {c.start}, expected {expected}"


def _line_bounds(doc: str, pos: int) -> tuple[int, int]:
    start = doc.rfind("\n", 0, pos) + 1
    end = doc.find("\n", pos)
    return start, len(doc) if end < 0 else end


def _check_blocks(
    doc: str, chunks: list[ChunkSpan], settings: SplitSettings, truth: Truth, big: set[Span], measure: object | None
) -> None:
    tokens = measure if settings.strategy == "token" else None

    def carriable(header: str) -> bool:
        fits = 2 * len(header) <= settings.max_length
        return fits and (tokens is None or 2 * tokens.count(header) <= settings.chunk_size)  # type: ignore

    for i, c in enumerate(chunks):
        inside = truth.containing(c.start)
        expected = ""
        if inside is not None and inside in big and c.start > inside.header_end:
            header = doc[inside.start : inside.header_end] + "\n"
            expected = header if carriable(header) else ""
        assert c.carried == expected, f"chunk {i}: carried {c.carried!r}, expected {expected!r}"
        if i + 1 == len(chunks):
            continue
        span = truth.containing(c.end)
        if span is None or span.kind not in (CODE, TABLE):
            continue
        assert span in big, f"chunk {i} ends inside a {span.kind} block that fits in one chunk"
        assert c.end != span.header_end, f"chunk {i} ends right after the {span.kind} header"
        if span.kind == CODE:
            rest = doc[c.end : span.end].strip()
            assert set(rest) - set("`~"), f"chunk {i} leaves only the closing fence to the next chunk"
        line_start, line_end = _line_bounds(doc, c.end)
        if doc[c.end : line_end].strip():
            header = doc[span.start : span.header_end] + "\n"
            first_line = not doc[span.header_end : line_start].strip()  # the header is there, carried or not
            header = header if carriable(header) or first_line else ""
            line = doc[line_start:line_end].strip()
            fits = len(line) + len(header) <= settings.max_length
            if tokens is not None:
                fits = fits and tokens.count(header + line) <= settings.chunk_size  # type: ignore[attr-defined]
            assert not fits or c.start > line_start, f"chunk {i} ends inside a {span.kind} line that fits in a chunk"


def _first_cut_inside(doc: str, span: Span) -> int:
    """The end of the first body line of a big block (the first place it may be split)."""
    pos = span.header_end
    while pos < span.end:
        line_start = pos + 1
        line_end = doc.find("\n", line_start)
        line_end = span.end if line_end < 0 or line_end > span.end else line_end
        if doc[line_start:line_end].strip():
            return line_end
        pos = line_end
    return span.end


def _check_heading_ends(
    doc: str, chunks: list[ChunkSpan], settings: SplitSettings, truth: Truth, big: set[Span], measure: object | None
) -> None:
    """A chunk ends with a heading only when the next one is a sibling/higher heading, or when not even the
    first piece of the body after the chain of headings/labels (one character of text, a whole small block,
    a big block's first line) fits."""
    tokens = measure if settings.strategy == "token" else None
    by_end = {h.end: h for h in truth.headings()}
    by_start = {s.start: s for s in truth.spans}
    for i, c in enumerate(chunks[:-1]):
        h = by_end.get(c.end)
        if h is None:
            continue
        q = len(doc) - len(doc[c.end :].lstrip())
        after = by_start.get(q)
        if after is not None and after.kind == HEADING and after.level <= h.level:
            continue
        while after is not None and after.kind in (HEADING, LABEL):  # a chain of headings/labels: its body
            q = len(doc) - len(doc[after.end :].lstrip())
            after = by_start.get(q)
        if after is None:
            reach = q + 1
        elif after in big:
            reach = _first_cut_inside(doc, after)
        else:
            reach = after.end
        forced = reach - c.start + len(c.carried) > settings.max_length
        if tokens is not None:
            forced = forced or tokens.count(c.carried + doc[c.start : reach]) > settings.chunk_size  # type: ignore
        assert forced, f"chunk {i} ends with heading {h.title!r} but its body starts the next chunk"


def _boundary_positions(doc: str, truth: Truth) -> list[int]:
    """Sentence-or-better cut positions that every strategy counts as such (a subset of each)."""
    excluded = [(s.start - 1, s.end + 1) for s in truth.spans]
    out = []
    for m in re.finditer(r"[。！？；](?![。！？；”’\"'』」）)\]])|(?<=\S)[.!?](?= )|(?<=\S)(?=[ \t]*\n)", doc):
        q = m.end()
        if not any(a <= q <= b for a, b in excluded):
            out.append(q)
    return out


def _check_sentences(doc: str, chunks: list[ChunkSpan], settings: SplitSettings, truth: Truth) -> None:
    import bisect

    positions = _boundary_positions(doc, truth)
    carried = max(len(c.carried) for c in chunks)
    overlap = settings.overlap if settings.strategy in ("fixed", "recursive") else 0
    width = min(settings.max_length - settings.min_length, settings.max_length - carried - overlap - 1) - 16
    sep = settings.custom_separator if settings.strategy == "custom" else None
    for i, c in enumerate(chunks[:-1]):
        p = c.end
        if any(s.start - 1 <= p <= s.end + 1 for s in truth.spans):
            continue
        if doc[p - 1] in _CJK_ENDERS + _CLOSERS or (doc[p - 1] in ".!?" and doc[p : p + 1].isspace()):
            continue
        if not doc[p : _line_bounds(doc, p)[1]].strip():
            continue
        if sep is not None and doc[:p].rstrip().endswith(sep.strip() or sep):
            continue
        k = bisect.bisect_left(positions, p)
        left = positions[k - 1] if k > 0 else 0
        right = positions[k] if k < len(positions) else len(doc)
        assert right - left >= width, (
            f"chunk {i} splits a sentence at {p} although boundaries at {left} and {right} are "
            f"{right - left} apart (window {width})"
        )


# -- the checker catches broken splits ------------------------------------------------------------------
DOC = "# Title\n\nFirst sentence here. Second sentence here.\n\n## Part\n\nBody of part.\n"


def _good() -> tuple[SplitSettings, SplitResult]:
    settings = SplitSettings(min_length=0, max_length=40, chunk_size=30)
    return settings, split_text(DOC, settings)


def test_checker_accepts_a_real_split() -> None:
    settings, result = _good()
    check_split(DOC, result, settings)


@pytest.mark.parametrize(
    "breakage",
    ["drop_chunk", "shift_offset", "wrong_path", "oversize", "heading_at_end"],
)
def test_checker_rejects_broken_splits(breakage: str) -> None:
    settings, result = _good()
    chunks = list(result.chunks)
    if breakage == "drop_chunk":
        chunks.pop(1)
    elif breakage == "shift_offset":
        chunks[0] = replace(chunks[0], start=chunks[0].start + 1)
    elif breakage == "wrong_path":
        chunks[-1] = replace(chunks[-1], heading_path=("Nope",))
    elif breakage == "oversize":
        settings = SplitSettings(min_length=0, max_length=20, chunk_size=15)
    elif breakage == "heading_at_end":
        start = DOC.index("## Part")
        end = start + len("## Part")
        chunks = [
            ChunkSpan(DOC[:end], 0, end, ("Title",)),
            ChunkSpan(DOC[end:].strip(), DOC.index("Body"), len(DOC.rstrip()), ("Title", "Part")),
        ]
    with pytest.raises(AssertionError):
        check_split(DOC, SplitResult(chunks), settings)
