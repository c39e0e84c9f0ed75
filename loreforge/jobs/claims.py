"""Work items claimed in the store before any work starts — how several processes, or several machines sharing
one PostgreSQL store, split a stage's work and never do an item twice.

`work_claims` holds one row per (project, kind, item key) — the item key carries the hash of the item's input,
prompt and model, so changed work gets a new key. A job claims a batch of keys just before working on them:

- a key nobody has is inserted as `claimed` by this job (`INSERT ... ON CONFLICT DO NOTHING`, atomic on SQLite
  and PostgreSQL alike);
- a key another job holds is taken over only when that job is no longer active (its worker is lost or it
  ended), when the item was given back (`pending`), when it failed before this job began (a failure while this
  job runs is left to the next run or `jobs retry`: jobs running side by side split one pass, and never ask an
  item twice in it), or — with `--force` — when it was done before this job began; every take-over is a
  compare-and-set on the row's (owner, status), so two takers never both win;
- any other key is left to its owner and reported (`done by job 7`, `job 7 is working on it`).

The job's writer marks a key `done` or `failed` in the same transaction that stores its results, and only if
the job still holds it (`settle`); a job that lost its claim stores nothing. Keys claimed but not finished go
back to `pending` when the job ends (`release_claims`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loreforge.jobs.status import effective_status, ACTIVE
from loreforge.store.models import Job, WorkClaim, utcnow


@dataclass
class Claimed:
    """The outcome of one claim: the keys this job now holds, and why it does not hold the others."""

    mine: list[str] = field(default_factory=list)
    elsewhere: dict[str, str] = field(default_factory=dict)


def claim(session: Session, job_id: int, project_id: int, kind: str, keys: Sequence[str],
          retake_done_before: datetime | None = None) -> Claimed:
    """Claim `keys` for job `job_id` (see the module docstring). `retake_done_before`: with --force, items done
    before this moment are done again."""
    result = Claimed()
    if not keys:
        return result
    _insert_missing(session, job_id, project_id, kind, keys)
    began = session.scalar(select(Job.started_at).where(Job.id == job_id))
    rows = session.execute(
        select(WorkClaim, Job).outerjoin(Job, Job.id == WorkClaim.job_id)
        .where(WorkClaim.project_id == project_id, WorkClaim.kind == kind, WorkClaim.item_key.in_(list(keys)))
    ).all()
    for row, owner in rows:
        if row.job_id == job_id and row.status == "claimed":
            result.mine.append(row.item_key)
        elif _can_take(row, owner, retake_done_before, began) and _take(session, row, job_id):
            result.mine.append(row.item_key)
        else:
            result.elsewhere[row.item_key] = _reason(row, owner)
    return result


def _insert_missing(session: Session, job_id: int, project_id: int, kind: str, keys: Sequence[str]) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    now = utcnow()
    rows = [{"project_id": project_id, "kind": kind, "item_key": k, "job_id": job_id, "status": "claimed",
             "created_at": now, "updated_at": now} for k in dict.fromkeys(keys)]
    stmt = insert(WorkClaim).on_conflict_do_nothing(index_elements=["project_id", "kind", "item_key"])
    session.execute(stmt, rows)


def _can_take(row: WorkClaim, owner: Job | None, retake_done_before: datetime | None, began: datetime | None) -> bool:
    if row.status == "pending":
        return True
    if row.status == "failed":
        return began is None or _aware(row.updated_at) < _aware(began)
    if row.status == "claimed":
        return owner is None or effective_status(owner) not in ACTIVE
    if row.status == "done" and retake_done_before is not None:
        return _aware(row.updated_at) < _aware(retake_done_before)
    return False


def _take(session: Session, row: WorkClaim, job_id: int) -> bool:
    moved = session.execute(
        update(WorkClaim)
        .where(WorkClaim.id == row.id, WorkClaim.status == row.status, WorkClaim.job_id.is_not_distinct_from(row.job_id))
        .values(job_id=job_id, status="claimed", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(moved)


def _reason(row: WorkClaim, owner: Job | None) -> str:
    who = f"job {row.job_id}" if row.job_id else "an earlier job"
    if row.status == "done":
        return f"done by {who}"
    if row.status == "failed":
        return f"failed in {who} while this job ran: the next run (or `loreforge jobs retry`) tries it again"
    if owner is not None and effective_status(owner) in ACTIVE:
        return f"{who} is working on it"
    return f"taken by another job just now (was {row.status} by {who})"


def settle(session: Session, job_id: int, project_id: int, kind: str, key: str, status: str) -> bool:
    """Mark a claimed key `done` or `failed` — only while this job still holds it. Call it in the transaction
    that stores the key's results, and store nothing when it returns False."""
    moved = session.execute(
        update(WorkClaim)
        .where(WorkClaim.project_id == project_id, WorkClaim.kind == kind, WorkClaim.item_key == key,
               WorkClaim.job_id == job_id, WorkClaim.status == "claimed")
        .values(status=status, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(moved)


def release_claims(session: Session, job_id: int) -> int:
    """Give back the keys a job claimed and did not finish (it ended, was cancelled or is being closed)."""
    moved = session.execute(
        update(WorkClaim).where(WorkClaim.job_id == job_id, WorkClaim.status == "claimed")
        .values(status="pending", updated_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount
    return int(moved or 0)


def done_keys(session: Session, project_id: int, kind: str) -> set[str]:
    """Keys of this kind finished in the project by any job (work never done twice)."""
    return set(session.scalars(
        select(WorkClaim.item_key).where(WorkClaim.project_id == project_id, WorkClaim.kind == kind, WorkClaim.status == "done")
    ))


def _aware(moment: Any) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment
