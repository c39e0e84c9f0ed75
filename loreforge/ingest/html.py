"""Loader for HTML pages, and the HTML → Markdown converter the EPUB loader reuses.

Page chrome (navigation, headers and footers outside the article, forms, scripts, styles, frames, SVG) is
dropped; headings become ATX `#` headings, lists stay lists, links keep only their text, and tables go
through tables.render_table so they look like tables from every other format.
"""

from __future__ import annotations

import codecs
import warnings as warnings_module
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup, Tag, XMLParsedAsHTMLWarning
from bs4.dammit import EncodingDetector
from markdownify import MarkdownConverter

from loreforge.ingest.document import finish, small_int, tidy_markdown
from loreforge.ingest.tables import render_table
from loreforge.ingest.textdecode import decode_text
from loreforge.records import LoadedDocument

DROP_TAGS = ("script", "style", "noscript", "nav", "aside", "form", "iframe", "svg", "template", "head",
             "button", "select", "canvas", "object", "embed")
PAGE_CHROME = ("header", "footer")  # dropped unless inside <article>/<main>, where they hold the article's title
_MAX_COLSPAN = 50
_MAX_ROWSPAN = 1000
_BREAK = "\ue000"  # private-use marker for a line break inside a table cell
# Encodings that pages declare but browsers read as a superset.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "iso-8859-1": "cp1252", "ascii": "cp1252", "latin-1": "cp1252"}


@dataclass(frozen=True)
class HtmlText:
    markdown: str
    title: str | None
    encoding: str | None
    warnings: tuple[str, ...] = ()


def _span(cell: Tag, attr: str, cap: int) -> int:
    n = small_int(str(cell.get(attr) or "1"), 1_000_000)
    return max(1, min(cap, n)) if n is not None else 1


def _cell_text(cell: Tag) -> str:
    for tag in cell.find_all(["br", "p", "li", "div"]):
        if tag.name == "br":
            tag.replace_with(_BREAK)
        else:
            tag.insert_after(_BREAK)
    text = " ".join(cell.get_text(" ").split())
    return "\n".join(part.strip() for part in text.split(_BREAK) if part.strip())


def _pad_spans(row: list[str], carry: dict[int, int], upto: int | None = None) -> None:
    """Append an empty cell for every column still covered by a rowspan from a row above."""
    while carry.get(len(row), 0) > 0 and (upto is None or len(row) < upto):
        carry[len(row)] -= 1
        row.append("")


def table_rows(table: Tag) -> list[list[str]]:
    """The table's own rows (not nested tables') as a grid, with colspan and rowspan padded by empty cells."""
    grid: list[list[str]] = []
    carry: dict[int, int] = {}  # column -> rows still covered by a rowspan from above
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue
        row: list[str] = []
        for cell in tr.find_all(["td", "th"], recursive=False):
            _pad_spans(row, carry)
            colspan, rowspan = _span(cell, "colspan", _MAX_COLSPAN), _span(cell, "rowspan", _MAX_ROWSPAN)
            start = len(row)
            row.extend([_cell_text(cell)] + [""] * (colspan - 1))
            for col in range(start, start + colspan):
                if rowspan > 1:
                    carry[col] = rowspan - 1
        for col in sorted(c for c, left in carry.items() if left > 0 and c >= len(row)):
            row.extend([""] * (col - len(row)))
            _pad_spans(row, carry, col + 1)
        grid.append(row)
    return grid


class _Converter(MarkdownConverter):
    """markdownify with tables rendered by tables.render_table."""

    def convert_table(self, el: Tag, text: str, parent_tags: set[str]) -> str:  # noqa: ARG002
        caption = el.find("caption")
        head = " ".join(caption.get_text(" ").split()) if isinstance(caption, Tag) else ""
        body = render_table(table_rows(el))
        parts = [p for p in (head, body) if p]
        return "\n\n" + "\n\n".join(parts) + "\n\n" if parts else ""


def _clean_soup(soup: BeautifulSoup) -> None:
    for tag in soup.find_all(DROP_TAGS):
        tag.decompose()
    for tag in soup.find_all(PAGE_CHROME):
        if tag.find_parent(["article", "main"]) is None:
            tag.decompose()
    for tag in soup.select("[hidden]"):
        tag.decompose()
    for cell in soup.find_all(["td", "th"]):  # markdownify int()s a span that passes isdigit(): '²', 5,000 digits
        for attr in ("colspan", "rowspan"):
            if attr in cell.attrs and small_int(str(cell[attr]), 1_000_000) is None:
                del cell[attr]


def _title(soup: BeautifulSoup) -> str | None:
    for found in (soup.find("title"), soup.find("h1")):
        if isinstance(found, Tag):
            text = " ".join(found.get_text(" ").split())
            if text:
                return text
    return None


def decode_html(data: bytes, filename: str) -> tuple[str, str, tuple[str, ...]]:
    """The page's text: its declared charset when it names one Python knows, else detected like a text file."""
    declared = EncodingDetector.find_declared_encoding(data[:65536], is_html=True)
    if declared and not data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        name = _SUPERSETS.get(declared.lower(), declared.lower())
        try:
            codecs.lookup(name)
        except LookupError:
            name = ""
        if name and name not in ("utf-16", "utf-32"):  # a declared UTF-16 in a page without a BOM is a lie
            return data.decode(name, "replace"), name, ()
    decoded = decode_text(data, filename)
    return decoded.text, decoded.encoding, decoded.warnings


def html_to_markdown(html: str | bytes, filename: str) -> HtmlText:
    """Convert an HTML page (text, or bytes whose encoding is detected) into tidy Markdown and its title."""
    encoding: str | None = None
    warnings: tuple[str, ...] = ()
    if isinstance(html, bytes):
        html, encoding, warnings = decode_html(html, filename)
    with warnings_module.catch_warnings():
        # EPUB chapters are XHTML; lxml's HTML parser reads them well enough
        warnings_module.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(html, "lxml")
    title = _title(soup)
    _clean_soup(soup)
    converter = _Converter(
        heading_style="ATX",
        bullets="-",
        strip=["a", "img"],
        escape_asterisks=False,
        escape_underscores=False,
        escape_misc=False,
    )
    markdown = tidy_markdown(converter.convert_soup(soup))
    return HtmlText(markdown, title, encoding, warnings)


def load_html(path: Path, filename: str) -> LoadedDocument:
    """Load an .html/.htm file."""
    page = html_to_markdown(path.read_bytes(), filename)
    return finish(
        page.markdown,
        fmt="html",
        filename=filename,
        title=page.title,
        encoding=page.encoding,
        warnings=page.warnings,
        empty_detail="no text in the page",
    )
