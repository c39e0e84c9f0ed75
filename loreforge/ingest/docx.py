"""Loader for Word documents (.docx).

Walks the document body in order — paragraphs and tables interleaved, including content controls — and
writes Markdown: headings from the Title / Heading N styles or an outline level, list items from numbering
properties (direct or inherited from the style) with `- ` or `1. ` by the list's number format and indented
by level, tables through tables.render_table (merged cells become empty cells), bold and italic runs.
python-docx is imported only when a .docx is loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loreforge.errors import IngestError, LoreForgeError
from loreforge.ingest.document import finish, first_heading, small_int, tidy_markdown
from loreforge.ingest.tables import render_table
from loreforge.ingest.zipguard import check_zip
from loreforge.records import LoadedDocument
from loreforge.settings import IngestSettings

if TYPE_CHECKING:
    from docx.oxml.xmlchemy import BaseOxmlElement as Element

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADING_NAME = re.compile(r"^heading\s*([1-9])$", re.I)
# Runs directly in the paragraph or inside links, tracked insertions, smart tags, simple fields, content controls.
_INLINE_RUNS = " | ".join(
    f"./{inner}w:r" for inner in ("", "w:hyperlink/", "w:ins/", "w:smartTag/", "w:fldSimple/", "w:sdt/w:sdtContent/")
)
_LIST_INDENT = "    "
_OFF = {"0", "false", "off", "none"}
_W_VAL = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}val"


@dataclass
class _Context:
    """What the body walk needs from the package: styles by id, numbering formats, counters."""

    styles: dict[str, Any]
    numbering: Element | None
    num_formats: dict[tuple[str, int], str] = field(default_factory=dict)
    images: int = 0
    tables: int = 0


def _val(el: Element, path: str) -> str | None:
    found = el.xpath(path)
    return str(found[0]) if found else None


def _on(run: Element, prop: str) -> bool:
    found = run.xpath(f"./w:rPr/w:{prop}")
    return bool(found) and (found[0].get(_W_VAL) or "1").lower() not in _OFF


def _style_chain(ctx: _Context, p: Element) -> list[Any]:
    """The paragraph's style and its base styles, nearest first."""
    chain: list[Any] = []  # python-docx style objects
    style = ctx.styles.get(_val(p, "./w:pPr/w:pStyle/@w:val") or "")
    while style is not None and style not in chain and len(chain) < 20:
        chain.append(style)
        style = style.base_style
    return chain


def _heading_level(ctx: _Context, p: Element, chain: list[Any]) -> int | None:
    for style in chain[:1]:
        name = style.name or ""
        if name.lower() == "title":
            return 1
        match = _HEADING_NAME.match(name)
        if match:
            return int(match.group(1))
    for el in [p] + [s.element for s in chain]:
        level = _val(el, "./w:pPr/w:outlineLvl/@w:val")
        if level is not None:
            n = small_int(level)
            return n + 1 if n is not None and n < 9 else None
    return None


def _num_format(ctx: _Context, num_id: str, ilvl: int) -> str:
    key = (num_id, ilvl)
    if key not in ctx.num_formats:
        fmt = "decimal"
        if ctx.numbering is not None:
            abstract = _val(ctx.numbering, f'./w:num[@w:numId="{num_id}"]/w:abstractNumId/@w:val')
            if abstract is not None:
                lvl = f'./w:abstractNum[@w:abstractNumId="{abstract}"]/w:lvl[@w:ilvl="{ilvl}"]/w:numFmt/@w:val'
                fmt = _val(ctx.numbering, lvl) or fmt
        ctx.num_formats[key] = fmt
    return ctx.num_formats[key]


def _style_level(ctx: _Context, num_id: str, chain: list[Any]) -> int | None:
    """The list level a numbering definition links to the paragraph's style (w:lvl/w:pStyle), if any."""
    if ctx.numbering is None or not chain:
        return None
    abstract = _val(ctx.numbering, f'./w:num[@w:numId="{num_id}"]/w:abstractNumId/@w:val')
    style_id = chain[0].style_id
    if abstract is None or not style_id:
        return None
    lvl = f'./w:abstractNum[@w:abstractNumId="{abstract}"]/w:lvl[w:pStyle/@w:val="{style_id}"]/@w:ilvl'
    level = _val(ctx.numbering, lvl)
    return small_int(level)


def _name_level(chain: list[Any]) -> int:
    """'List Bullet 2' → 1: Word's numbered list styles carry their level in the name."""
    name = (chain[0].name or "") if chain else ""
    n = small_int(name[-1:]) if name.lower().startswith("list") else None
    return n - 1 if n else 0


def _list_marker(ctx: _Context, p: Element, chain: list[Any]) -> tuple[str, int] | None:
    """('- ' or '1. ', level) for a list paragraph, else None. numId and ilvl may come from the style chain."""
    num_id = ilvl = None
    for el in [p] + [s.element for s in chain]:
        num_id = num_id or _val(el, "./w:pPr/w:numPr/w:numId/@w:val")
        ilvl = ilvl or _val(el, "./w:pPr/w:numPr/w:ilvl/@w:val")
    if num_id is not None:
        if num_id == "0":
            return None
        given = small_int(ilvl)
        level = given if given is not None else _style_level(ctx, num_id, chain) or 0
        fmt = _num_format(ctx, num_id, level)
        # "List Bullet 2" may point at level 0 of a list of its own that Word merely indents further
        return ("" if fmt == "none" else "- " if fmt == "bullet" else "1. "), min(max(level, _name_level(chain)), 8)
    name = ((chain[0].name or "") if chain else "").lower()
    if name.startswith("list ") and ("bullet" in name or "number" in name):
        return ("1. " if "number" in name else "- "), _name_level(chain)
    return None


