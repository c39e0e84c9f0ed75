"""REST routes: blind tests — create one, list a project's, show one with its results, open the next round, get one
side's answer (whole or streamed as server-sent events), vote. Until a round's vote is stored its answers are only
"left" and "right"."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from loreforge.model_views import ArenaRoundView, ArenaView
from loreforge.service import Service
from loreforge.web.deps import svc
from loreforge.web.streaming import stream_response

router = APIRouter(tags=["arena"])


class ArenaRequest(BaseModel):
    model_a: str = Field(description="Model A: a base model folder, .gguf file or hub id, or a model config (with "
                         "adapter_a: its base, default the run's)")
    model_b: str = ""
    adapter_a: str | None = Field(None, description="Model A is this tuned run id or folder")
    adapter_b: str | None = None
    probes: list[str] | None = Field(None, description="Probe set names or ids (default: all of the project's)")
    name: str | None = None
    size: int | None = Field(None, description="At most this many rounds")
    max_new_tokens: int | None = None
    temperature: float = 0.0
    system: str | None = None
    seed: int | None = None


@router.post("/projects/{project}/arenas", response_model=ArenaView, status_code=201)
def create_arena(project: str, body: ArenaRequest, s: Service = Depends(svc)) -> ArenaView:
    return s.create_arena(project, **body.model_dump())


@router.get("/projects/{project}/arenas", response_model=list[ArenaView])
def list_arenas(project: str, s: Service = Depends(svc)) -> list[ArenaView]:
    return s.list_arenas(project)


@router.get("/arenas/{arena_id}", response_model=ArenaView)
def get_arena(arena_id: int, s: Service = Depends(svc)) -> ArenaView:
    """The test with its results: votes per outcome, win and good rates with 95% intervals, the sign test's p."""
    return s.get_arena(arena_id)


@router.post("/arenas/{arena_id}/rounds", response_model=ArenaRoundView | None)
def next_arena_round(arena_id: int, s: Service = Depends(svc)) -> ArenaRoundView | None:
    """The round to vote on (the pending one, or a new one with left and right drawn at random); null when every
    round is voted."""
    return s.next_arena_round(arena_id)


@router.post("/arenas/{arena_id}/rounds/{round_id}/answer/{side}", response_model=ArenaRoundView)
async def answer_arena_round(arena_id: int, round_id: int, side: str, stream: bool = False, s: Service = Depends(svc)) -> Any:
    """The answer of the model on `side` (left or right), generated once and stored; `?stream=true`: server-sent
    events (`piece`, then `end` with the round)."""
    def run(on_piece: Any) -> ArenaRoundView:
        return s.answer_arena_round(arena_id, round_id, side, on_piece=on_piece)

    if stream:
        return stream_response(run)
    return await asyncio.to_thread(run, None)


class VoteRequest(BaseModel):
    vote: str = Field(description="left, right, both_good or both_bad")


@router.post("/arenas/{arena_id}/rounds/{round_id}/vote", response_model=ArenaRoundView)
def vote_arena_round(arena_id: int, round_id: int, body: VoteRequest, s: Service = Depends(svc)) -> ArenaRoundView:
    """Store the vote; the answer says which model was left and which right."""
    return s.vote_arena_round(arena_id, round_id, body.vote)
