"""Streaming readers for dataset files: JSON, JSONL and CSV, one record at a time.

Fed a path by `loreforge.review.importing`, each reader yields `RawRecord`s (the parsed value, or why it could
not be parsed, with its line and record number) without holding the file in memory:

- **.jsonl**: one JSON value per line, read as bytes and decoded line by line; blank lines are skipped; an
  invalid line becomes a RawRecord with an error and reading goes on.
- **.json**: a top-level array is streamed element by element (`json.JSONDecoder.raw_decode` over a sliding
  buffer); an object holding the records as a list under "data" or "items" is read whole. A syntax error
  ends the file (nothing after it can be trusted).
- **.csv**: RFC 4180 via the csv module (quoted cells may hold commas, quotes and newlines), a header row,
  UTF-8 with or without BOM; each row becomes a dict keyed by the header.

Every reader accepts a leading UTF-8 BOM and raises `ImportFailed` when the bytes are not UTF-8. A JSON value
nested deeper than Python's parser can go (`[` × 100,000) is a bad record like any syntax error, not a crash.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from loreforge.review.dataset import ImportFailed, ImportIssue

READ_CHUNK = 1 << 20  # characters read at a time from a .json file
MAX_RECORD_CHARS = 64 << 20  # a .json element larger than this is reported as invalid rather than buffered
CSV_FIELD_LIMIT = 64 << 20
_NOT_UTF8_HINT = "Save it as UTF-8 (for a GBK file: `iconv -f GBK -t UTF-8 in.csv > out.csv`) and import again"
_WRAPPER_KEYS = ("data", "items")
TOO_DEEP = "invalid JSON — nested too deeply (arrays or objects more than about 1,000 levels inside each other)"
TOO_LONG = "invalid JSON — a number too long to read (more than 4,300 digits)"  # Python's int conversion limit


@dataclass(frozen=True)
class RawRecord:
    """One record as read from the file: its parsed value, or `error` when it could not be parsed."""

    line: int | None
    record: int | None
    data: Any = None
    error: str | None = None


def not_utf8(path: Path, line: int | None, exc: UnicodeDecodeError) -> ImportFailed:
    where = f"line {line}" if line is not None else "the file"
    byte = exc.object[exc.start : exc.start + 1].hex() if isinstance(exc.object, bytes) else "?"
    message = f"{where}: not UTF-8 text (byte 0x{byte})"
    return ImportFailed(path.name, [ImportIssue(line, None, message)], hint=_NOT_UTF8_HINT)


def read_jsonl(path: Path) -> Iterator[RawRecord]:
    record = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise not_utf8(path, number, exc) from None
            text = (text.removeprefix("\ufeff") if number == 1 else text).strip()
            if not text:
                continue
            record += 1
            try:
                yield RawRecord(number, record, json.loads(text))
            except json.JSONDecodeError as exc:
                yield RawRecord(number, None, error=f"invalid JSON — {exc.msg} at column {exc.colno}")
            except RecursionError:
                yield RawRecord(number, None, error=TOO_DEEP)
            except ValueError:
                yield RawRecord(number, None, error=TOO_LONG)


class _Broken(Exception):
    """A syntax error inside a streamed JSON array: where, and what."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


