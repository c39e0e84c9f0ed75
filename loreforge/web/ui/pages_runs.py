"""Pages: train runs — the list (all, or a project's) with filters; one run live: the loss and eval-loss chart with
points appended as they are logged (server-sent events; the chart is never redrawn from scratch), learning rate,
progress with time left, tokens/s, the log tail, the checkpoints with the best marked, the first tokenized example
with its masked labels, cancel / resume, merge the adapter into its base; two runs side by side. A reload re-reads
everything from the run's folder and follows on: the run lives in its worker, not in the page. Runs started from
the CLI (`loreforge train`) appear and are followed the same way. JSON twins: GET /api/runs, /api/runs/{id}/inspect,
/api/runs/{a}/compare/{b}."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from loreforge.jobs.events import POLL_S, event_data
from loreforge.jobs.status import ACTIVE
from loreforge.web.deps import MODELS_DIR, home_dir, svc, write_path
from loreforge.web.ui.common import JOB_STARTED, done, flag, go, page, text, tr
from loreforge.web.ui.i18n import translator
from loreforge.web.ui.render import ENV, html, language

router = APIRouter()
MASKED = re.compile(r"(\[-100 x \d+\])")
RUN_STATUSES = (*ACTIVE, "completed", "failed", "cancelled", "interrupted")
METHODS = ("lora", "full", "freeze")


def example_parts(example: str | None) -> list[tuple[str, bool]]:
    """The first example's text cut into (text, masked) pieces: `[-100 x N]` spans are the masked prompt tokens."""
    return [(piece, bool(MASKED.fullmatch(piece))) for piece in MASKED.split(example or "") if piece]


def _filtered(runs: list[Any], status: str | None, method: str | None, search: str | None) -> list[Any]:
    needle = (search or "").lower()
    return [r for r in runs if (not status or r.status == status) and (not method or r.finetuning_type == method)
            and (not needle or needle in f"{r.name} {r.base_model} {r.output_dir or ''}".lower())]


def _list(request: Request, project: str | None) -> Response:
    q = request.query_params
    status, method, search = q.get("status") or None, q.get("method") or None, q.get("q") or None
    runs = svc(request).list_runs(project)
    shown = _filtered(runs, status, method, search)
    projects = {p.id: p.name for p in svc(request).list_projects()}
    twin = "/api/runs?project={id}" if project is not None else "/api/runs"
    return page(request, "runs.html", project, nav="runs", twin=twin, runs=shown, all_runs=runs, projects=projects,
                status_filter=status, method=method, search=search or "", statuses=RUN_STATUSES, methods=METHODS)


@router.get("/runs")
def all_runs(request: Request) -> Response:
    return _list(request, None)


@router.get("/p/{project}/runs")
def project_runs(project: str, request: Request) -> Response:
    return _list(request, project)


LATEST = ("loss", "eval_loss", "lr", "epoch", "throughput")
PROGRESS = ("current_steps", "total_steps", "percentage", "elapsed_time", "remaining_time")


def latest(points: list[dict[str, Any]], before: dict[str, Any] | None = None) -> dict[str, Any]:
    """The last value of each curve field among the records, over `before` (what earlier records said), and the
    progress fields of the newest record."""
    out = dict(before or {})
    for record in points:
        out.update({k: record[k] for k in LATEST if isinstance(record.get(k), (int, float))})
        if isinstance(record.get("current_steps"), int) and record["current_steps"] >= out.get("current_steps", -1):
            out.update({k: record[k] for k in PROGRESS if k in record})
    return out


def progress(run: Any, last: dict[str, Any]) -> dict[str, Any]:
    """The run's progress for the stats: the job's (reported every few seconds), or the newest curve record's when
    that is further on (written at every logging step)."""
    shown = dict(run.progress or {})
    if int(last.get("current_steps") or -1) > int(shown.get("current_steps") or -1):
        shown.update({k: last[k] for k in PROGRESS if k in last})
    return shown


