"""Ingest: every kind of bad input ends in an IngestError that names the file and says what to do."""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path

import pytest

from conftest import corpus as shared_corpus
from loreforge.errors import IngestError
from loreforge.ingest import load
from loreforge.settings import IngestSettings

def corpus(name: str) -> Path:
    """A file of the shared corpus's formats folder (real third-party files); skips without the corpus."""
    return shared_corpus(f"formats/{name}")[0]


def refused(path: Path, filename: str | None = None, limits: IngestSettings | None = None) -> IngestError:
    with pytest.raises(IngestError) as info:
        load(path, filename=filename, limits=limits)
    err = info.value
    assert err.filename == (filename or path.name)
    assert str(err).startswith(f"{err.filename}: ")
    assert err.hint, "every ingest error says what to do"
    return err


def docx_bytes() -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph("Some text to keep the document from being empty.")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def bomb_zip(path: Path, entry: str, size_mb: int) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(entry, b"\0" * (size_mb * 1024 * 1024))
    return path


def test_empty_file_zero_bytes(tmp_path: Path) -> None:
    path = tmp_path / "empty.md"
    path.write_bytes(b"")
    assert "is empty" in str(refused(path))


def test_whitespace_only_file(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_bytes(b" \r\n\t\n   \n")
    assert "is empty" in str(refused(path))


def test_empty_file_of_any_format(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    assert "is empty" in str(refused(path))


def test_binary_named_txt(tmp_path: Path) -> None:
    path = tmp_path / "photo.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 20)
    assert "does not look like text" in str(refused(path))


def test_control_characters_named_md(tmp_path: Path) -> None:
    path = tmp_path / "data.md"
    path.write_bytes(bytes(range(1, 32)) * 200)  # no NUL, but nothing a person would read
    assert "does not look like text" in str(refused(path))


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "sheet.xlsx"
    path.write_bytes(b"PK\x03\x04 whatever")
    message = str(refused(path))
    assert "'.xlsx'" in message
    for ext in (".txt", ".md", ".html", ".docx", ".pdf", ".epub"):
        assert ext in message


def test_no_extension(tmp_path: Path) -> None:
    path = tmp_path / "README"
    path.write_text("hello", encoding="utf-8")
    assert "no file extension" in str(refused(path))


def test_truncated_pdf(tmp_path: Path) -> None:
    data = corpus("pdf-pdflatex-outline.pdf").read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(data[: len(data) // 2])
    err = refused(path)
    assert "is damaged or truncated" in str(err)
    assert err.__cause__ is not None  # the library's exception is kept for the logs


def test_garbage_pdf_bad_xref(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\nxref\nnonsense\nstartxref\n999999\n%%EOF\n")
    assert "is damaged or truncated" in str(refused(path))


def test_corrupt_docx(tmp_path: Path) -> None:
    path = tmp_path / "report.docx"
    path.write_bytes(b"PK\x03\x04" + os.urandom(2000))
    assert "is damaged or truncated" in str(refused(path))


def test_truncated_docx(tmp_path: Path) -> None:
    data = docx_bytes()
    path = tmp_path / "cut.docx"
    path.write_bytes(data[: len(data) // 2])
    assert "is damaged or truncated" in str(refused(path))


def test_docx_zip_without_word_parts(tmp_path: Path) -> None:
    path = tmp_path / "not-word.docx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "just a zip")
    err = refused(path)
    assert "is damaged or truncated" in str(err) and err.__cause__ is not None


def test_old_word_doc_renamed_docx(tmp_path: Path) -> None:
    path = tmp_path / "old.docx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1000)
    assert "Word 97-2003" in str(refused(path))


def test_corrupt_epub(tmp_path: Path) -> None:
    path = tmp_path / "book.epub"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/epub+zip")
        z.writestr("META-INF/container.xml", "<container><rootfiles><rootfile full-path='missing.opf'/>")
    assert "is damaged or truncated" in str(refused(path))


def test_docx_unpacking_beyond_limit_is_refused_before_extracting(tmp_path: Path) -> None:
    path = bomb_zip(tmp_path / "bomb.docx", "word/document.xml", 3)
    err = refused(path, limits=IngestSettings(max_unpacked_mb=2))
    message = str(err)
    assert "would unpack to 3.0 MB" in message and "limit of 2 MB" in message
    assert "ingest.max_unpacked_mb" in message


def test_epub_unpacking_beyond_limit(tmp_path: Path) -> None:
    path = bomb_zip(tmp_path / "bomb.epub", "OEBPS/chapter.xhtml", 3)
    assert "ingest.max_unpacked_mb" in str(refused(path, limits=IngestSettings(max_unpacked_mb=1)))


def test_zip_bomb_ratio_within_total_limit(tmp_path: Path) -> None:
    path = bomb_zip(tmp_path / "ratio.docx", "word/document.xml", 16)  # ~1000:1, under the 1 GB default total
    assert "zip bomb" in str(refused(path))


def test_file_over_max_file_mb_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.md"
    path.write_bytes(b"# big\n" + b"x" * (2 * 1024 * 1024))

    def no_reading(self: Path) -> bytes:
        raise AssertionError("the file was read before its size was checked")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    message = str(refused(path, limits=IngestSettings(max_file_mb=1)))
    assert "2.0 MB" in message and "limit of 1 MB" in message and "ingest.max_file_mb" in message


def test_ten_megabyte_single_line_loads_quickly(tmp_path: Path) -> None:
    path = tmp_path / "one-line.md"
    line = ("# " + " " * 5_000_000 + "word " * 1_000_000).encode()  # a heading marker, spaces, no newline
    path.write_bytes(line)
    start = time.perf_counter()
    doc = load(path)
    elapsed = time.perf_counter() - start
    assert len(doc.markdown) == len(line)
    assert elapsed < 10, f"took {elapsed:.1f}s: something is quadratic"  # linear code needs well under 1 s


def test_gbk_text(tmp_path: Path) -> None:
    text = "星河精密 2025 年上半年营业收入 12.3 亿元，同比增长 18%。\r\n主要产品：谐波减速器、伺服电机。\r\n"
    path = tmp_path / "报告.txt"
    path.write_bytes(text.encode("gbk"))
    doc = load(path)
    assert doc.markdown == text.replace("\r\n", "\n")
    assert doc.encoding == "gb18030"


def test_pdf_needing_a_password() -> None:
    message = str(refused(corpus("pdf-r4-user-password.pdf")))
    assert "is encrypted: needs a password" in message and "qpdf --decrypt" in message


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(612, 792)
    writer.add_blank_page(612, 792)
    path = tmp_path / "scan.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    message = str(refused(path))
    assert "has no text layer" in message and "scanned image" in message and "OCR" in message


def test_missing_stored_file(tmp_path: Path) -> None:
    assert "could not be read" in str(refused(tmp_path / "gone.md"))


def test_filename_is_named_not_storage_path(tmp_path: Path) -> None:
    path = tmp_path / "blob-123"
    path.write_bytes(b"")
    err = refused(path, filename="季度报告.md")
    assert str(err).startswith("季度报告.md: ") and "blob-123" not in str(err)


def test_drm_protected_epub(tmp_path: Path) -> None:
    path = tmp_path / "locked.epub"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/epub+zip")
        z.writestr(
            "META-INF/encryption.xml",
            '<encryption><EncryptedData><EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>'
            '<CipherData><CipherReference URI="OEBPS/ch1.xhtml"/></CipherData></EncryptedData></encryption>',
        )
        z.writestr("OEBPS/ch1.xhtml", os.urandom(500))
    assert "protected by DRM" in str(refused(path))


def test_importing_ingest_stays_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, loreforge.ingest as i; i.safe_filename('x'); "
        "heavy = [m for m in ('pdfplumber', 'pdfminer', 'pypdf', 'docx', 'ebooklib', 'bs4', 'markdownify', "
        "'charset_normalizer', 'lxml') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("value", ["²", "٣", "-1", "x", "9" * 5000])
def test_odd_numbers_in_docx_and_html_attributes_are_read_as_absent(tmp_path: Path, value: str) -> None:
    """A heading level, list level or column span that is not a small whole number ('²' passes isdigit() but
    int() cannot read it; 5,000 digits pass too) is ignored, not a crash that loses the file."""
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    d = docx.Document()
    para = d.add_paragraph("Heading by outline level")
    outline = OxmlElement("w:outlineLvl")
    outline.set(qn("w:val"), value)
    para._p.get_or_add_pPr().append(outline)
    listed = d.add_paragraph("listed item", style="List Bullet")
    num_pr = listed._p.get_or_add_pPr().get_or_add_numPr()
    num_pr.get_or_add_ilvl().set(qn("w:val"), value)
    table = d.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "left", "right"
    span = OxmlElement("w:gridSpan")
    span.set(qn("w:val"), value)
    table.cell(0, 0)._tc.get_or_add_tcPr().append(span)
    path = tmp_path / "odd.docx"
    d.save(str(path))
    md = load(path).markdown
    assert "Heading by outline level" in md and "listed item" in md and "left" in md

    page = tmp_path / "odd.html"
    page.write_text(f'<table><tr><td colspan="{value}" rowspan="{value}">cell</td><td>b</td></tr></table>',
                    encoding="utf-8")
    assert "cell" in load(page).markdown
