"""The kinds of long work, in one table: kind → how to run a job of that kind again (`retry`: only what is
not done — failed items, and those left pending by a lost worker; for a train run: resume it from its last
checkpoint). The job actions and the API look kinds up here, never with `if kind == ...`.

A generation kind rebuilds its stage plan from the job's own parameters restricted to its unfinished items
and runs it on the same job id; the claims in the store keep it from redoing what another job did meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from loreforge.service import lookups
from loreforge.service.stage_common import ids_in
from loreforge.store.models import Job, Project, Question

if TYPE_CHECKING:
    from loreforge.service import Service
    from loreforge.service.stages import StagePlan


def _offline(params: dict[str, Any]) -> str | None:
    """The `--provider` a job ran with, when it named an offline strategy (a model config is found by name)."""
    from loreforge.generate.strategies import STRATEGIES
    from loreforge.providers import get_preset

    provider = params.get("provider")
    try:
        return provider if provider and get_preset(provider).kind in STRATEGIES else None
    except Exception:  # noqa: BLE001 - a provider name of an older version: use the active config
        return None


def _questions(app: Service, session: Session, row: Project, job: Job, keys: list[str]) -> StagePlan:
    from loreforge.service.questions import questions_plan

    params = dict(job.params or {})
    return questions_plan(app.config, app.secrets, session, row, ids_in(keys, "chunk"), params.get("model"), _offline(params), False,
                          ga=params.get("ga"))


def _answers(app: Service, session: Session, row: Project, job: Job, keys: list[str]) -> StagePlan:
    from sqlalchemy import select

    from loreforge.service.answers import answers_plan

    params = dict(job.params or {})
    chunk_ids = ids_in(keys, "chunk")
    unanswered = session.scalars(select(Question.id).where(Question.chunk_id.in_(chunk_ids), Question.answered.is_(False)))
    qids = sorted(set(ids_in(keys, "question")) | set(unanswered))
    return answers_plan(app.config, app.secrets, session, row, qids, params.get("mode"), params.get("model"), _offline(params), False)


def _score(app: Service, session: Session, row: Project, job: Job, keys: list[str]) -> StagePlan:
    from loreforge.service.dataset import DatasetFilter
    from loreforge.service.scoring import score_plan

    params = dict(job.params or {})
    return score_plan(app.config, app.secrets, session, row, DatasetFilter(ids=ids_in(keys, "item")), params.get("model"),
                      params.get("min_score"), False)


def _clean(app: Service, session: Session, row: Project, job: Job, keys: list[str]) -> StagePlan:
    from loreforge.service.cleaning import clean_plan

    params = dict(job.params or {})
    return clean_plan(app.config, app.secrets, session, row, ids_in(keys, "chunk"), params.get("model"), _offline(params), False)


def _ga_pairs(app: Service, session: Session, row: Project, job: Job, keys: list[str]) -> StagePlan:
    from loreforge.service.ga import ga_plan

    return ga_plan(app.config, app.secrets, session, row, ids_in(keys, "document"), (job.params or {}).get("model"), False)


def _dialogues(app: Service, session: Session, row: Project, job: Job, keys: list[str]) -> StagePlan:
    from loreforge.service.dialogues import OPTIONS, dialogues_plan

    params = dict(job.params or {})
    return dialogues_plan(app.config, app.secrets, session, row, ids_in(keys, "question"), {k: params.get(k) for k in OPTIONS},
                          params.get("model"), _offline(params), False)


def _distill_tags(app: Service, session: Session, row: Project, job: Job, keys: list[str]) -> StagePlan:
    from loreforge.service.distill import tags_plan

    params = dict(job.params or {})
    overrides = {k: v for k, v in params.items() if k.startswith("distill.")}
    plan = tags_plan(app.config, app.secrets, session, row, int(params["topic_id"]), overrides, params.get("model"))
    if plan is None:
        from loreforge.errors import UserError

        raise UserError(f"Job {job.id} has nothing to retry: every tag of its tree is made")
    return plan


def _distill_questions(app: Service, session: Session, row: Project, job: Job, keys: list[str]) -> StagePlan:
    from loreforge.service.distill import questions_plan

    params = dict(job.params or {})
    overrides = {k: v for k, v in params.items() if k.startswith("distill.")}
    return questions_plan(app.config, app.secrets, session, row, params.get("topic_id"), overrides, params.get("model"), False,
                          ids_in(keys, "tag"))


def _distill_answers(app: Service, session: Session, row: Project, job: Job, keys: list[str]) -> StagePlan:
    from loreforge.service.distill import answers_plan

    params = dict(job.params or {})
    qids = ids_in(keys, "question")
    return answers_plan(app.config, app.secrets, session, row, params.get("topic_id"), params.get("model"), False, None if not qids else
                        _group_questions(session, qids))


def _group_questions(session: Session, first_ids: list[int]) -> list[int]:
    """The unanswered distilled questions of the leaves whose batches begin with `first_ids` (a batch's key names its
    first question)."""
    from sqlalchemy import select

    tags = set(session.scalars(select(Question.distill_tag_id).where(Question.id.in_(first_ids))))
    return list(session.scalars(select(Question.id).where(Question.distill_tag_id.in_(tags), Question.answered.is_(False))))


def _image_qa(app: Service, session: Session, row: Project, job: Job, keys: list[str]) -> StagePlan:
    from loreforge.service.images import image_qa_plan

    params = dict(job.params or {})
    return image_qa_plan(app.config, app.secrets, session, row, ids_in(keys, "image"), params.get("n"), params.get("model"), False)


def _pdf(app: Service, session: Session, row: Project, job: Job, keys: list[str]) -> StagePlan:
    """A PDF conversion's unfinished pages (or files) — from the files kept in the project folder; the document is
    made by running `pdf convert` again (pages done are kept)."""
    from loreforge.service.pdf_convert import FOLDER, keep_file, mineru_plan, pages_plan

    params = dict(job.params or {})
    folder = lookups.project_dir(app.config, row) / FOLDER
    files = [keep_file(app.config, row, folder / f"{sha[:16]}.pdf", name) for name, sha in zip(params["files"], params["sha256"], strict=True)]
    if params.get("strategy") == "vision":
        return pages_plan(app.config, app.secrets, session, row, files, params.get("model"), False)
    return mineru_plan(app.config, app.secrets, session, row, files, str(params["strategy"]), False)


def _probe_reword(app: Service, session: Session, row: Project, job: Job, keys: list[str]) -> StagePlan:
    from loreforge.service.probes import reword_retry

    return reword_retry(app, session, row, job, keys)


def _train(app: Service, job: Job, background: bool) -> Any:
    run_id = int((job.params or {})["run_id"])
    app.execute_run(run_id, background=background)
    return app.get_job(job.id)


def _eval(app: Service, job: Job, background: bool) -> Any:
    app.execute_eval(int((job.params or {})["eval_run_id"]), background=background)
    return app.get_job(job.id)


def _pipeline(app: Service, job: Job, background: bool) -> Any:
    app.execute_pipeline(int((job.params or {})["pipeline_id"]), background=background)
    return app.get_job(job.id)


@dataclass(frozen=True)
class Kind:
    """One kind of long work: `plan` rebuilds a generation stage over unfinished items; `resume` reruns a kind
    that is not item-based (training)."""

    name: str
    plan: Callable[..., StagePlan] | None = None
    resume: Callable[..., Any] | None = None


KINDS: dict[str, Kind] = {
    "questions": Kind("questions", plan=_questions),
    "answers": Kind("answers", plan=_answers),
    "score": Kind("score", plan=_score),
    "clean": Kind("clean", plan=_clean),
    "ga_pairs": Kind("ga_pairs", plan=_ga_pairs),
    "dialogues": Kind("dialogues", plan=_dialogues),
    "distill_tags": Kind("distill_tags", plan=_distill_tags),
    "distill_questions": Kind("distill_questions", plan=_distill_questions),
    "distill_answers": Kind("distill_answers", plan=_distill_answers),
    "image_qa": Kind("image_qa", plan=_image_qa),
    "pdf_pages": Kind("pdf_pages", plan=_pdf),
    "pdf_mineru": Kind("pdf_mineru", plan=_pdf),
    "probe_reword": Kind("probe_reword", plan=_probe_reword),
    "train": Kind("train", resume=_train),
    "eval": Kind("eval", resume=_eval),
    "pipeline": Kind("pipeline", resume=_pipeline),
}
