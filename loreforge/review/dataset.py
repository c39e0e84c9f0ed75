"""The records and the error of dataset import (`loreforge.review.importing`).

`ImportedPair` is one QA pair read from a file, before the service stores it as an unconfirmed item;
`ImportIssue` is one problem with one record or line; `ImportResult` is what `read_dataset` returns;
`ImportFailed` is raised when the file cannot be imported as asked, carrying every issue found.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from loreforge.errors import UserError

_SHOWN_ISSUES = 5


@dataclass(frozen=True)
class ImportedPair:
    """One QA pair read from a dataset file. `history` holds earlier (question, answer) turns."""

    question: str
    answer: str
    cot: str = ""
    system: str = ""
    tag: str = ""
    history: tuple[tuple[str, str], ...] = ()
    record: int | None = None  # 1-based position of the record in the file
    line: int | None = None  # line where the record starts (None when unknown)


@dataclass(frozen=True)
class ImportIssue:
    """One problem: where it is (line and/or record, 1-based) and a message that names both."""

    line: int | None
    record: int | None
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ImportResult:
    """What `read_dataset` read: the good pairs, the issues (only kept with keep_good_lines) and the format
    used (the one asked for, or the one detected)."""

    pairs: list[ImportedPair]
    errors: list[ImportIssue] = field(default_factory=list)
    format: str = ""


class ImportFailed(UserError):
    """The dataset file cannot be imported as asked; `issues` lists every problem found."""

    http_status = 422

    def __init__(self, filename: str, issues: list[ImportIssue], *, good: int = 0, hint: str | None = None) -> None:
        self.filename = filename
        self.issues = issues
        self.good = good
        shown = "; ".join(issue.message for issue in issues[:_SHOWN_ISSUES])
        more = len(issues) - _SHOWN_ISSUES
        if more > 0:
            shown += f"; … and {more} more"
        if hint is None and good:
            records = "record" if good == 1 else f"{good} records"
            hint = f"Fix them, or import with keep_good_lines to keep the good {records} and skip the bad ones"
        count = f"{len(issues)} problem" + ("" if len(issues) == 1 else "s")
        super().__init__(f"Cannot import {filename} — {count}: {shown}", hint=hint)
