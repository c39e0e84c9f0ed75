"""Ingest: every format through `load()` — real corpus files by path, and DOCX/EPUB/HTML/PDF generated here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import corpus as shared_corpus
from loreforge.ingest import SUPPORTED_EXTENSIONS, load
from loreforge.records import LoadedDocument

def corpus(name: str) -> Path:
    """A file of the shared corpus's formats folder (real third-party files); skips without the corpus."""
    return shared_corpus(f"formats/{name}")[0]


def headings(doc: LoadedDocument) -> list[str]:
    return [line for line in doc.markdown.split("\n") if line.startswith("#")]


# ---------------------------------------------------------------- registry


def test_supported_extensions() -> None:
    assert SUPPORTED_EXTENSIONS == {
        ".txt": "txt",
        ".md": "md",
        ".markdown": "md",
        ".html": "html",
        ".htm": "html",
        ".docx": "docx",
        ".pdf": "pdf",
        ".epub": "epub",
    }


def test_extension_is_case_insensitive_and_filename_picks_format(tmp_path: Path) -> None:
    stored = tmp_path / "stored-blob"  # the stored copy may have any name; the user's name decides the format
    stored.write_text("<h1>Hi</h1><p>there</p>", encoding="utf-8")
    doc = load(stored, filename="Page.HTML")
    assert doc.format == "html"
    assert doc.markdown.startswith("# Hi")


# ---------------------------------------------------------------- text


def test_markdown_is_kept_verbatim(tmp_path: Path) -> None:
    text = "Intro line\n\n## Section *one*\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\n# not a heading\n```\n"
    path = tmp_path / "notes.md"
    path.write_text(text, encoding="utf-8")
    doc = load(path)
    assert doc.markdown == text
    assert doc.format == "md" and doc.encoding == "utf-8"
    assert doc.title == "Section *one*"


def test_txt_is_not_escaped_and_title_falls_back_to_stem(tmp_path: Path) -> None:
    text = "price_list *special* 3 < 4 # not a heading\n"
    path = tmp_path / "plain.txt"
    path.write_text(text, encoding="utf-8")
    doc = load(path, filename="价格表.txt")
    assert doc.markdown == text
    assert doc.format == "txt"
    assert doc.title == "价格表"


def test_heading_inside_code_fence_is_not_the_title(tmp_path: Path) -> None:
    path = tmp_path / "code.md"
    path.write_text("```bash\n# install\n```\n\n# Real Title\n", encoding="utf-8")
    assert load(path).title == "Real Title"


# ---------------------------------------------------------------- HTML

PAGE = """<!doctype html><html><head><title>Harbor FAQ</title><style>p{color:red}</style>
<script>var x = "SECRET-SCRIPT";</script></head><body>
<nav><a href="/">Home</a> NAV-MENU</nav><header>SITE-HEADER</header>
<main><article><h1>Harbor Light</h1><p>Our <a href="/x">robots</a> clean <b>hulls</b>.</p>
<h2>Prices</h2>
<table><thead><tr><th>Model</th><th>Price</th></tr></thead>
<tbody><tr><td>HL-1</td><td>10 | 20</td></tr><tr><td colspan="2">Both<br>lines</td></tr></tbody></table>
<ul><li>fast</li><li>quiet<ul><li>very</li></ul></li></ul>
<ol><li>first</li><li>second</li></ol>
<form><input name=q>FORM-TEXT</form><iframe src="x">IFRAME</iframe><svg><text>SVG-TEXT</text></svg>
<aside>ASIDE-TEXT</aside><noscript>NOSCRIPT</noscript></article></main>
<footer>SITE-FOOTER</footer></body></html>"""


def test_html_structure_and_chrome(tmp_path: Path) -> None:
    path = tmp_path / "faq.html"
    path.write_text(PAGE, encoding="utf-8")
    doc = load(path)
    md = doc.markdown
    assert doc.format == "html" and doc.title == "Harbor FAQ"
    assert "# Harbor Light" in md and "## Prices" in md
    assert "Our robots clean **hulls**." in md  # link text kept, URL dropped
    assert "| Model | Price |\n|---|---|\n| HL-1 | 10 \\| 20 |\n| Both<br>lines |  |" in md
    assert "- fast" in md and "  - very" in md and "1. first" in md
    for dropped in ("SECRET", "NAV-MENU", "SITE-HEADER", "SITE-FOOTER", "FORM-TEXT", "IFRAME", "SVG-TEXT",
                    "ASIDE-TEXT", "NOSCRIPT", "color:red", "/x"):
        assert dropped not in md, dropped


