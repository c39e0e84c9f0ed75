"""Import action: read a JSON / JSONL / CSV dataset (Alpaca, ShareGPT, messages, custom mapping) and store
its pairs as unconfirmed dataset items, streamed in batches inside one transaction — a file with problems
is refused as a whole (every problem listed) unless the good records are asked for."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from loreforge.service import lookups
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

        stream = iter_dataset(Path(path), format=format, mapping=mapping)  # type: ignore[arg-type]
        issues: list[ImportIssue] = []
        imported = 0
        with self.db.session() as session:
            row = lookups.project(session, project)
            batch: list[dict[str, Any]] = []
            for entry in stream:
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
                from loreforge.errors import UserError

                raise UserError(f"{stream.path.name} holds no records", hint="Check that it is the file you meant to import")
        return ImportReport(
            format=stream.format or format,
            imported=imported,
            skipped=len(issues),
            issues=[{"line": i.line, "record": i.record, "message": i.message} for i in issues[:ISSUES_SHOWN]],
        )


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
