"""The statuses of long work and the one rule that says a worker is lost.

Every kind of long work (question and answer generation, scoring, training, and the evaluation and pipeline
runs to come) is a `jobs` row with one of these statuses:

    queued ──start──▶ running ──▶ completed | completed_with_failures | failed | cancelled
                         │
                  cancel │ (from any process)
                         ▼
                     cancelling ──(the worker notices at its next heartbeat)──▶ cancelled

`interrupted` is never stored: it is what an active job is *shown* as when its worker is lost — its process
is gone (same host) or it has been silent for longer than STALE_AFTER_S. Such a job can be resumed
(`loreforge jobs retry`), and its claimed work items can be taken over by another job.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta, timezone
from typing import Protocol

HEARTBEAT_S = 2.0
STALE_AFTER_S = 30.0
ACTIVE = ("queued", "running", "cancelling")
FINAL = ("completed", "completed_with_failures", "failed", "cancelled", "interrupted")


class LifeCycleRow(Protocol):
    """What the rule reads of a row (a `Job`)."""

    status: str
    pid: int | None
    host: str | None
    heartbeat_at: datetime | None
    started_at: datetime | None
    created_at: datetime


def this_host() -> str:
    return socket.gethostname()[:255]


def pid_alive(pid: int | None) -> bool:
    """Whether process `pid` runs on this host. A zombie — dead, waiting for a parent that was itself killed to
    reap it — is not alive: its job is lost (Linux: its state in /proc; elsewhere a signal-0 probe)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False  # no /proc (macOS, Windows), or it just went
    return stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3] == b"Z"


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def worker_lost(pid: int | None, host: str | None, last_sign: datetime | None, now: datetime | None = None) -> bool:
    """A worker is lost when its process is gone (checked only on its own host: a pid means nothing on another
    machine sharing the store) or when its last sign of life is older than STALE_AFTER_S."""
    last_sign = _aware(last_sign)
    here = host is None or host == this_host()
    dead = pid is not None and here and not pid_alive(pid)
    silent = last_sign is not None and (now or datetime.now(timezone.utc)) - last_sign > timedelta(seconds=STALE_AFTER_S)
    return dead or silent


def effective_status(row: LifeCycleRow, now: datetime | None = None) -> str:
    """The status to show: an active job whose worker is lost is `interrupted`."""
    if row.status not in ACTIVE:
        return row.status
    last_sign = row.heartbeat_at or row.started_at or row.created_at
    return "interrupted" if worker_lost(row.pid, row.host, last_sign, now) else row.status


def is_active(row: LifeCycleRow, now: datetime | None = None) -> bool:
    return effective_status(row, now) in ACTIVE