def test_html_title_from_h1_and_declared_gbk_charset(tmp_path: Path) -> None:
    html = '<html><head><meta charset="gbk"></head><body><h1>产品说明</h1><p>精密零件，年产十万件。</p></body></html>'
    path = tmp_path / "zh.htm"
    path.write_bytes(html.encode("gbk"))
    doc = load(path)
    assert doc.title == "产品说明"
    assert "精密零件，年产十万件。" in doc.markdown


def test_html_crlf_normalised(tmp_path: Path) -> None:
    path = tmp_path / "crlf.html"
    path.write_bytes(b"<p>one\r\ntwo</p>\r\n<pre>a\r\nb</pre>")
    assert "\r" not in load(path).markdown


# ---------------------------------------------------------------- DOCX


def make_docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.core_properties.title = "Core Title"
    d.add_paragraph("Annual Report", style="Title")
    d.add_heading("Overview", level=1)
    p = d.add_paragraph("Revenue grew ")
    p.add_run("strongly").bold = True
    p.add_run(" in ")
    p.add_run("2025").italic = True
    p.add_run(".")
    d.add_paragraph("first bullet", style="List Bullet")
    d.add_paragraph("nested bullet", style="List Bullet 2")
    d.add_paragraph("step one", style="List Number")
    d.add_paragraph("step two", style="List Number")
    d.add_heading("Figures", level=2)
    table = d.add_table(rows=3, cols=3)
    cells = table.rows[0].cells
    cells[0].text, cells[1].text, cells[2].text = "Item", "Q1", "Q2"
    table.cell(1, 0).text = "Sales | net"
    table.cell(1, 1).text = "10"
    table.cell(1, 2).text = "line one\nline two"
    merged = table.cell(2, 0).merge(table.cell(2, 1))
    merged.text = "merged across"
    table.cell(2, 2).text = "x"
    d.add_paragraph("After the table.")
    d.add_heading("Deep", level=3)
    d.save(str(path))
    return path


def test_docx_generated_structure(tmp_path: Path) -> None:
    doc = load(make_docx(tmp_path / "report.docx"))
    md = doc.markdown
    assert doc.format == "docx"
    assert doc.title == "Annual Report"
    assert headings(doc) == ["# Annual Report", "# Overview", "## Figures", "### Deep"]
    assert "Revenue grew **strongly** in *2025*." in md
    assert "- first bullet\n    - nested bullet\n1. step one\n1. step two" in md
    assert "| Item | Q1 | Q2 |\n|---|---|---|" in md
    assert "| Sales \\| net | 10 | line one<br>line two |" in md
    assert "| merged across |  | x |" in md
    # document order: table sits between the "Figures" heading and the paragraph after it
    assert md.index("## Figures") < md.index("| Item |") < md.index("After the table.") < md.index("### Deep")
    assert doc.meta["tables"] == 1


def test_docx_corpus_heading_and_paragraph() -> None:
    doc = load(corpus("docx-test.docx"))
    assert doc.markdown == "# python-docx was here!\n\npython-docx was here too!\n"
    assert doc.title == "python-docx was here!"


def test_docx_corpus_numbering_part() -> None:
    doc = load(corpus("docx-num-having-numbering-part.docx"))
    assert doc.markdown == "1. Paragraph having List Number style.\n"


def test_docx_corpus_only_images_is_reported_empty() -> None:
    from loreforge.errors import IngestError

    with pytest.raises(IngestError, match=r"docx-having-images\.docx: is empty .*5 image\(s\).*OCR"):
        load(corpus("docx-having-images.docx"))


def test_docx_corpus_tables_without_text_is_empty() -> None:
    from loreforge.errors import IngestError

    with pytest.raises(IngestError, match="is empty"):
        load(corpus("docx-tbl-having-tables.docx"))


