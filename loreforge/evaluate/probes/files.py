"""Probe files: the user's own probes read from JSONL or CSV, and any probe set written back out.

One record per probe. `question` is required, and a `reference` answer or a `key` (the checkable value); the
rest is optional: `document` (a document's id or file name in the project), `tag`, `key_kind`, and — to read
back what `probes export` wrote — `kind`, `qtype`, `options` and `answer` (CSV cells hold them as JSON), and
`source_question`. A key left out is found in the reference as for built probes. Bad records are reported by
line number and the rest are read; a file that is not JSONL or CSV is refused as a whole.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loreforge.errors import UserError
from loreforge.evaluate.probes.keys import find_key, values
from loreforge.evaluate.probes.records import CHOICE_QTYPES, KEY_KINDS, KINDS, QTYPES, ProbeDraft

SUFFIXES = (".jsonl", ".csv")
FIELDS: tuple[str, ...] = ("kind", "qtype", "question", "reference", "key", "key_kind", "options", "answer", "document",
                           "tag", "source_question")


class BadProbe(Exception):
    """One record that cannot be a probe; the message names the field."""


@dataclass(frozen=True)
class ReadProbe:
    """A probe read from a file: the draft, the `document` it names (resolved by the service) and its line."""

    draft: ProbeDraft
    document: str | None
    line: int | None


@dataclass(frozen=True)
class FileIssue:
    line: int | None
    message: str


def _text(record: Mapping[str, Any], name: str, required: bool = False) -> str | None:
    value = record.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadProbe(f"'{name}' is missing or empty")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadProbe(f"'{name}' must be text, got {type(value).__name__}")
    return str(value).strip()


def _json_cell(value: Any, name: str) -> Any:
    """A CSV cell holding JSON (options, answer) parsed; other values as they are."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        raise BadProbe(f"'{name}' is not valid JSON: {value[:60]!r}") from None


def _choice(record: Mapping[str, Any], qtype: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    options = _json_cell(record.get("options"), "options")
    if not isinstance(options, list) or len(options) < 2 or not all(isinstance(o, str) and o.strip() for o in options):
        raise BadProbe(f"a {qtype} probe needs 'options': a list of at least 2 non-empty texts")
    answer = _json_cell(record.get("answer"), "answer")
    answer = [answer] if isinstance(answer, int) and not isinstance(answer, bool) else answer
    if (not isinstance(answer, list) or not answer or not all(isinstance(a, int) and not isinstance(a, bool) for a in answer)
            or not all(0 <= a < len(options) for a in answer) or len(set(answer)) != len(answer)):
        raise BadProbe(f"'answer' must list the correct option indices (0 to {len(options) - 1})")
    if qtype == "single_choice" and len(answer) != 1:
        raise BadProbe(f"a single_choice probe has exactly one correct option, got {len(answer)}")
    return tuple(o.strip() for o in options), tuple(sorted(answer))


def _truth(record: Mapping[str, Any]) -> bool:
    value = record.get("answer")
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise BadProbe("a true_false probe needs 'answer': true or false")
    return value


def _named(record: Mapping[str, Any], name: str, allowed: Sequence[str], default: str) -> str:
    value = (_text(record, name) or default).replace("-", "_")
    if value not in allowed:
        raise BadProbe(f"'{name}' must be one of {', '.join(allowed)}, got {value!r}")
    return value


def parse_record(record: Any, provenance: dict[str, Any]) -> tuple[ProbeDraft, str | None]:
    """One file record as a probe draft and the document it names; `BadProbe` says what is wrong."""
    if not isinstance(record, Mapping):
        raise BadProbe(f"expected an object with 'question' and 'reference', got {type(record).__name__}")
    question = _text(record, "question", required=True)
    assert question is not None
    reference, key = _text(record, "reference") or "", _text(record, "key")
    if not reference and key is None:
        raise BadProbe("needs a 'reference' answer or a 'key'")
    kind, qtype = _named(record, "kind", KINDS, "user"), _named(record, "qtype", QTYPES, "open")
    key_kind = _text(record, "key_kind")
    if key_kind is not None and key_kind not in KEY_KINDS:
        raise BadProbe(f"'key_kind' must be one of {', '.join(KEY_KINDS)}, got {key_kind!r}")
    if key is None:
        found = find_key(reference, question)
        key, key_kind = (found.text, found.kind) if found else (None, None)
    elif key_kind is None:
        stated = values(key)
        key_kind = stated[0].kind if stated else None
    options, answer = _choice(record, qtype) if qtype in CHOICE_QTYPES else (None, None)
    truth = _truth(record) if qtype == "true_false" else None
    draft = ProbeDraft(kind=kind, qtype=qtype, question=question, reference=reference, key=key, key_kind=key_kind,
                       options=options, answer=answer if options is not None else truth, tag=_text(record, "tag"),
                       source_question=_text(record, "source_question"), provenance=provenance)
    return draft, _text(record, "document")


def read_probes(path: Path) -> tuple[list[ReadProbe], list[FileIssue]]:
    """The good probes of a JSONL or CSV file and an issue per bad record (by line)."""
    from loreforge.review.readers import read_csv, read_jsonl

    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UserError(f"Cannot read probes from {path.name}", expected="a .jsonl or .csv file", got=suffix or "no suffix",
                        hint="One probe per JSONL line or CSV row, with question and reference (optional key, document)")
    reader = read_jsonl if suffix == ".jsonl" else read_csv
    good: list[ReadProbe] = []
    issues: list[FileIssue] = []
    for raw in reader(path):
        where = f"line {raw.line}" if raw.line is not None else f"record {raw.record}"
        if raw.error is not None:
            issues.append(FileIssue(raw.line, f"{where}: {raw.error}"))
            continue
        try:
            draft, document = parse_record(raw.data, {"source": "import", "file": path.name, "line": raw.line})
        except BadProbe as exc:
            issues.append(FileIssue(raw.line, f"{where}: {exc}"))
            continue
        good.append(ReadProbe(draft, document, raw.line))
    return good, issues


def _plain(probe: Mapping[str, Any], name: str) -> Any:
    value = probe.get(name)
    return list(value) if isinstance(value, tuple) else value


def probe_records(probes: Sequence[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """Probes (dicts with FIELDS) as file records, empty fields left out."""
    for probe in probes:
        yield {name: _plain(probe, name) for name in FIELDS if _plain(probe, name) not in (None, "")}


def write_probes(path: Path, probes: Sequence[Mapping[str, Any]]) -> int:
    """Write probes as JSONL or CSV (by the suffix); returns how many were written."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UserError(f"Cannot write probes to {path.name}", expected="a .jsonl or .csv file name", got=suffix or "no suffix")
    rows = list(probe_records(probes))
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("w", encoding="utf-8", newline="") as out:
            _write(out, suffix, rows)
        tmp.replace(path)
    except OSError as exc:
        if tmp.parent.is_dir():
            tmp.unlink(missing_ok=True)
        raise UserError(f"Cannot write {path}", got=f"{type(exc).__name__}: {exc.strerror or exc}",
                        hint="Choose a writable file with --out") from None
    return len(rows)


def _write(out: Any, suffix: str, rows: list[dict[str, Any]]) -> None:
    if suffix == ".jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    writer = csv.DictWriter(out, fieldnames=list(FIELDS))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, (list, bool)) else v for k, v in row.items()})
