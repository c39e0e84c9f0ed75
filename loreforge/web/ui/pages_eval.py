"""Pages: Evaluation — the project's probe sets (build one: kinds, question types, size, the leakage threshold;
what was dropped as leaked is counted), start an evaluation (base vs tuned: any run, folder or model config;
retrieval baseline; judge) in a background worker, the runs; one run live, then its report — accuracy per model
and probe set with 95% intervals drawn as error bars, the paired comparison (wins, losses, ties, McNemar's p),
per-document and per-tag tables, the general-knowledge change, and the regressions and largest wins with both
answers beside the reference; two runs compared. JSON twins: GET /api/evals?project=P, /api/evals/{id}/report,
/api/evals/{a}/compare/{b}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loreforge.jobs.status import ACTIVE
from loreforge.web.deps import svc
from loreforge.web.ui.common import JOB_STARTED, done, flag, go, number, page, text, tr
from loreforge.web.ui.render import project_url

router = APIRouter()
KINDS = ("held-out", "reworded", "key-fact", "general")
QTYPES = ("open", "short", "true-false", "single-choice", "multiple-choice")
SIGNIFICANT = 0.05  # the p-value under which a paired difference is called significant on the page


def _values(form: Any, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str) and v.strip()]


@router.get("/p/{project}/eval")
def eval_page(project: str, request: Request, tuned: str | None = None) -> Response:
    s = svc(request)
    runs = [r for r in s.list_runs(project) if r.status == "completed"]
    settings = {v.key: v.value for v in s.show_settings(project) if v.key.startswith(("eval.", "probes."))}
    return page(request, "eval.html", project, nav="eval", twin="/api/evals?project={id}", sets=s.list_probe_sets(project),
                evals=s.list_evals(project), runs=runs, configs=s.list_models(project), kinds=KINDS, qtypes=QTYPES,
                tuned=tuned, base=runs[0].base_model if runs else "", settings=settings, active=ACTIVE)


@router.post("/p/{project}/eval/probes")
async def build_probes(project: str, request: Request) -> Response:
    """Build a probe set (rewording, when asked, runs as a job whose card appears here)."""
    form = await request.form()
    model = text(form, "model")
    built = svc(request).build_probes(
        project, name=text(form, "name"), kinds=_values(form, "kinds") or None, qtypes=_values(form, "qtypes") or None,
        size=number(form, "size"), model=model, provider=None if model else "extractive",
        leakage_threshold=number(form, "leakage_threshold", float), background=True)
    message = tr(request)("eval.probes_built", name=built.name, n=built.probes, leaked=built.counts.get("dropped_leakage", 0))
    return done(request, message, project_url(project, "eval"), event=JOB_STARTED, job=built.job)


@router.post("/p/{project}/eval/start")
async def start(project: str, request: Request) -> Response:
    """Record the evaluation run and start its worker; its page follows it."""
    form = await request.form()
    tuned = text(form, "tuned_other") or text(form, "tuned_run") or ""
    view = svc(request).evaluate(
        project, text(form, "base") or "", tuned, _values(form, "probes") or None, rag=flag(form, "rag"),
        judge=text(form, "judge"), max_new_tokens=number(form, "max_new_tokens"), batch_size=number(form, "batch_size"),
        rag_k=number(form, "rag_k"), name=text(form, "name"), background=True)
    return go(request, f"/ui/evals/{view.id}")


@router.get("/evals/compare")
def compare(request: Request, a: int, b: int) -> Response:
    view = svc(request).compare_evals(a, b)
    project = view.a.project_id if view.a.project_id == view.b.project_id else None
    return page(request, "eval_compare.html", project, nav="eval", twin=f"/api/evals/{a}/compare/{b}", view=view,
                significant=SIGNIFICANT)


@router.get("/evals/{eval_id}")
def eval_run(eval_id: int, request: Request) -> Response:
    s = svc(request)
    report = s.eval_report(eval_id)
    return page(request, "eval_run.html", report.run.project_id, nav="eval", twin=f"/api/evals/{eval_id}/report",
                report=report, run=report.run, s=report.summary, active=ACTIVE, significant=SIGNIFICANT)


@router.post("/evals/{eval_id}/cancel")
def cancel(eval_id: int, request: Request) -> Response:
    view = svc(request).cancel_eval(eval_id)
    return done(request, tr(request)("eval.cancel_asked", id=view.id, status=view.status), f"/ui/evals/{eval_id}", event=JOB_STARTED)


@router.post("/evals/{eval_id}/resume")
def resume(eval_id: int, request: Request) -> Response:
    """Run a failed, cancelled or interrupted evaluation again: it answers only what is not stored yet."""
    svc(request).execute_eval(eval_id, background=True)
    return go(request, f"/ui/evals/{eval_id}")