# ---------------------------------------------------------------- EPUB


def make_epub(path: Path) -> Path:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("id-1")
    book.set_title("The Lighthouse Book")
    book.set_language("en")
    ch1 = epub.EpubHtml(title="One", file_name="one.xhtml", lang="en")
    ch1.content = "<html><body><h1>Chapter One</h1><p>The lamp was lit at dusk.</p></body></html>"
    ch2 = epub.EpubHtml(title="Two", file_name="two.xhtml", lang="en")
    ch2.content = (
        "<html><body><h1>Chapter Two</h1><p>Ships passed.</p>"
        "<table><tr><th>Ship</th><th>Tons</th></tr><tr><td>Aurora</td><td>900</td></tr></table></body></html>"
    )
    for chapter in (ch1, ch2):
        book.add_item(chapter)
    book.toc = (ch1, ch2)
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", ch2, ch1]  # reading order differs from creation order on purpose
    epub.write_epub(str(path), book)
    return path


def test_epub_follows_spine_and_uses_metadata_title(tmp_path: Path) -> None:
    doc = load(make_epub(tmp_path / "book.epub"))
    md = doc.markdown
    assert doc.format == "epub" and doc.title == "The Lighthouse Book"
    assert md.index("# Chapter Two") < md.index("# Chapter One")
    assert "The lamp was lit at dusk." in md
    assert "| Ship | Tons |\n|---|---|\n| Aurora | 900 |" in md
    assert doc.meta["chapters"] == 2  # the nav page has no text once <nav> is dropped


# ---------------------------------------------------------------- PDF: generated


