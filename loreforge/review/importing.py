"""Dataset import: JSON / JSONL / CSV files in Alpaca, ShareGPT, OpenAI-messages, multilingual-thinking or a
custom layout → `ImportedPair`s, which the service layer stores as unconfirmed dataset items.

`iter_dataset(path, ...)` is the streaming form: it yields each `ImportedPair` or `ImportIssue` as it reads
the file (a 100 MB JSONL file is never held in memory) and knows the layout it detected (`.format`).
`read_dataset(path, ...)` collects that stream: by default any issue fails the whole import with
`ImportFailed` listing every issue; with `keep_good_lines=True` the good pairs are kept and the issues
returned beside them. A file that is not UTF-8, an unknown extension, a bad mapping, a file with no records
or one whose layout cannot be told raise at once. File types: `loreforge.review.readers`; layouts:
`loreforge.review.layouts`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from loreforge.defaults import IMPORT_FORMATS
from loreforge.errors import NotFound, UserError
from loreforge.review.dataset import ImportedPair, ImportFailed, ImportIssue, ImportResult
from loreforge.review.layouts import LAYOUTS, PAIR_FIELDS, BadRecord, custom, detect
from loreforge.review.readers import READERS, RawRecord

ImportFormat = Literal["auto", "alpaca", "sharegpt", "messages", "multilingual-thinking", "custom"]
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(READERS)
_DETECT_HINT = (
    "expected alpaca (instruction/output), sharegpt (conversations), messages (messages), "
    "multilingual-thinking (user/final) or question/answer fields"
)


def _where(raw: RawRecord) -> str:
    if raw.record is None:
        return f"line {raw.line}"
    return f"record {raw.record}" + (f" (line {raw.line})" if raw.line is not None else "")


def _issue(raw: RawRecord, message: str) -> ImportIssue:
    return ImportIssue(raw.line, raw.record, f"{_where(raw)}: {message}")


def _check_mapping(mapping: Mapping[str, str]) -> dict[str, str]:
    unknown = sorted(set(mapping) - set(PAIR_FIELDS))
    if unknown:
        raise UserError(
            f"Unknown field(s) {', '.join(map(repr, unknown))} in the import mapping",
            expected=f"keys among {', '.join(PAIR_FIELDS)} (our field → your column)",
            hint="For example {'question': 'q', 'answer': 'a'}",
        )
    missing = [name for name in ("question", "answer") if not str(mapping.get(name, "")).strip()]
    if missing:
        raise UserError(
            f"The import mapping names no column for {' and '.join(missing)}",
            hint="Map both, e.g. {'question': 'q', 'answer': 'a'}",
        )
    return dict(mapping)


def _reader(path: Path) -> Callable[[Path], Iterator[RawRecord]]:
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise UserError(
            f"Cannot import {path.name}: unknown file type",
            expected=", ".join(SUPPORTED_EXTENSIONS),
            got=repr(suffix or "no extension"),
            hint="Rename the file if its content is one of these",
        )
    if not path.is_file():
        raise NotFound(f"No dataset file at {path}", hint="Check the path")
    return READERS[suffix]


class DatasetStream:
    """The pairs and issues of one dataset file, read lazily; `format` is known after the first good record."""

    def __init__(self, path: Path, format: ImportFormat = "auto", mapping: Mapping[str, str] | None = None) -> None:
        if format not in IMPORT_FORMATS:
            raise UserError(f"Unknown import format {format!r}", expected=", ".join(IMPORT_FORMATS))
        if format == "custom" and not mapping:
            raise UserError(
                "The custom import format needs a mapping", hint="Pass e.g. {'question': 'q', 'answer': 'a'}"
            )
        if mapping and format not in ("auto", "custom"):
            raise UserError(
                f"A field mapping only applies to the custom format, not {format!r}",
                hint="Pass format='custom' (or leave the format on auto) with the mapping, or drop the mapping",
            )
        self.path = Path(path)
        self._read = _reader(self.path)
        self.mapping = _check_mapping(mapping) if mapping else None
        self.format: str | None = None if format == "auto" else format
        if self.mapping and format == "auto":
            self.format = "custom"
        self._convert: Callable[[Mapping[str, Any]], ImportedPair] | None = None
        if self.format is not None:
            self._convert = custom(self.mapping or {}) if self.format == "custom" else LAYOUTS[self.format]

    def _detect(self, raw: RawRecord, record: Mapping[str, Any]) -> None:
        found = detect(set(record))
        if found is None:
            keys = ", ".join(map(repr, list(record)[:10])) or "none"
            issue = _issue(raw, f"cannot tell the dataset layout from its fields ({keys}) — {_DETECT_HINT}")
            raise ImportFailed(
                self.path.name, [issue], hint="Pass a mapping such as {'question': 'q', 'answer': 'a'}"
            )
        self.format, mapping = found
        self.mapping = mapping if mapping is not None else self.mapping
        self._convert = custom(mapping) if mapping is not None else LAYOUTS[self.format]

    def _one(self, raw: RawRecord) -> ImportedPair | ImportIssue:
        if raw.error is not None:
            return _issue(raw, raw.error)
        if not isinstance(raw.data, dict):
            kind = "a list" if isinstance(raw.data, list) else f"a JSON {type(raw.data).__name__}"
            return _issue(raw, f"expected an object with the record's fields, got {kind}")
        if self._convert is None:
            self._detect(raw, raw.data)
        assert self._convert is not None
        try:
            pair = self._convert(raw.data)
        except BadRecord as exc:
            return _issue(raw, str(exc))
        return replace(pair, record=raw.record, line=raw.line)

    def __iter__(self) -> Iterator[ImportedPair | ImportIssue]:
        for raw in self._read(self.path):
            yield self._one(raw)


def iter_dataset(
    path: Path, *, format: ImportFormat = "auto", mapping: Mapping[str, str] | None = None
) -> DatasetStream:
    """Stream a dataset file: iterate the result for `ImportedPair`s and `ImportIssue`s, in file order.

    Arguments are checked at once (unknown extension, missing file, bad mapping raise here); reading starts
    on iteration, and a file that is not UTF-8 or whose layout cannot be told raises `ImportFailed` then.
    """
    return DatasetStream(Path(path), format, mapping)


def read_dataset(
    path: Path,
    *,
    format: ImportFormat = "auto",
    mapping: dict[str, str] | None = None,
    keep_good_lines: bool = False,
) -> ImportResult:
    """Read a whole dataset file (see `iter_dataset`).

    Without `keep_good_lines`, any issue raises `ImportFailed` carrying all of them; with it, the good pairs
    are returned and the issues listed in `errors`. A file without a single good pair always fails.
    """
    stream = iter_dataset(path, format=format, mapping=mapping)
    pairs: list[ImportedPair] = []
    errors: list[ImportIssue] = []
    for item in stream:
        if isinstance(item, ImportedPair):
            pairs.append(item)
        else:
            errors.append(item)
    name = stream.path.name
    if not pairs and not errors:
        raise UserError(f"{name} holds no records", hint="Check that it is the file you meant to import")
    if errors and (not keep_good_lines or not pairs):
        raise ImportFailed(name, errors, good=len(pairs) if not keep_good_lines else 0)
    return ImportResult(pairs=pairs, errors=errors, format=stream.format or format)
