"""Ingest: text encodings and newlines, and safe names for uploaded files."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from loreforge.ingest import content_hash, load, safe_filename
from loreforge.ingest.textdecode import decode_text

ZH = "星河精密2025年上半年报告\n营业收入12.3亿元，同比增长18%。主要产品：谐波减速器、伺服电机。\n"
MIXED = "Harbor Light 港湾之光 — robots for hulls.\nSecond line: “quotes” and 中文.\n"


def load_bytes(tmp_path: Path, data: bytes, name: str = "doc.txt"):  # noqa: ANN201 - LoadedDocument
    path = tmp_path / name
    path.write_bytes(data)
    return load(path)


@pytest.mark.parametrize(
    ("data", "encoding", "text"),
    [
        pytest.param(MIXED.encode("utf-8"), "utf-8", MIXED, id="utf-8"),
        pytest.param(codecs.BOM_UTF8 + MIXED.encode("utf-8"), "utf-8-sig", MIXED, id="utf-8-bom"),
        pytest.param(ZH.encode("gb18030"), "gb18030", ZH, id="gb18030"),
        pytest.param(ZH.encode("gbk"), "gb18030", ZH, id="gbk"),
        pytest.param("你好，世界。".encode("gbk"), "gb18030", "你好，世界。", id="gbk-short"),
        pytest.param(codecs.BOM_UTF16_LE + MIXED.encode("utf-16-le"), "utf-16-le", MIXED, id="utf-16-le-bom"),
        pytest.param(codecs.BOM_UTF16_BE + MIXED.encode("utf-16-be"), "utf-16-be", MIXED, id="utf-16-be-bom"),
        pytest.param(MIXED.encode("utf-16-le"), "utf-16-le", MIXED, id="utf-16-le-no-bom"),
        pytest.param(MIXED.encode("utf-16-be"), "utf-16-be", MIXED, id="utf-16-be-no-bom"),
        pytest.param(codecs.BOM_UTF16_LE + ZH.encode("utf-16-le"), "utf-16-le", ZH, id="utf-16-chinese-bom"),
    ],
)
def test_encodings(tmp_path: Path, data: bytes, encoding: str, text: str) -> None:
    doc = load_bytes(tmp_path, data)
    assert doc.markdown == text
    assert doc.encoding == encoding


def test_legacy_western_code_page(tmp_path: Path) -> None:
    text = "Le café était très agréable, et nous avons mangé des crêpes à la crème. Où est la bibliothèque ?\n" * 3
    doc = load_bytes(tmp_path, text.encode("cp1252"))
    assert doc.markdown == text
    assert doc.encoding == "cp1252" and any("guessed" in w for w in doc.warnings)


def test_cyrillic_code_page(tmp_path: Path) -> None:
    text = "Привет, как дела? Это тестовый текст на русском языке.\n" * 3
    assert load_bytes(tmp_path, text.encode("cp1251")).markdown == text


def test_big5_is_not_mistaken_for_gbk() -> None:
    text = "繁體中文測試，這是一個句子。"
    assert decode_text(text.encode("big5"), "x.txt").text == text


def test_utf8_with_one_damaged_byte_stays_utf8(tmp_path: Path) -> None:
    data = ("中文内容，测试一下。" * 50).encode("utf-8")[:-1]  # cut in the middle of the last character
    doc = load_bytes(tmp_path, data)
    assert doc.encoding == "utf-8" and doc.markdown.startswith("中文内容")
    assert any("replaced" in w for w in doc.warnings)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(b"one\r\ntwo\r\n\r\nthree", "one\ntwo\n\nthree", id="crlf"),
        pytest.param(b"one\rtwo\r\rthree\r", "one\ntwo\n\nthree\n", id="lone-cr"),
        pytest.param(b"a\r\nb\rc\nd", "a\nb\nc\nd", id="mixed"),
    ],
)
def test_newlines_normalised(tmp_path: Path, raw: bytes, expected: str) -> None:
    assert load_bytes(tmp_path, raw, "n.md").markdown == expected


def test_utf16_crlf_normalised(tmp_path: Path) -> None:
    doc = load_bytes(tmp_path, codecs.BOM_UTF16_LE + "第一行\r\n第二行\r\n".encode("utf-16-le"))
    assert doc.markdown == "第一行\n第二行\n"


def test_bom_only_is_empty(tmp_path: Path) -> None:
    from loreforge.errors import IngestError

    with pytest.raises(IngestError, match="is empty"):
        load_bytes(tmp_path, codecs.BOM_UTF8 + b"  \n")


# ---------------------------------------------------------------- safe_filename


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("/abs/path.md", "path.md"),
        ("C:\\x\\y.txt", "y.txt"),
        ("\\\\server\\share\\doc.md", "doc.md"),
        ("..", "unnamed"),
        (".", "unnamed"),
        ("", "unnamed"),
        ("   ", "unnamed"),
        ("a\x00b.txt", "ab.txt"),
        ("evil.php\x00.txt", "evil.php.txt"),
        ("line\nbreak\t.md", "linebreak.md"),
        ("right\u202eto-left.txt", "rightto-left.txt"),
        ("季度报告 2025.docx", "季度报告 2025.docx"),
        ("资料/../../星河精密.pdf", "星河精密.pdf"),
        ("what?<x>:*|.md", "what__x____.md"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("com1.tar.gz", "_com1.tar.gz"),
        (".md", "unnamed.md"),
        ("trailing. ", "trailing"),
        ("notes.md.", "notes.md"),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


def test_safe_filename_caps_long_names_and_keeps_extension() -> None:
    for name in ("x" * 500 + ".md", "报" * 500 + ".pdf"):
        safe = safe_filename(name)
        assert len(safe.encode("utf-8")) <= 200
        assert safe.endswith(name[-4:] if name.endswith(".pdf") else ".md")
        assert safe[0] == name[0]


@pytest.mark.parametrize("name", ["../x", "..\\..\\x.md", "/", "\\", "a/", "\x00", "..\x00..", "/..", "./."])
def test_safe_filename_is_one_component(name: str) -> None:
    safe = safe_filename(name)
    assert safe and safe not in (".", "..")
    assert "/" not in safe and "\\" not in safe and "\x00" not in safe


def test_content_hash() -> None:
    assert content_hash(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_stray_nul_after_the_sample_is_removed(tmp_path: Path) -> None:
    doc = load_bytes(tmp_path, b"a" * 70_000 + b"\x00" + b"b\n", "long.md")
    assert "\x00" not in doc.markdown and doc.markdown.endswith("ab\n")
    assert any("NUL" in w for w in doc.warnings)
