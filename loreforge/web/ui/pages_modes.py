"""Pages: the ways of making data beyond questions and answers from chunks (issue 15) — a hub that lists the eight
(genre–audience pairs, dialogues, distillation, cleaning, templates, images, PDF conversion, chain of thought) with
what each has made so far, and what their pages share: the settings a form starts from, the model configs of a
type, and a live list of a page's recent jobs (for work that runs as several jobs one after another). Each feature's
own page is its own module (`pages_ga`, `pages_dialogues`, `pages_distill`, `pages_cleaning`, `pages_templates`,
`pages_images`, `pages_pdf`). JSON twin of the hub: GET /api/projects/{p}/modes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loreforge.jobs.status import ACTIVE
from loreforge.service import Service
from loreforge.web.deps import svc
from loreforge.web.ui.common import JOB_STARTED, done, page, tr
from loreforge.web.ui.render import html

router = APIRouter()
MODES = ("ga", "dialogues", "distill", "cleaning", "templates", "images", "pdf", "cot")
COT_MODES = ("auto", "ask", "off")
RECENT = 6  # finished jobs a page's job list shows besides the running ones


def settings_of(s: Service, project: str, *prefixes: str) -> dict[str, Any]:
    """The project's values of the settings under `prefixes` ("dialogues.", ...): what a form starts from."""
    return {row.key: row.value for row in s.show_settings(project) if row.key.startswith(prefixes)}


def model_names(s: Service, project: str, kind: str) -> list[Any]:
    """The project's model configs of one type (text or vision), the active one first."""
    return sorted((m for m in s.list_models(project) if m.type == kind), key=lambda m: (not m.active, m.name))


def recent_jobs(s: Service, project: str, kinds: tuple[str, ...]) -> list[Any]:
    """The project's running jobs of these kinds and its latest finished ones, newest first."""
    found = {j.id: j for kind in kinds for j in s.list_jobs(project, limit=RECENT, kind=kind)}
    jobs = sorted(found.values(), key=lambda j: j.id, reverse=True)
    running = [j for j in jobs if j.status in ACTIVE]
    return running + [j for j in jobs if j.status not in ACTIVE][:RECENT]


@router.get("/p/{project}/modes")
def modes(project: str, request: Request) -> Response:
    summary = svc(request).mode_summary(project)
    return page(request, "modes.html", project, nav="modes", twin="/api/projects/{id}/modes", counts=summary, modes=MODES,
                cot_modes=COT_MODES)


def started(request: Request, message: str, back: str, job: Any, **context: Any) -> Response:
    """The answer to starting a job: its card, live — or, when it found nothing to do (everything asked was done
    already with the same input, prompt and model), a note saying so and how to do it again."""
    if job.total == 0:
        return done(request, tr(request)("modes.nothing_to_do", id=job.id), back, event=JOB_STARTED, kind="warn")
    return done(request, message, back, event=JOB_STARTED, job=job, **context)


def last_job_id(s: Service, project: str) -> int:
    """The project's newest job id (0 when none): work started after this point makes jobs with larger ids."""
    latest = s.list_jobs(project, limit=1)
    return latest[0].id if latest else 0


@router.get("/p/{project}/modes/jobs")
def mode_jobs(project: str, request: Request, kinds: str = "", after: int | None = None) -> Response:
    """A page's recent jobs of `kinds` (comma separated), running ones live (their cards follow the job's events).
    `after`: work was just started in the background whose first job may not exist yet — the list looks again every
    2 s until a job of these kinds newer than that id is there."""
    s = svc(request)
    wanted = tuple(k for k in kinds.split(",") if k)
    jobs = recent_jobs(s, project, wanted)
    waiting = after is not None and not any(j.id > after for j in jobs)
    return html(request, "_mode_jobs.html", project=s.get_project(project), jobs=jobs, kinds=",".join(wanted), after=after,
                waiting=waiting, active=ACTIVE)
