"""Import action: read a JSON / JSONL / CSV dataset (Alpaca, ShareGPT, messages, custom mapping) and store
its pairs as unconfirmed dataset items, streamed in batches inside one transaction — a file with problems
is refused as a whole (every problem listed) unless the good records are asked for. A record whose text
cannot be stored (NUL, a lone surrogate from an unpaired JSON escape) is one of those problems, named by its
record, line and field; reading goes on with the rest."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from loreforge.errors import UserError
from loreforge.service import lookups, text_input
from loreforge.service.base import ServiceBase
from loreforge.store.models import DatasetItem
from loreforge.views import ImportReport

if TYPE_CHECKING:
    from loreforge.review import ImportedPair, ImportIssue

INSERT_BATCH = 1000
ISSUES_SHOWN = 200


class ImportActions(ServiceBase):
    def import_dataset(
        self, project: str | int, path: str | Path, format: str = "auto", mapping: dict[str, str] | None = None,
        keep_good_lines: bool = False,
    ) -> ImportReport:
        from loreforge.review import ImportedPair, ImportFailed, iter_dataset

        mapping = _check_mapping(mapping)
        stream = iter_dataset(Path(path), format=format, mapping=mapping)  # type: ignore[arg-type]
        issues: list[ImportIssue] = []
        imported = 0
        with self.db.session() as session:
            row = lookups.project(session, project)
            batch: list[dict[str, Any]] = []
            for entry in stream:
                entry = _checked(entry) if isinstance(entry, ImportedPair) else _printable(entry)
                if not isinstance(entry, ImportedPair):
                    issues.append(entry)
                    continue
                batch.append(_row(row.id, entry))
                if len(batch) >= INSERT_BATCH:
                    session.execute(insert(DatasetItem), batch)
                    imported += len(batch)
                    batch = []
            if batch:
                session.execute(insert(DatasetItem), batch)
                imported += len(batch)
            if issues and (not keep_good_lines or not imported):
                raise ImportFailed(stream.path.name, issues, good=0 if keep_good_lines else imported)
            if not imported:
                raise UserError(f"{stream.path.name} holds no records", hint="Check that it is the file you meant to import")
        return ImportReport(
            format=stream.format or format,
            imported=imported,
            skipped=len(issues),
            issues=[{"line": i.line, "record": i.record, "message": i.message} for i in issues[:ISSUES_SHOWN]],
        )


def _check_mapping(mapping: Any) -> dict[str, str] | None:
    """The custom-format mapping as the readers take it: our field names to the file's column names."""
    if not mapping:
        return None
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        got = type(mapping).__name__ if not isinstance(mapping, dict) else "an object with a value that is not text"
        raise UserError("Invalid import mapping", expected="an object of text to text, our field → your column",
                        got=got, hint="For example {'question': 'q', 'answer': 'a'}")
    return mapping


def _checked(pair: ImportedPair) -> ImportedPair | ImportIssue:
    """`pair`, or the issue naming its record and the field whose text cannot be stored."""
    from loreforge.review import ImportIssue

    texts = {"question": pair.question, "answer": pair.answer, "cot": pair.cot, "system": pair.system,
             "tag": pair.tag}
    for turn, (question, answer) in enumerate(pair.history, 1):
        texts[f"history turn {turn} question"], texts[f"history turn {turn} answer"] = question, answer
    for field, text in texts.items():
        bad = text_input.problem(text)
        if bad is not None:
            where = f"record {pair.record}" + (f" (line {pair.line})" if pair.line is not None else "")
            return ImportIssue(pair.line, pair.record, f"{where}: {field} holds {bad}")
    return pair


def _printable(issue: ImportIssue) -> ImportIssue:
    """`issue` with any NUL or lone surrogate it quotes from the file escaped, so the message can be shown."""
    from dataclasses import replace

    message = text_input.printable(issue.message)
    return issue if message == issue.message else replace(issue, message=message)


def _row(project_id: int, pair: ImportedPair) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "question": pair.question,
        "answer": pair.answer,
        "cot": pair.cot,
        "tag": pair.tag,
        "system": pair.system,
        "history": [list(t) for t in pair.history] or None,
        "source": "import",
        "confirmed": False,
    }
