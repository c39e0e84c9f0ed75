"""Genre–audience pair actions: propose each document's pairs (a job of kind `ga_pairs`, one call per document),
list them, add, edit or toggle one, delete one. Active pairs multiply question generation (`service/questions.py`)
and set the style of the answers (`service/answers.py`); rows record their pair."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from loreforge.errors import NotFound, UserError
from loreforge.mode_views import GaPairView
from loreforge.secrets import SecretBox
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.service.model_configs import generation
from loreforge.service.prompts import load_prompts
from loreforge.service.stage_common import input_hash
from loreforge.service.stages import Progress, StagePlan, Stored, alaunch, launch, not_done
from loreforge.settings import AppConfig
from loreforge.store.models import DatasetItem, Document, GaPair, Project, Question
from loreforge.views import Deleted, JobView, from_row

STAGE = "ga_pairs"
FIELDS = ("genre_title", "genre_description", "audience_title", "audience_description")


@dataclass(frozen=True)
class GPayload:
    document_id: int
    text: str
    n: int
    input_hash: str


def active_styles(session: Session, project_id: int) -> dict[int, tuple[Any, ...]]:
    """Document id -> its active pairs as `GaStyle`s, in order."""
    from loreforge.generate.ga import GaStyle

    out: dict[int, list[Any]] = {}
    rows = session.scalars(select(GaPair).where(GaPair.project_id == project_id, GaPair.active.is_(True))
                           .order_by(GaPair.document_id, GaPair.ordinal, GaPair.id))
    for p in rows:
        out.setdefault(p.document_id, []).append(GaStyle(p.id, p.genre_title, p.genre_description, p.audience_title, p.audience_description))
    return {doc: tuple(styles) for doc, styles in out.items()}


def question_styles(session: Session, question_ids: list[int]) -> dict[int, Any]:
    """Question id -> the `GaStyle` of the pair it was asked in (only questions that have one)."""
    from loreforge.generate.ga import GaStyle

    if not question_ids:
        return {}
    rows = session.execute(select(Question.id, GaPair).join(GaPair, GaPair.id == Question.ga_pair_id).where(Question.id.in_(question_ids)))
    return {qid: GaStyle(p.id, p.genre_title, p.genre_description, p.audience_title, p.audience_description) for qid, p in rows}


def ga_plan(config: AppConfig, secrets: SecretBox, session: Session, row: Project, document_ids: list[int] | None,
            model: str | None, force: bool) -> StagePlan:
    """Propose pairs for `document_ids` (None: every document without pairs yet; with `force`, every document)."""
    from loreforge.generate.ga import PairsTask, llm_pairs
    from loreforge.generate.strategies import StageContext, StageWork

    gen = generation(secrets, session, row, model)
    gen.check(STAGE)
    prompts = load_prompts(config, row, "system", "ga_pairs")
    n, limit = gen.settings.ga.pairs, gen.settings.ga.max_chars
    query = select(Document).where(Document.project_id == row.id).order_by(Document.id)
    if document_ids is not None:
        query = query.where(Document.id.in_(document_ids))
    docs = list(session.scalars(query))
    if document_ids and len(docs) != len(set(document_ids)):
        raise NotFound(f"No document {sorted(set(document_ids) - {d.id for d in docs})} in project '{row.name}'",
                       hint=f"List documents with `loreforge documents list {row.name}`")
    having = set(session.scalars(select(GaPair.document_id).where(GaPair.project_id == row.id)))
    base = lookups.project_dir(config, row)
    items: list[tuple[str, Any]] = []
    for d in docs:
        if d.id in having and not force and document_ids is None:
            continue
        try:
            text = (base / d.markdown_path).read_text(encoding="utf-8")[:limit]
        except OSError:
            text = ""  # the item fails with the reason; the other documents go on
        h = input_hash(STAGE, d.text_hash, limit, n, prompts["system"].hash, prompts["ga_pairs"].hash, gen.model_key)
        items.append((f"document:{d.id}:{h[:16]}", GPayload(d.id, text, n, h)))
    work_def = StageWork(STAGE, llm_pairs)

    def context(job_id: int) -> StageContext:
        return StageContext(STAGE, row.id, job_id, gen.settings, prompts, gen.config.options.options())

    async def work(strategy: Any, ctx: StageContext, p: GPayload) -> Any:
        if not p.text.strip():
            raise UserError(f"Document {p.document_id} has no readable Markdown (its file is missing or empty)",
                            hint=f"Delete it and ingest the file again (`loreforge documents delete {row.name} {p.document_id}`)")
        return await strategy.do(ctx, work_def, PairsTask(p.document_id, p.text, p.n))

    def store(s: Session, _job_id: int, p: GPayload, draft: Any) -> Stored:
        if not draft.pairs:
            return Stored("the reply held no usable genre–audience pair")
        s.execute(delete(GaPair).where(GaPair.document_id == p.document_id, GaPair.source != "manual"))
        for i, values in enumerate(draft.pairs):
            s.add(GaPair(project_id=row.id, document_id=p.document_id, ordinal=i + 1, **dict(zip(FIELDS, values)), active=True,
                         source=gen.source, provider=gen.config.provider, model=draft.model or gen.config.model, prompt_name="ga_pairs",
                         prompt_hash=prompts["ga_pairs"].hash, input_hash=p.input_hash,
                         tokens_in=draft.tokens_in if i == 0 else 0, tokens_out=draft.tokens_out if i == 0 else 0))
        return Stored(counts={"short": 1} if len(draft.pairs) < p.n else {})

    params = {"documents": document_ids if document_ids is not None else "all", "model": model, "provider": gen.config.provider, "force": force}
    items = not_done(session, row.id, STAGE, items, force)
    return StagePlan(STAGE, gen, items, params, context, work, store, force=force,
                     notes={"short": "{n} document(s) got fewer pairs than asked (duplicates or empty ones dropped)"})


def _pair(session: Session, owner: Project, pair_id: int) -> GaPair:
    row = session.get(GaPair, lookups.row_id(pair_id) or 0)
    if row is None or row.project_id != owner.id:
        raise NotFound(f"No genre–audience pair {pair_id} in project '{owner.name}'", hint=f"List them with `loreforge ga list {owner.name}`")
    return row


def _view(session: Session, p: GaPair) -> GaPairView:
    questions = session.scalar(select(func.count()).select_from(Question).where(Question.ga_pair_id == p.id)) or 0
    items = session.scalar(select(func.count()).select_from(DatasetItem).where(DatasetItem.ga_pair_id == p.id)) or 0
    return from_row(GaPairView, p, questions=questions, dataset_items=items)


def _text(name: str, value: str | None, required: bool) -> str | None:
    if value is None:
        return None
    text = " ".join(value.split())
    if required and not text:
        raise UserError(f"A genre–audience pair's {name.replace('_', ' ')} cannot be empty")
    return text


class GaActions(ServiceBase):
    def _ga_plan(self, project: str | int, document_ids: list[int] | None, model: str | None, force: bool) -> StagePlan:
        with self.db.session() as session:
            row = lookups.project(session, project)
            return ga_plan(self.config, self.secrets, session, row, document_ids or None, model, force)

    async def agenerate_ga_pairs(self, project: str | int, document_ids: list[int] | None = None, model: str | None = None,
                                 force: bool = False, background: bool = False, on_progress: Progress | None = None) -> JobView:
        """Propose `ga.pairs` genre–audience pairs for each document without any (or the given ones; `force`: every
        document), from up to `ga.max_chars` of its text: one call per document. Pairs added by hand are kept."""
        plan = self._ga_plan(project, document_ids, model, force)
        return await alaunch(self.db, plan, background=background, on_progress=on_progress)

    def generate_ga_pairs(self, project: str | int, document_ids: list[int] | None = None, model: str | None = None,
                          force: bool = False, background: bool = False, on_progress: Progress | None = None) -> JobView:
        """The blocking twin of `agenerate_ga_pairs`."""
        plan = self._ga_plan(project, document_ids, model, force)
        return launch(self.db, plan, background=background, on_progress=on_progress)

    def list_ga_pairs(self, project: str | int, document_id: int | None = None) -> list[GaPairView]:
        with self.db.session() as session:
            row = lookups.project(session, project)
            query = select(GaPair).where(GaPair.project_id == row.id)
            if document_id is not None:
                query = query.where(GaPair.document_id == lookups.document(session, row, document_id).id)
            return [_view(session, p) for p in session.scalars(query.order_by(GaPair.document_id, GaPair.ordinal, GaPair.id))]

    def add_ga_pair(self, project: str | int, document_id: int, genre_title: str, audience_title: str, genre_description: str = "",
                    audience_description: str = "", active: bool = True) -> GaPairView:
        """Add a pair of your own to a document (kept when pairs are proposed again)."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            doc = lookups.document(session, row, document_id)
            last = session.scalar(select(func.max(GaPair.ordinal)).where(GaPair.document_id == doc.id)) or 0
            pair = GaPair(project_id=row.id, document_id=doc.id, ordinal=last + 1, genre_title=_text("genre_title", genre_title, True),
                          genre_description=_text("genre_description", genre_description, False),
                          audience_title=_text("audience_title", audience_title, True),
                          audience_description=_text("audience_description", audience_description, False), active=active, source="manual")
            session.add(pair)
            session.flush()
            return _view(session, pair)

    def edit_ga_pair(self, project: str | int, pair_id: int, genre_title: str | None = None, genre_description: str | None = None,
                     audience_title: str | None = None, audience_description: str | None = None, active: bool | None = None) -> GaPairView:
        """Edit or toggle a pair; an edited pair counts as yours (kept when pairs are proposed again)."""
        with self.db.session() as session:
            pair = _pair(session, lookups.project(session, project), pair_id)
            values = {"genre_title": genre_title, "genre_description": genre_description, "audience_title": audience_title,
                      "audience_description": audience_description}
            for name, value in values.items():
                text = _text(name, value, name.endswith("title"))
                if text is not None and text != getattr(pair, name):
                    setattr(pair, name, text)
                    pair.source = "manual"
            if active is not None:
                pair.active = active
            return _view(session, pair)

    def delete_ga_pair(self, project: str | int, pair_id: int) -> Deleted:
        """Delete a pair; its questions and items stay, without a pair."""
        with self.db.session() as session:
            session.delete(_pair(session, lookups.project(session, project), pair_id))
        return Deleted(deleted=1)