def curve(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the chart needs of each trainer_log record."""
    keep = ("current_steps", "loss", "eval_loss", "lr", "epoch", "throughput")
    return [{k: p[k] for k in keep if k in p} for p in points]


@router.get("/runs/compare")
def compare(request: Request, a: int, b: int) -> Response:
    view = svc(request).compare_runs(a, b)
    project = view.a.project_id if view.a.project_id == view.b.project_id else None
    data = {"a": curve(view.points_a), "b": curve(view.points_b)}
    return page(request, "run_compare.html", project, nav="runs", twin=f"/api/runs/{a}/compare/{b}", view=view, data=data)


@router.get("/runs/{run_id}")
def run_page(run_id: int, request: Request) -> Response:
    detail = svc(request).inspect_run(run_id, log_lines=200)
    run, last = detail.run, latest(detail.points)
    others = [r for r in svc(request).list_runs(run.project_id) if r.id != run.id]
    default_out = str(home_dir(request, MODELS_DIR, f"run-{run.id}-merged"))
    return page(request, "run.html", run.project_id, nav="runs", twin=f"/api/runs/{run_id}/inspect", run=run, detail=detail,
                points=curve(detail.points), last=last, p=progress(run, last), parts=example_parts(detail.example), others=others, active=ACTIVE,
                merged_out=default_out, is_lora=run.finetuning_type == "lora")


def _event(name: str, body: str) -> str:
    return f"event: {name}\n" + "".join(f"data: {line}\n" for line in body.splitlines() or [""]) + "\n"


@router.get("/runs/{run_id}/events")
async def run_events(run_id: int, request: Request, after: int = 0, log_from: int = 0) -> StreamingResponse:
    """The run live: `point` (new curve records, JSON, appended to the chart), `log` (new log lines), `progress`
    (the stats strip; the job's fields as every job stream has them), `checkpoints` (when they change), `end`."""
    s = svc(request)
    await asyncio.to_thread(s.get_run, run_id)  # 404 before the stream starts
    t, lang = translator(language(request)), language(request)
    stats, checkpoints, lines = ENV.get_template("_run_stats.html"), ENV.get_template("_run_checkpoints.html"), ENV.get_template("_log_lines.html")

    async def stream() -> AsyncIterator[str]:
        read, offset, last_stats, last_checkpoints = after, log_from, None, None
        last = latest((await asyncio.to_thread(s.inspect_run, run_id, 0, offset, 0)).points)
        while True:
            detail = await asyncio.to_thread(s.inspect_run, run_id, read, offset, 0)
            if detail.point_count < read:  # a resumed run dropped the lines after its checkpoint: start the chart again
                detail = await asyncio.to_thread(s.inspect_run, run_id, 0, offset, 0)
                yield _event("reset", json.dumps(curve(detail.points)))
            elif detail.points:
                yield _event("point", json.dumps(curve(detail.points)))
            read = detail.point_count
            last = latest(detail.points, last)
            if detail.log:
                yield _event("log", lines.render(lines=detail.log))
            offset = detail.log_offset
            job = event_data(await asyncio.to_thread(s.get_job, int(detail.run.job_id or 0)))
            body = stats.render(run=detail.run, job=job, last=last, p=progress(detail.run, last), t=t, lang=lang)
            if body != last_stats:
                last_stats = body
                yield _event("progress", body)
            table = checkpoints.render(detail=detail, t=t, lang=lang)
            if table != last_checkpoints:
                last_checkpoints = table
                yield _event("checkpoints", table)
            if detail.run.status not in ACTIVE:
                yield _event("end", body)
                return
            await asyncio.sleep(POLL_S * 2)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/runs/{run_id}/example")
def example(run_id: int, request: Request) -> Response:
    """The first training example, tokenized now (the run's log does not hold it)."""
    detail = svc(request).inspect_run(run_id, log_lines=0, example=True)
    return html(request, "_run_example.html", parts=example_parts(detail.example))


@router.post("/runs/{run_id}/cancel")
def cancel(run_id: int, request: Request) -> Response:
    run = svc(request).cancel_run(run_id)
    return done(request, tr(request)("runs.cancel_asked", id=run.id, status=run.status), f"/ui/runs/{run_id}", event=JOB_STARTED)


@router.post("/runs/{run_id}/resume")
def resume(run_id: int, request: Request) -> Response:
    """Execute a failed, cancelled or interrupted run again in a worker: it continues from its last checkpoint."""
    svc(request).execute_run(run_id, background=True)
    return go(request, f"/ui/runs/{run_id}")


@router.post("/runs/{run_id}/merge")
async def merge(run_id: int, request: Request) -> Response:
    """Merge the run's LoRA adapter into its base model (`export_model`): safetensors, tokenizer, chat template."""
    form = await request.form()
    run = svc(request).get_run(run_id)
    out = write_path(request, text(form, "out") or str(home_dir(request, MODELS_DIR, f"run-{run_id}-merged")),
                     lambda: home_dir(request, MODELS_DIR), "model folder")
    merged = await asyncio.to_thread(svc(request).export_model, text(form, "base_model") or run.base_model, str(run_id), out,
                                     flag(form, "overwrite"))
    return html(request, "_message.html", kind="ok", message=tr(request)("runs.merged", path=merged.path, n=f"{merged.parameters:,}"))
