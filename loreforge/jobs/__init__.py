"""ONE life cycle for all long work: generation stages, scoring, training — and evaluation and pipeline runs.

- `status`: the statuses and the one lost-worker rule (`effective_status`);
- `control`: start, heartbeat, progress, finish, cancel and re-queue (`JobControl`, `run_job`);
- `claims`: work items claimed in the store before any work starts, so processes never do an item twice;
- `events`: the one server-sent-event format every job streams.

What a kind of work does (plan its items, work one, store the result; or launch a training process) is
registered in `loreforge.service.kinds`; this package knows nothing about any kind.
"""

from loreforge.jobs.claims import Claimed, claim, done_keys, release_claims, settle
from loreforge.jobs.control import JobControl, close_if_active, item_counts, request_cancel, requeue, run_job
from loreforge.jobs.events import event_data, job_events, sse
from loreforge.jobs.status import (
    ACTIVE, FINAL, HEARTBEAT_S, STALE_AFTER_S, effective_status, is_active, pid_alive, this_host, worker_lost,
)

__all__ = [
    "ACTIVE", "FINAL", "HEARTBEAT_S", "STALE_AFTER_S", "Claimed", "JobControl", "claim", "close_if_active",
    "done_keys", "effective_status", "event_data", "is_active", "item_counts", "job_events", "pid_alive",
    "release_claims", "request_cancel", "requeue", "run_job", "settle", "sse", "this_host", "worker_lost",
]
