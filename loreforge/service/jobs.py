"""Job actions that need to know every stage: retry (or resume) a job, rerunning only the items that are
not done — failed ones, and pending ones of a job whose process died."""

from __future__ import annotations

from sqlalchemy import select

from loreforge.errors import UserError
from loreforge.service.engine import Progress
from loreforge.service.dataset import DatasetFilter
from loreforge.service.importing import ImportActions
from loreforge.store.models import JobItem, Question
from loreforge.views import JobView


def _ids(keys: list[str], prefix: str) -> list[int]:
    return sorted({int(k.split(":")[1]) for k in keys if k.startswith(prefix + ":")})


class JobActions(ImportActions):
    def retry_job(self, job_id: int, background: bool = False, on_progress: Progress | None = None) -> JobView:
        """Rerun only the items of a job that are not done (failed, or left pending by a crash)."""
        with self.db.session() as session:
            job = self._job(session, job_id)
            keys = list(session.scalars(select(JobItem.item_key).where(JobItem.job_id == job.id, JobItem.status != "done")))
            if not keys:
                raise UserError(f"Job {job.id} has nothing to retry: every item is done")
            if job.project_id is None:
                raise UserError(f"Job {job.id} has no project any more")
            row = self._project(session, job.project_id)
            params = dict(job.params or {})
            model, provider = params.get("model"), params.get("provider")
            provider = "extractive" if provider == "extractive" else None
            self._job_view(session, job)  # raises nothing; keeps the session's job loaded
            if job.kind == "questions":
                plan = self._questions_plan(session, row, _ids(keys, "chunk"), model, provider, force=False)
            elif job.kind == "answers":
                chunk_ids = _ids(keys, "chunk")
                qids = _ids(keys, "question") + list(
                    session.scalars(select(Question.id).where(Question.chunk_id.in_(chunk_ids), Question.answered.is_(False)))
                )
                plan = self._answers_plan(session, row, qids or [-1], params.get("mode"), model, provider, force=False)
            elif job.kind == "score":
                plan = self._score_plan(session, row, DatasetFilter(ids=_ids(keys, "item") or [-1]), model, params.get("min_score"), force=False)
            else:
                raise UserError(f"Jobs of kind '{job.kind}' cannot be retried")
        return self._launch(plan, job_id=job_id, background=background, on_progress=on_progress)