def _runs_text(p: Element, styled: bool) -> str:
    """The paragraph's text; with `styled`, bold/italic runs are wrapped in ** and *."""
    pieces: list[tuple[str, bool, bool]] = []
    for run in p.xpath(_INLINE_RUNS):
        text = run.text
        if not text:
            continue
        bold, italic = (_on(run, "b"), _on(run, "i")) if styled else (False, False)
        if pieces and pieces[-1][1:] == (bold, italic):
            pieces[-1] = (pieces[-1][0] + text, bold, italic)
        else:
            pieces.append((text, bold, italic))
    return "".join(_emphasise(*piece) for piece in pieces)


def _emphasise(text: str, bold: bool, italic: bool) -> str:
    core = text.strip()
    if not core or not (bold or italic):
        return text
    mark = ("**" if bold else "") + ("*" if italic else "")
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
    return f"{lead}{mark}{core}{mark[::-1]}{trail}"


def _paragraph(ctx: _Context, p: Element) -> str:
    ctx.images += len(p.xpath(".//w:drawing | .//w:pict"))
    chain = _style_chain(ctx, p)
    level = _heading_level(ctx, p, chain)
    if level is not None:
        text = " ".join(_runs_text(p, styled=False).split())
        return f"{'#' * min(level, 6)} {text}" if text else ""
    text = _runs_text(p, styled=True).strip()
    if not text:
        return ""
    marker = _list_marker(ctx, p, chain)
    if marker is None:
        return text
    indent = _LIST_INDENT * marker[1]
    return indent + marker[0] + text.replace("\n", "\n" + indent + " " * len(marker[0]))


def _table(ctx: _Context, tbl: Element) -> str:
    """A table as Markdown; spanned and vertically merged cells are left empty."""
    ctx.tables += 1
    rows: list[list[str]] = []
    for tr in tbl.xpath("./w:tr"):
        row = [""] * int(_val(tr, "./w:trPr/w:gridBefore/@w:val") or 0)
        for tc in tr.xpath("./w:tc | ./w:sdt/w:sdtContent/w:tc"):
            merge = tc.xpath("./w:tcPr/w:vMerge")
            continued = bool(merge) and (merge[0].get(_W_VAL) or "continue") == "continue"
            texts = [_runs_text(p, styled=False) for p in tc.xpath(".//w:p")]
            row.append("" if continued else "\n".join(t for t in texts if t.strip()))
            span = _val(tc, "./w:tcPr/w:gridSpan/@w:val")
            n = small_int(span, 64)
            row.extend([""] * (n - 1 if n else 0))
        rows.append(row)
    return render_table(rows)


def _blocks(ctx: _Context, container: Element) -> list[str]:
    """Markdown blocks of a body-like element, in document order (content controls are opened)."""
    out: list[str] = []
    for child in container.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            out.append(_paragraph(ctx, child))
        elif tag == "tbl":
            out.append(_table(ctx, child))
        elif tag in ("sdt", "sdtContent", "customXml", "ins"):
            inner = child.xpath("./w:sdtContent")[0] if tag == "sdt" and child.xpath("./w:sdtContent") else child
            out.extend(_blocks(ctx, inner))
    return out


def _join(blocks: list[str]) -> str:
    """Blank lines between blocks, except between consecutive items of one list."""
    parts: list[str] = []
    prev_list = False
    for block in filter(None, blocks):
        is_list = bool(re.match(r"^\s*(- |1\. )", block))
        parts.append(("\n" if prev_list and is_list else "\n\n") + block if parts else block)
        prev_list = is_list
    return "".join(parts)


def load_docx(path: Path, filename: str, limits: IngestSettings) -> LoadedDocument:
    """Load a .docx file."""
    with path.open("rb") as fh:
        if fh.read(8) == _OLE_MAGIC:
            raise IngestError(
                filename,
                "is an old Word 97-2003 document or a password-protected one, not a .docx",
                hint="Open it in Word or LibreOffice, remove any password and save it as .docx",
            )
    check_zip(path, filename, limits, "DOCX")
    try:
        markdown, ctx, core_title = _convert(path)
    except LoreForgeError:
        raise
    except Exception as exc:  # noqa: BLE001 - python-docx/lxml raise many types; the user needs one message
        raise IngestError(
            filename,
            "is damaged or truncated (it could not be read as a Word document)",
            hint="Open it in Word or LibreOffice and save it again as .docx",
        ) from exc
    detail = f"no text; it holds {ctx.images} image(s) — text in images needs OCR" if ctx.images else "no text"
    return finish(
        markdown,
        fmt="docx",
        filename=filename,
        title=first_heading(markdown) or core_title,
        meta={"images": ctx.images, "tables": ctx.tables},
        empty_detail=detail,
    )


def _convert(path: Path) -> tuple[str, _Context, str | None]:
    import docx

    document = docx.Document(str(path))
    try:
        numbering = document.part.numbering_part.element
    except (KeyError, NotImplementedError, AttributeError):
        numbering = None
    ctx = _Context(styles={s.style_id: s for s in document.styles}, numbering=numbering)
    markdown = tidy_markdown(_join(_blocks(ctx, document.element.body)))
    return markdown, ctx, document.core_properties.title or None
