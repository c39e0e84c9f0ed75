"""Streaming writers: rows (dicts from `loreforge.export.formats`) to JSON, JSONL, CSV, Parquet or a
Hugging Face `datasets` folder, one row at a time, never holding the whole file in memory.

Each writer is opened on a path, takes `write(row)` calls and returns a `WriteResult` (path, row count,
sha256) from `close()`; `abort()` removes what it wrote. `write_rows` does the three in one call.

- JSON: one array, one compact record per line (`[\\n{...},\\n{...}\\n]\\n`), UTF-8, non-ASCII kept.
- JSONL: one compact record per line.
- CSV: a header from the first row (or `fieldnames`); strings as they are, every other value (lists,
  dicts, numbers, booleans) JSON-encoded, None as an empty cell; quoting by the csv module, so embedded
  newlines, quotes and commas read back unchanged with `csv.DictReader(open(p, newline=""))`.
- Parquet (needs pyarrow): row groups of `ROW_GROUP_ROWS` rows; the schema comes from `sample` (a fully
  filled record) or the first row group, with all-null columns typed as strings.
- HF folder (needs datasets): a Parquet file streamed to a temporary path, then
  `Dataset.from_parquet(...).save_to_disk(path)`; its sha256 covers every file in the folder (sorted
  relative paths and their contents' hashes).
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from loreforge.errors import MissingDependency

Record = dict[str, Any]
ROW_GROUP_ROWS = 10_000
_CHUNK = 1 << 20


@dataclass(frozen=True)
class WriteResult:
    """What a writer produced: the file (or folder), how many rows, and its sha256."""

    path: Path
    count: int
    sha256: str


class RowWriter(Protocol):
    path: Path

    def write(self, row: Record) -> None: ...

    def close(self) -> WriteResult: ...

    def abort(self) -> None: ...


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, or of a folder's files (sorted relative paths + each file's sha256)."""
    digest = hashlib.sha256()
    if path.is_dir():
        for item in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(item.relative_to(path).as_posix().encode("utf-8") + b"\0")
            digest.update(file_sha256(item).encode("ascii") + b"\n")
        return digest.hexdigest()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def dumps(row: Any) -> str:
    return json.dumps(row, ensure_ascii=False)


class _HashingText:
    """A text sink that encodes to UTF-8, hashes and writes to a binary file."""

    def __init__(self, path: Path) -> None:
        self._fh: IO[bytes] = path.open("wb")
        self.digest = hashlib.sha256()

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        self.digest.update(data)
        self._fh.write(data)
        return len(text)

    def close(self) -> None:
        self._fh.close()