def make_pdf(page_streams: list[str]) -> bytes:
    """A minimal valid PDF (Helvetica, one content stream per page) with a correct xref table."""
    n = len(page_streams)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {n} >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, stream in enumerate(page_streams):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>"
        )
        objects.append(f"<< /Length {len(stream.encode('latin-1'))} >>\nstream\n{stream}\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def text_at(x: float, y: float, text: str, size: int = 11) -> str:
    return f"BT /F1 {size} Tf {x} {y} Td ({text}) Tj ET\n"


def grid(x0: float, y_top: float, widths: list[float], rows: int, height: float) -> str:
    total = sum(widths)
    ops = []
    for r in range(rows + 1):
        y = y_top - r * height
        ops.append(f"{x0} {y} m {x0 + total} {y} l S")
    x = x0
    for w in [0.0, *widths]:
        x += w
        ops.append(f"{x} {y_top} m {x} {y_top - rows * height} l S")
    return "\n".join(ops) + "\n"


def test_pdf_generated_table_not_duplicated_and_page_offsets(tmp_path: Path) -> None:
    page1 = (
        text_at(72, 720, "Intro paragraph above the table.")
        + grid(72, 680, [120, 120, 120], 3, 24)
        + text_at(78, 662, "Name") + text_at(198, 662, "Qty") + text_at(318, 662, "Note")
        + text_at(78, 638, "Apple") + text_at(198, 638, "3") + text_at(318, 638, "red")
        + text_at(78, 614, "Pear") + text_at(198, 614, "5") + text_at(318, 614, "green")
        + text_at(72, 560, "Closing paragraph below the table.")
    )
    page2 = text_at(72, 720, "Second page text.")
    path = tmp_path / "table.pdf"
    path.write_bytes(make_pdf([page1, page2]))
    doc = load(path)
    md = doc.markdown
    assert doc.pages == 2
    assert "| Name | Qty | Note |\n|---|---|---|\n| Apple | 3 | red |\n| Pear | 5 | green |" in md
    assert md.count("Apple") == 1  # table text is not repeated in the running text
    assert md.index("Intro paragraph") < md.index("| Name |") < md.index("Closing paragraph")
    offsets = doc.meta["page_offsets"]
    assert offsets[0] == 0 and md[offsets[1]:].startswith("Second page text.")
    assert headings(doc) == []  # no outline, no invented headings


def test_pdf_two_columns_read_column_by_column(tmp_path: Path) -> None:
    left = "".join(text_at(72, 700 - 14 * i, f"Left column line {i} about harbours.") for i in range(8))
    right = "".join(text_at(330, 700 - 14 * i, f"Right column line {i} about lamps.") for i in range(8))
    path = tmp_path / "columns.pdf"
    path.write_bytes(make_pdf([left + right]))
    md = load(path).markdown
    assert md.index("Left column line 7") < md.index("Right column line 0")


# ---------------------------------------------------------------- PDF: corpus


@pytest.fixture(scope="module")
def outline_pdf() -> LoadedDocument:
    return load(corpus("pdf-pdflatex-outline.pdf"))


def test_pdf_outline_becomes_headings(outline_pdf: LoadedDocument) -> None:
    doc = outline_pdf
    assert doc.pages == 4
    assert headings(doc) == [f"# {i} {t}" for i, t in enumerate(["Foo", "Bar", "Baz"] * 3, start=1)]
    assert doc.meta["headings_from_outline"] == doc.meta["outline_entries"] == 9
    assert doc.warnings == ()
    contents = doc.markdown[: doc.meta["page_offsets"][1]]
    assert contents.startswith("Contents") and "#" not in contents  # the table of contents stays plain text


def test_pdf_page_offsets_point_at_pages(outline_pdf: LoadedDocument) -> None:
    offsets = outline_pdf.meta["page_offsets"]
    assert len(offsets) == 4 and offsets == sorted(offsets)
    assert outline_pdf.markdown[offsets[1]:].startswith("# 1 Foo")
    assert outline_pdf.markdown[offsets[1] - 2 : offsets[1]] == "\n\n"


def test_pdf_words_are_spaced(outline_pdf: LoadedDocument) -> None:
    assert "Is there no information?" in outline_pdf.markdown
    assert "Istherenoinformation" not in outline_pdf.markdown


def test_pdf_multilang() -> None:
    doc = load(corpus("pdf-multilang.pdf"))
    assert doc.pages == 1
    for text in ("Hello World", "Привет, мир", "你好世界", "こんにちは世界", "สวัสดีชาวโลก", "مرحبا بالعالم"):
        assert text in doc.markdown, text


def test_pdf_empty_user_password_opens_with_warning() -> None:
    doc = load(corpus("pdf-r6-empty-password.pdf"))
    assert "pdf encryption test" in doc.markdown
    assert any("empty password" in w for w in doc.warnings)


def test_pdf_side_by_side_figure_reading_order() -> None:
    md = load(corpus("pdf-side-by-side-subfig.pdf")).markdown
    order = ["1 Your Chapter", "Lorem ipsum", "(a) South American coati", "(b) Brown bear", "Figure 1.1: Bears",
             "You can now see"]
    positions = [md.index(text) for text in order]
    assert positions == sorted(positions)
    assert "tempor invidunt" in md  # "tem-" / "por" joined across the line break


def test_pdf_ocr_scan_with_side_notes() -> None:
    doc = load(corpus("pdf-Seige_of_Vicksburg_Sample_OCR.pdf"))
    md = doc.markdown
    assert doc.pages == 6 and len(doc.meta["page_offsets"]) == 6
    assert "JUNE 10TH" in md and "dangerous" in md
    # the side note about canister shot is a paragraph of its own, not interleaved with the main column
    note = next(p for p in md.split("\n\n") if p.startswith("Cannister shot"))
    assert "privations" not in note and "court house" not in note
    assert doc.title == "pdf-Seige_of_Vicksburg_Sample_OCR"  # the metadata title "Binder1.pdf" is a placeholder


def test_pdf_ruled_table_and_running_headers() -> None:
    doc = load(corpus("pdf-GeoBase_NHNC1_Data_Model_UML_EN.pdf"))
    md = doc.markdown
    assert doc.pages == 19
    assert "| Date | Version | Description |" in md
    assert md.count("First draft for discussion with Nova Scotia") == 1
    assert doc.meta["running_lines_removed"] > 10
    assert md.count("National Hydro Network, Data Model – Edition 1.0") <= 1
    assert re.search(r"^2 LRS$", md, re.M)  # section titles survive as plain lines (no outline: no headings)
    assert headings(doc) == []
