"""REST routes: multi-turn dialogues (generated as a background job; reviewed through the dataset routes with
`?kind=dialogue`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from loreforge.filters import QuestionFilter

from loreforge.service import Service
from loreforge.views import JobView
from loreforge.web.deps import svc

router = APIRouter(tags=["dialogues"])


class GenerateDialogues(BaseModel):
    question_ids: list[int] | None = None
    rounds: int | None = None
    mode: str | None = None
    user_role: str | None = None
    assistant_role: str | None = None
    scenario: str | None = None
    system_prompt: str | None = None
    model: str | None = None
    provider: str | None = None
    force: bool = False
    filter: QuestionFilter | None = Field(None, description="Only the questions matching it (a page's \"every question matching the filter\")")


@router.post("/projects/{project}/dialogues/generate", response_model=JobView, status_code=202)
def generate_dialogues(project: str, body: GenerateDialogues, s: Service = Depends(svc)) -> JobView:
    return s.generate_dialogues(project, question_ids=body.question_ids, rounds=body.rounds, mode=body.mode, user_role=body.user_role,
                                assistant_role=body.assistant_role, scenario=body.scenario, system_prompt=body.system_prompt,
                                model=body.model, provider=body.provider, force=body.force, background=True,
                                question_filter=body.filter)
