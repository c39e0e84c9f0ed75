"""Chunk cleaning actions: clean chunks (one, some, or all of a project) as a job — through an LLM, or offline by
rule — keeping each chunk's original text; show what a cleaning changed (a diff, and the figures that changed,
flagged); restore the original. A cleaned chunk's questions and dataset items are marked possibly stale."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loreforge.errors import NotFound, UserError
from loreforge.filters import ChunkFilter
from loreforge.mode_views import CleanDiffView
from loreforge.secrets import SecretBox
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.service.chunks import chunk_views, mark_stale
from loreforge.service.model_configs import generation
from loreforge.service.prompts import load_prompts
from loreforge.service.selection import chunk_conditions
from loreforge.service.splitting import text_hash
from loreforge.service.stage_common import input_hash
from loreforge.service.stages import Progress, StagePlan, Stored, alaunch, launch, not_done
from loreforge.settings import AppConfig
from loreforge.store.models import Chunk, Project
from loreforge.views import ChunkView, JobView

STAGE = "clean"


@dataclass(frozen=True)
class CPayload:
    chunk_id: int
    text: str
    input_hash: str


def clean_plan(config: AppConfig, secrets: SecretBox, session: Session, row: Project, chunk_ids: list[int] | None,
               model: str | None, provider: str | None, force: bool, chunk_filter: ChunkFilter | None = None) -> StagePlan:
    """The cleaning stage over `chunk_ids` (None: every chunk of the project) that match `chunk_filter`."""
    from loreforge.generate.cleaning import CleanTask, llm_clean, offline_clean
    from loreforge.generate.strategies import StageContext, StageWork

    gen = generation(secrets, session, row, model, provider)
    gen.check(STAGE)
    prompts = load_prompts(config, row, "system", "clean_chunk")
    query = select(Chunk).where(Chunk.project_id == row.id).order_by(Chunk.document_id, Chunk.ordinal)
    if chunk_ids is not None:
        query = query.where(Chunk.id.in_(chunk_ids))
    if chunk_filter is not None and chunk_filter.is_empty():
        chunk_filter = None
    chunks = list(session.scalars(chunk_conditions(query, chunk_filter)))
    if chunk_ids and chunk_filter is None and len(chunks) != len(set(chunk_ids)):
        raise NotFound(f"No chunk {sorted(set(chunk_ids) - {c.id for c in chunks})} in project '{row.name}'",
                       hint=f"List chunks with `loreforge chunks list {row.name}`")
    items: list[tuple[str, Any]] = []
    for c in chunks:
        source = clean_input(c)
        h = input_hash(STAGE, text_hash(source), prompts["system"].hash, prompts["clean_chunk"].hash, gen.model_key)
        items.append((f"chunk:{c.id}:{h[:16]}", CPayload(c.id, source, h)))
    work_def = StageWork(STAGE, llm_clean, offline_clean)

    def context(job_id: int) -> StageContext:
        return StageContext(STAGE, row.id, job_id, gen.settings, prompts, gen.config.options.options())

    async def work(strategy: Any, ctx: StageContext, p: CPayload) -> Any:
        return await strategy.do(ctx, work_def, CleanTask(p.chunk_id, p.text))

    def store(s: Session, _job_id: int, p: CPayload, draft: Any) -> Stored:
        chunk = s.get(Chunk, p.chunk_id)
        if chunk is None:
            return Stored("the chunk was deleted meanwhile")
        if clean_input(chunk) != p.text:
            return Stored("the chunk was edited meanwhile; clean it again")
        flagged = store_cleaning(s, chunk, draft.text, {
            "source": gen.source, "provider": gen.config.provider, "model": draft.model or gen.config.model,
            "prompt_name": "clean_chunk" if gen.source == "llm" else "rules", "prompt_hash": prompts["clean_chunk"].hash,
            "input_hash": p.input_hash, "tokens_in": draft.tokens_in, "tokens_out": draft.tokens_out, "rules": draft.rules})
        return Stored(counts={k: n for k, n in {"flagged": int(flagged), "unchanged": int(draft.text == p.text)}.items() if n})

    params = {"chunks": chunk_ids if chunk_ids is not None else "all", "model": model, "provider": gen.config.provider, "force": force}
    if chunk_filter is not None:
        params["filter"] = chunk_filter.model_dump(exclude_none=True)
    items = not_done(session, row.id, STAGE, items, force)
    return StagePlan(STAGE, gen, items, params, context, work, store, force=force,
                     notes={"flagged": "{n} cleaned chunk(s) flagged: figures changed (see `loreforge chunks diff`)",
                            "unchanged": "{n} chunk(s) had nothing to clean"})


def clean_input(chunk: Chunk) -> str:
    """What cleaning a chunk starts from: its original when it was cleaned before (cleaning again replaces the
    cleaned text), else its text."""
    return chunk.original_text if chunk.original_text is not None else chunk.text


def store_cleaning(session: Session, chunk: Chunk, cleaned: str, provenance: dict[str, Any]) -> bool:
    """Put the cleaned text in the chunk (its first original kept), record how, mark its questions and items
    possibly stale. Returns whether the cleaning is flagged (figures dropped or added)."""
    from loreforge.generate.cleaning import figure_changes

    original = clean_input(chunk)
    figures = figure_changes(original, cleaned)
    flagged = bool(figures["dropped"] or figures["added"])
    if cleaned != chunk.text:
        chunk.original_text = original
        chunk.text, chunk.size, chunk.edited, chunk.text_hash = cleaned, len(cleaned), True, text_hash(cleaned)
        mark_stale(session, [chunk.id])
    chunk.cleaning = {**provenance, "figures": figures, "flagged": flagged,
                      "cleaned_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    return flagged


def diff_view(chunk: Chunk) -> CleanDiffView:
    cleaning = dict(chunk.cleaning or {})
    original = chunk.original_text if chunk.original_text is not None else chunk.text
    diff = "\n".join(difflib.unified_diff(original.splitlines(), chunk.text.splitlines(), "original", "cleaned", lineterm=""))
    figures = cleaning.get("figures") or {"dropped": [], "added": []}
    return CleanDiffView(chunk_id=chunk.id, cleaned=chunk.cleaning is not None, original=original, text=chunk.text, diff=diff,
                         dropped=list(figures.get("dropped", [])), added=list(figures.get("added", [])),
                         flagged=bool(cleaning.get("flagged")), cleaning=cleaning)


class CleanActions(ServiceBase):
    def _clean_plan(self, project: str | int, chunk_ids: list[int] | None, model: str | None, provider: str | None,
                    force: bool, chunk_filter: ChunkFilter | None = None) -> StagePlan:
        with self.db.session() as session:
            row = lookups.project(session, project)
            return clean_plan(self.config, self.secrets, session, row, chunk_ids or None, model, provider, force, chunk_filter)

    async def aclean_chunks(self, project: str | int, chunk_ids: list[int] | None = None, model: str | None = None,
                            provider: str | None = None, force: bool = False, background: bool = False,
                            on_progress: Progress | None = None, chunk_filter: ChunkFilter | None = None) -> JobView:
        """Clean chunks (all by default, or those matching `chunk_filter`) of headers, footers, page numbers, broken
        line wraps and ads: an LLM rewrites each (one call per chunk), or, with `provider="extractive"`, the
        rule-based cleaner does. The original is kept; figures that changed are flagged; the chunks' questions become
        possibly stale."""
        plan = self._clean_plan(project, chunk_ids, model, provider, force, chunk_filter)
        return await alaunch(self.db, plan, background=background, on_progress=on_progress)

    def clean_chunks(self, project: str | int, chunk_ids: list[int] | None = None, model: str | None = None,
                     provider: str | None = None, force: bool = False, background: bool = False,
                     on_progress: Progress | None = None, chunk_filter: ChunkFilter | None = None) -> JobView:
        """The blocking twin of `aclean_chunks`."""
        plan = self._clean_plan(project, chunk_ids, model, provider, force, chunk_filter)
        return launch(self.db, plan, background=background, on_progress=on_progress)

    def chunk_diff(self, project: str | int, chunk_id: int) -> CleanDiffView:
        """What cleaning did to a chunk: its original and cleaned text, a unified diff, the figures that changed."""
        with self.db.session() as session:
            chunk = lookups.chunk(session, lookups.project(session, project), chunk_id)
            return diff_view(chunk)

    def restore_chunk(self, project: str | int, chunk_id: int) -> ChunkView:
        """Put a cleaned chunk's original text back (its questions become possibly stale again)."""
        with self.db.session() as session:
            chunk = lookups.chunk(session, lookups.project(session, project), chunk_id)
            if chunk.original_text is None:
                raise UserError(f"Chunk {chunk_id} was never cleaned: there is no original to restore",
                                hint="See `loreforge chunks diff PROJECT ID`")
            text = chunk.original_text
            chunk.text, chunk.size, chunk.text_hash = text, len(text), text_hash(text)
            chunk.original_text, chunk.cleaning = None, None
            mark_stale(session, [chunk.id])
            session.flush()
            return chunk_views(session, [chunk])[0]