class _TextWriter:
    """Shared bookkeeping of the JSON, JSONL and CSV writers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._out = _HashingText(path)

    def _finish(self) -> WriteResult:
        self._out.close()
        return WriteResult(self.path, self.count, self._out.digest.hexdigest())

    def abort(self) -> None:
        self._out.close()
        self.path.unlink(missing_ok=True)


class JsonWriter(_TextWriter):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._out.write("[")

    def write(self, row: Record) -> None:
        self._out.write(("\n" if self.count == 0 else ",\n") + dumps(row))
        self.count += 1

    def close(self) -> WriteResult:
        self._out.write("\n]\n" if self.count else "]\n")
        return self._finish()


class JsonlWriter(_TextWriter):
    def write(self, row: Record) -> None:
        self._out.write(dumps(row) + "\n")
        self.count += 1

    def close(self) -> WriteResult:
        return self._finish()


def csv_cell(value: Any) -> str:
    """A CSV cell: strings unchanged, None empty, anything else JSON-encoded."""
    if isinstance(value, str):
        return value
    return "" if value is None else dumps(value)


class CsvWriter(_TextWriter):
    def __init__(self, path: Path, fieldnames: list[str] | None = None) -> None:
        super().__init__(path)
        self._fields = fieldnames
        self._csv = csv.writer(self._out, lineterminator="\r\n")
        if fieldnames is not None:
            self._csv.writerow(fieldnames)

    def write(self, row: Record) -> None:
        if self._fields is None:
            self._fields = list(row)
            self._csv.writerow(self._fields)
        extra = set(row) - set(self._fields)
        if extra:
            raise ValueError(f"CSV row has fields {sorted(extra)} not in the header {self._fields}")
        self._csv.writerow([csv_cell(row.get(name)) for name in self._fields])
        self.count += 1

    def close(self) -> WriteResult:
        return self._finish()


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError as exc:
        raise MissingDependency("pyarrow", extra="export", purpose="Parquet export") from exc
    return pyarrow


def _no_nulls(pa: Any, typ: Any) -> Any:
    """The Arrow type with every null type (from all-None or empty-list columns) replaced by string."""
    if pa.types.is_null(typ):
        return pa.string()
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        return pa.list_(_no_nulls(pa, typ.value_type))
    if pa.types.is_struct(typ):
        return pa.struct([pa.field(f.name, _no_nulls(pa, f.type)) for f in typ])
    return typ


def arrow_schema(rows: list[Record]) -> Any:
    """An Arrow schema for rows like these, with null-typed columns made strings."""
    pa = _pyarrow()
    inferred = pa.Table.from_pylist(rows).schema
    return pa.schema([pa.field(f.name, _no_nulls(pa, f.type)) for f in inferred])


class ParquetWriter:
    def __init__(self, path: Path, sample: Record | None = None, row_group_rows: int = ROW_GROUP_ROWS) -> None:
        self._pa = _pyarrow()
        self.path = path
        self.count = 0
        self._rows: list[Record] = []
        self._group = row_group_rows
        self._schema = arrow_schema([sample]) if sample is not None else None
        self._writer: Any = None

    def write(self, row: Record) -> None:
        self._rows.append(row)
        self.count += 1
        if len(self._rows) >= self._group:
            self._flush()

    def _flush(self) -> None:
        if self._schema is None:
            self._schema = arrow_schema(self._rows) if self._rows else self._pa.schema([])
        if self._writer is None:
            self._writer = self._pa.parquet.ParquetWriter(str(self.path), self._schema)
        if self._rows:
            table = self._pa.Table.from_pylist(self._rows, schema=self._schema)
            self._writer.write_table(table, row_group_size=self._group)
            self._rows = []

    def close(self) -> WriteResult:
        self._flush()
        self._writer.close()
        return WriteResult(self.path, self.count, file_sha256(self.path))

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self.path.unlink(missing_ok=True)


def _datasets() -> Any:
    try:
        import datasets
    except ImportError as exc:
        raise MissingDependency("datasets", extra="export", purpose="Hugging Face datasets export") from exc
    return datasets


class HFDatasetWriter:
    """A `datasets.Dataset` folder written by `save_to_disk`, built from a streamed temporary Parquet file."""

    def __init__(self, path: Path, sample: Record | None = None) -> None:
        self._datasets = _datasets()
        self.path = path
        self._tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
        self._parquet = ParquetWriter(self._tmp / "rows.parquet", sample=sample)

    def write(self, row: Record) -> None:
        self._parquet.write(row)

    def close(self) -> WriteResult:
        datasets = self._datasets
        try:
            written = self._parquet.close()
            bars = datasets.is_progress_bar_enabled()
            datasets.disable_progress_bars()
            try:
                dataset = datasets.Dataset.from_parquet(str(written.path), cache_dir=str(self._tmp / "cache"))
                dataset.save_to_disk(str(self.path))
            finally:
                if bars:
                    datasets.enable_progress_bars()
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)
        return WriteResult(self.path, written.count, file_sha256(self.path))

    def abort(self) -> None:
        self._parquet.abort()
        shutil.rmtree(self._tmp, ignore_errors=True)
        shutil.rmtree(self.path, ignore_errors=True)


EXTENSIONS: dict[str, str] = {"json": ".json", "jsonl": ".jsonl", "csv": ".csv", "parquet": ".parquet", "hf": ""}


def output_name(stem: str, file_type: str) -> str:
    """`train` + `json` -> `train.json`; an HF folder has no extension."""
    return stem + EXTENSIONS[file_type]


def open_writer(path: Path, file_type: str, *, sample: Record | None = None) -> RowWriter:
    """A writer for `file_type` on `path`; `sample` (a fully filled record) fixes Parquet/HF column types."""
    if file_type == "json":
        return JsonWriter(path)
    if file_type == "jsonl":
        return JsonlWriter(path)
    if file_type == "csv":
        return CsvWriter(path, list(sample) if sample is not None else None)
    if file_type == "parquet":
        return ParquetWriter(path, sample=sample)
    if file_type == "hf":
        return HFDatasetWriter(path, sample=sample)
    raise ValueError(f"unknown file type {file_type!r}; expected one of {sorted(EXTENSIONS)}")


def write_rows(rows: Iterable[Record], path: Path, file_type: str, *, sample: Record | None = None) -> WriteResult:
    """Stream `rows` into one file of `file_type`; on any error the partial output is removed."""
    writer = open_writer(path, file_type, sample=sample)
    try:
        for row in rows:
            writer.write(row)
    except BaseException:
        writer.abort()
        raise
    return writer.close()
