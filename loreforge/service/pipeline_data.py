"""The dataset stages of a pipeline run (for `pipeline_exec`): ingest → split → tags → questions → answers →
review → export, each a call of the service action that does it, with its result kept small for the stage record
and the summary. Long stages (questions, answers, the AI score) run as their own jobs; when an earlier execution
left one unfinished, it is resumed (`jobs retry`: the same job, only what is not done) rather than started
again, and what the store already held is counted as saved work."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from loreforge.errors import UserError
from loreforge.pipeline.recipe import GENERATION
from loreforge.service.pipeline_context import Cancelled, RunContext
from loreforge.store.models import Chunk, DatasetItem, Question
from loreforge.views import JobView


def ingest(ctx: RunContext) -> dict[str, Any]:
    """Add the recipe's documents (the same content twice is recognised). A bad file is reported and the others go
    on; documents the project holds that the recipe no longer names are kept, and listed (delete them by hand)."""
    report = ctx.app.ingest(ctx.project, list(ctx.resolved.documents), split=False)
    failed = [{"file": i.filename, "error": i.error} for i in report.items if i.status == "failed"]
    named = {i.document_id for i in report.items if i.document_id is not None}
    others = [d.filename for d in ctx.app.list_documents(ctx.project) if d.id not in named]
    if not named:
        raise UserError("No document of the recipe could be read", got="; ".join(f"{f['file']}: {f['error']}" for f in failed[:3]),
                        hint="Fix or replace those files, then run the recipe again")
    return {"added": report.added, "already_there": report.duplicates, "failed": failed, "documents": len(named) + len(others),
            "not_in_recipe": others, "skipped_files": list(ctx.resolved.skipped)}


def split(ctx: RunContext) -> dict[str, Any]:
    report = ctx.app.split(ctx.project, force=True, changed_only=True)
    chunks = ctx.app.get_project(ctx.project).counts.chunks
    return {"resplit": len(report.documents), "unchanged_documents": report.unchanged, "chunks": chunks,
            "kept_chunks": sum(d.kept_chunks for d in report.documents),
            "unlinked_questions": sum(d.unlinked_questions for d in report.documents),
            "warnings": [w for d in report.documents for w in d.warnings][:10]}


def tags(ctx: RunContext) -> dict[str, Any]:
    tree = ctx.app.build_tags(ctx.project, model=GENERATION)
    return {"tags": sum(1 + len(t.children) for t in tree)}


def questions(ctx: RunContext) -> dict[str, Any]:
    chunks = _count(ctx, Chunk, Chunk.project_id == ctx.project_id)
    job = _resume(ctx, "questions") or ctx.app.generate_questions(ctx.project, model=GENERATION)
    result = _job_result(job, "chunks", chunks)
    result["questions"] = _count(ctx, Question, Question.project_id == ctx.project_id, Question.stale.is_(False))
    return result


def answers(ctx: RunContext) -> dict[str, Any]:
    answered = _count(ctx, Question, Question.project_id == ctx.project_id, Question.answered.is_(True), Question.stale.is_(False))
    job = _resume(ctx, "answers")
    if job is None:
        job = ctx.app.generate_answers(ctx.project, model=GENERATION) if answered < _questions(ctx) else None
    result = _job_result(job, "answer calls", None) if job else {"status": "completed", "worked": 0}
    result["already_answered"] = result["saved"] = answered  # answered before this run: not asked again
    result["items"] = _count(ctx, DatasetItem, DatasetItem.project_id == ctx.project_id, DatasetItem.stale.is_(False))
    return result


def review(ctx: RunContext) -> dict[str, Any]:
    from loreforge.service.dataset import DatasetFilter

    policy = ctx.recipe.review
    app, out = ctx.app, {}
    if policy.dedup_threshold is not None:
        out["duplicates_removed"] = app.dedup_dataset(ctx.project, threshold=policy.dedup_threshold, remove=True).removed
    if policy.require_grounded or policy.confirm == "policy":
        check = app.check_dataset(ctx.project, DatasetFilter(stale=False))
        out["grounding"] = {"checked": check.checked, "failed": check.failed}
    if policy.min_score is not None:
        job = _resume(ctx, "score") or app.score_dataset(ctx.project, DatasetFilter(stale=False), model=ctx.config_name(policy.score_model))
        out["score"] = _job_result(job, "items", None)
    if policy.confirm == "policy":
        app.confirm_dataset(ctx.project, DatasetFilter(), confirmed=False)
        keep = DatasetFilter(stale=False, grounding_failed=False if policy.require_grounded else None,
                             min_score=policy.min_score, duplicate=False if policy.dedup_threshold is not None else None)
        app.confirm_dataset(ctx.project, keep)
    out["items"] = _count(ctx, DatasetItem, DatasetItem.project_id == ctx.project_id, DatasetItem.stale.is_(False))
    out["confirmed"] = _count(ctx, DatasetItem, DatasetItem.project_id == ctx.project_id, DatasetItem.confirmed.is_(True))
    if not out["confirmed"]:
        raise UserError("The review confirmed no QA pair: there is nothing to train on",
                        got=f"{out['items']} pairs, {out.get('grounding', {}).get('failed', 0)} failed the grounding check",
                        hint="Look at them (`loreforge dataset list PROJECT --grounding-failed`) or relax the recipe's review section")
    return out


def export(ctx: RunContext) -> dict[str, Any]:
    options = {k: v for k, v in ctx.recipe.export.model_dump().items() if v is not None}
    report = ctx.app.export(ctx.project, ctx.run_dir / "dataset", force=True, **options)
    return {"folder": report.folder, "counts": report.counts}


# ---------------------------------------------------------------------------------------------- helpers

def _resume(ctx: RunContext, kind: str) -> JobView | None:
    """Resume the job of `kind` an earlier execution of the current stage left unfinished (the same job id)."""
    from loreforge.jobs import ACTIVE, effective_status

    stage = ctx.current["stage"]
    job = ctx.unfinished_child(stage, (kind,))
    if job is None or ctx.record(stage).get("fingerprint_started") != ctx.current.get("fingerprint"):
        return None
    if effective_status(job) in ACTIVE:
        raise UserError(f"Job {job.id} of this stage is still running in another process",
                        hint=f"Wait for it (`loreforge jobs show {job.id}`) or cancel it (`loreforge jobs cancel {job.id}`)")
    try:
        return ctx.app.retry_job(job.id)
    except UserError:
        return None  # nothing left to retry (every item done): the stage's action runs for anything new


def _job_result(job: JobView, unit: str, planned: int | None) -> dict[str, Any]:
    if job.status == "cancelled":
        raise Cancelled(f"the {job.kind} job {job.id} was cancelled")
    if job.status in ("failed", "interrupted"):
        raise UserError(f"The {job.kind} job {job.id} {job.status}", got=job.error or "",
                        hint=f"See `loreforge jobs show {job.id}`")
    result: dict[str, Any] = {"job_id": job.id, "status": job.status, "worked": job.total, "done": job.done,
                              "failed": job.failed, "skipped": job.skipped, "unit": unit}
    if planned is not None:
        result["saved"] = max(planned - job.total, 0) + job.skipped
    return result


def _questions(ctx: RunContext) -> int:
    return _count(ctx, Question, Question.project_id == ctx.project_id, Question.stale.is_(False))


def _count(ctx: RunContext, model: Any, *where: Any) -> int:
    with ctx.app.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)