class _JsonArray:
    """Streams the elements of a top-level JSON array from a text file through a sliding buffer."""

    def __init__(self, path: Path, handle: TextIO, buffer: str) -> None:
        self.path, self.handle, self.buffer = path, handle, buffer
        self.pos = 0
        self.line = 1  # line number at self.pos
        self.eof = False
        self.decoder = json.JSONDecoder()

    def _more(self) -> bool:
        if self.eof:
            return False
        try:
            chunk = self.handle.read(READ_CHUNK)
        except UnicodeDecodeError as exc:
            raise not_utf8(self.path, self.line + self.buffer.count("\n", self.pos), exc) from None
        if not chunk:
            self.eof = True
            return False
        self.buffer = self.buffer[self.pos :] + chunk
        self.pos = 0
        return True

    def _skip_space(self) -> str:
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in " \t\r\n":
                self.line += self.buffer[self.pos] == "\n"
                self.pos += 1
            if self.pos < len(self.buffer) or not self._more():
                return self.buffer[self.pos : self.pos + 1]

    def _truncated(self, exc: json.JSONDecodeError) -> bool:
        """Whether the error may only mean that the buffer ends inside the element (so read on)."""
        return exc.msg.startswith("Unterminated string") or exc.pos >= len(self.buffer) - 8

    def _element(self) -> Any:
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as exc:
                if not self._truncated(exc) or len(self.buffer) - self.pos > MAX_RECORD_CHARS or not self._more():
                    line = self.line + self.buffer.count("\n", self.pos, exc.pos)
                    raise _Broken(line, f"invalid JSON — {exc.msg}") from None
                continue
            except RecursionError:
                raise _Broken(self.line, TOO_DEEP) from None
            except ValueError:  # not a syntax error: Python's limit on the digits of an int
                raise _Broken(self.line, TOO_LONG) from None
            self.line += self.buffer.count("\n", self.pos, end)
            self.pos = end
            return value

    def __iter__(self) -> Iterator[RawRecord]:
        self.pos += 1  # the opening "["
        record = 0
        try:
            if self._skip_space() == "]":
                return
            while True:
                record += 1
                start_line = self.line
                yield RawRecord(start_line, record, self._element())
                separator = self._skip_space()
                if separator == "]":
                    return
                if separator != ",":
                    raise _Broken(self.line, f"invalid JSON — expected ',' or ']' after record {record}")
                self.pos += 1
                self._skip_space()
        except _Broken as exc:
            yield RawRecord(exc.line, None, error=str(exc))


def read_json(path: Path) -> Iterator[RawRecord]:
    with path.open("r", encoding="utf-8-sig") as handle:
        try:
            head = handle.read(READ_CHUNK)
        except UnicodeDecodeError as exc:
            raise not_utf8(path, None, exc) from None
        stripped = head.lstrip()
        if stripped.startswith("["):
            array = _JsonArray(path, handle, stripped)
            array.line = 1 + head[: len(head) - len(stripped)].count("\n")
            yield from array
            return
        yield from _read_wrapped(path, head, handle)


def _read_wrapped(path: Path, head: str, handle: TextIO) -> Iterator[RawRecord]:
    try:
        text = head + handle.read()
    except UnicodeDecodeError as exc:
        raise not_utf8(path, None, exc) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        yield RawRecord(exc.lineno, 1, error=f"invalid JSON — {exc.msg} at column {exc.colno}")
        return
    except RecursionError:
        yield RawRecord(1, 1, error=TOO_DEEP)
        return
    except ValueError:
        yield RawRecord(1, 1, error=TOO_LONG)
        return
    wrapped = [document[k] for k in _WRAPPER_KEYS if isinstance(document, dict) and isinstance(document.get(k), list)]
    if not wrapped:
        if isinstance(document, dict):
            got = "an object with keys " + ", ".join(map(repr, list(document)[:8]))
        else:
            got = f"a JSON {type(document).__name__}"
        expected = "expected an array of records, or an object with a list under 'data' or 'items'"
        raise ImportFailed(
            path.name,
            [ImportIssue(1, None, f"{expected}; got {got}")],
            hint="Use one JSON array of objects (or JSONL, one object per line)",
        )
    records = wrapped[0]
    for number, value in enumerate(records, 1):
        yield RawRecord(None, number, value)


def read_csv(path: Path) -> Iterator[RawRecord]:
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            yield from _csv_rows(reader)
        except UnicodeDecodeError as exc:
            raise not_utf8(path, reader.line_num + 1, exc) from None
        except csv.Error as exc:
            yield RawRecord(reader.line_num, None, error=f"unreadable CSV — {exc}")


def _csv_rows(reader: Any) -> Iterator[RawRecord]:
    header = [name.strip() for name in next(reader, [])]
    record, previous = 0, reader.line_num
    for row in reader:
        start, previous = previous + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        record += 1
        if len(row) != len(header):
            yield RawRecord(start, record, error=f"has {len(row)} cells but the header has {len(header)}")
            continue
        yield RawRecord(start, record, dict(zip(header, row, strict=True)))


READERS: dict[str, Callable[[Path], Iterator[RawRecord]]] = {
    ".jsonl": read_jsonl,
    ".json": read_json,
    ".csv": read_csv,
}
