"""Turn the bytes of a plain-text file into a string, detecting its encoding.

Used by the text loader (.txt/.md) and by the HTML loader when a page declares no charset. The order is:
byte-order marks (UTF-8, UTF-16 and UTF-32), UTF-16 without a BOM (recognised by its pattern of NUL bytes),
strict UTF-8, GB18030 when the bytes decode cleanly and read as Chinese, UTF-8 with a few damaged bytes, and
last charset-normalizer's best guess (it is unreliable on short Chinese texts, hence the earlier steps).
Each step decodes the whole file at most once; nothing splits it into lines.
"""

from __future__ import annotations

import codecs
import unicodedata
from dataclasses import dataclass

from loreforge.errors import IngestError

_SAMPLE_BYTES = 64 * 1024
_BOMS: tuple[tuple[bytes, str, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
)
_MAX_CONTROL_RATIO = 0.1
_CP1252_MARGIN = 0.05
_LAST_RESORT_CHAOS = 0.5
_ALLOWED_CONTROLS = set("\t\n\r\f\v\x1b")
_NOT_TEXT_HINT = "Upload the document in a supported format (.txt, .md, .html, .docx, .pdf, .epub)"


@dataclass(frozen=True)
class Decoded:
    """A decoded text and how it was decoded."""

    text: str
    encoding: str
    warnings: tuple[str, ...] = ()


def _not_text(filename: str, why: str) -> IngestError:
    return IngestError(filename, f"does not look like text ({why})", hint=_NOT_TEXT_HINT)


def _from_bom(data: bytes, filename: str) -> Decoded | None:
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            body = memoryview(data)[len(bom) :]
            try:
                return Decoded(str(body, codec), name)
            except UnicodeDecodeError:
                text = str(body, codec, "replace")
                return Decoded(text, name, (f"some bytes were not valid {codec} and were replaced with '\ufffd'",))
    return None


def _utf16_without_bom(sample: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when NUL bytes sit on one side of most byte pairs (Latin text in UTF-16)."""
    half = len(sample) // 2
    if half < 2:
        return None
    even, odd = sample[0 : 2 * half : 2].count(0), sample[1 : 2 * half : 2].count(0)
    if odd > 0.2 * half and even < 0.02 * half:
        return "utf-16-le"
    if even > 0.2 * half and odd < 0.02 * half:
        return "utf-16-be"
    return None


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF  # unified ideographs
        or 0x3400 <= cp <= 0x4DBF  # extension A
        or 0x3000 <= cp <= 0x303F  # CJK punctuation
        or 0xFF00 <= cp <= 0xFFEF  # full-width forms
        or 0x2000 <= cp <= 0x206F  # general punctuation (GBK has “ ” — …)
        or 0x3200 <= cp <= 0x33FF
    )


def _gb2312_share(sample: bytes) -> float:
    """Share of two-byte GB sequences inside GB2312's common block (both bytes 0xA1-0xFE).

    Simplified Chinese nearly always stays inside it; Big5 text, which also decodes as GBK, does not.
    """
    pairs = common = 0
    i, n = 0, len(sample) - 1
    while i < n:
        b = sample[i]
        if b < 0x80:
            i += 1
            continue
        nxt = sample[i + 1]
        if 0x30 <= nxt <= 0x39:  # four-byte GB18030 sequence
            i += 4
            continue
        pairs += 1
        common += 0xA1 <= b <= 0xF7 and nxt >= 0xA1
        i += 2
    return common / pairs if pairs else 0.0


def _looks_chinese(text: str, raw: bytes) -> bool:
    sample = text[:_SAMPLE_BYTES]
    non_ascii = [ch for ch in sample if ord(ch) > 0x7F]
    if not non_ascii:
        return False
    cjk = sum(1 for ch in non_ascii if _is_cjk(ch))
    kana = sum(1 for ch in non_ascii if 0x3040 <= ord(ch) <= 0x30FF)  # Japanese read as GB: kana are rare in Chinese
    return cjk >= 0.9 * len(non_ascii) and kana <= 0.02 * len(non_ascii) and _gb2312_share(raw[:_SAMPLE_BYTES]) >= 0.85


def _mostly_utf8(data: bytes) -> Decoded | None:
    """UTF-8 with a few damaged bytes (a truncated last character, a stray byte): keep it as UTF-8."""
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd") - data.count("\ufffd".encode())
    good = sum(1 for ch in text[: 4 * _SAMPLE_BYTES] if ord(ch) > 0x7F and ch != "\ufffd")
    if bad > 0 and good >= 10 * bad:
        return Decoded(text, "utf-8", (f"{bad} damaged UTF-8 sequence(s) were replaced with '\ufffd'",))
    return None


def _guess(data: bytes, filename: str) -> Decoded:
    from charset_normalizer import from_bytes

    results = from_bytes(data)
    if not results:  # short texts in a legacy code page can exceed the default mess threshold (0.2)
        results = from_bytes(data, threshold=_LAST_RESORT_CHAOS)
    best = results.best()
    if best is None or best.encoding is None:
        raise _not_text(filename, "no text encoding fits its bytes")
    # charset-normalizer often ranks a Baltic or Central European code page first for short Western text;
    # Windows-1252 is far more common, so it wins when it reads (almost) as cleanly.
    for match in results:
        if match.encoding == "cp1252" and match.chaos <= best.chaos + _CP1252_MARGIN:
            best = match
            break
    text = str(best)
    return Decoded(text, best.encoding, (f"encoding guessed as {best.encoding}; check for garbled characters",))


def _check_controls(decoded: Decoded, filename: str) -> Decoded:
    sample = decoded.text[:_SAMPLE_BYTES]
    controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS)
    if sample and controls > _MAX_CONTROL_RATIO * len(sample):
        raise _not_text(filename, f"{controls / len(sample):.0%} of its first characters are control characters")
    return decoded


def decode_text(data: bytes, filename: str) -> Decoded:
    """Decode a text file's bytes; raise IngestError 'does not look like text' for binary content."""
    decoded = _from_bom(data, filename)
    if decoded is None:
        decoded = _decode_without_bom(data, filename)
    return _check_controls(decoded, filename)


def _decode_without_bom(data: bytes, filename: str) -> Decoded:
    sample = data[:_SAMPLE_BYTES]
    utf16 = _utf16_without_bom(sample)
    if utf16:
        try:
            return Decoded(data.decode(utf16), utf16)
        except UnicodeDecodeError:
            pass
    if 0 in sample:
        raise _not_text(filename, "it contains NUL bytes, as binary files do")
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = ""
    if text and _looks_chinese(text, data):
        return Decoded(text, "gb18030")
    del text
    return _mostly_utf8(data) or _guess(data, filename)
