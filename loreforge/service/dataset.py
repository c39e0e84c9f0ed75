"""Dataset review actions: list with filters and paging, show beside the source chunk, edit, confirm /
unconfirm, rate, label, note, delete (one, many, or by filter), the grounding check, and dedup."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.orm import Session

from loreforge.errors import NotFound, UserError
from loreforge.filters import DatasetFilter
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.settings import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from loreforge.store.models import Chunk, DatasetItem, Project
from loreforge.views import BatchResult, CheckReport, DatasetItemView, DedupReport, PageView, from_row

RATING_MAX = 5
# The orders a dataset list can be read in (loreforge.defaults.DATASET_SORTS); ties are broken by id.
SORTS: dict[str, tuple[Any, ...]] = {
    "id": (DatasetItem.id,), "-id": (DatasetItem.id.desc(),),
    "score": (DatasetItem.score, DatasetItem.id), "-score": (DatasetItem.score.desc(), DatasetItem.id),
    "rating": (DatasetItem.rating, DatasetItem.id), "-rating": (DatasetItem.rating.desc(), DatasetItem.id),
}


def apply_filter(query: Select[Any], f: DatasetFilter) -> Select[Any]:
    """`query` (a select, update or delete over dataset items) narrowed to the items matching `f` (all but its
    label condition: see `labelled`)."""
    conditions = {
        "ids": lambda v: DatasetItem.id.in_(v),
        "confirmed": lambda v: DatasetItem.confirmed.is_(v),
        "tag": lambda v: DatasetItem.tag == v,
        "min_score": lambda v: DatasetItem.score >= v,
        "max_score": lambda v: DatasetItem.score <= v,
        "min_rating": lambda v: DatasetItem.rating >= v,
        "has_cot": lambda v: (DatasetItem.cot != "") if v else (DatasetItem.cot == ""),
        "grounding_failed": lambda v: DatasetItem.grounding_ok.is_(not v),
        "duplicate": lambda v: DatasetItem.duplicate_of.is_not(None) if v else DatasetItem.duplicate_of.is_(None),
        "stale": lambda v: DatasetItem.stale.is_(v),
        "text": lambda v: or_(DatasetItem.question.contains(v, autoescape=True), DatasetItem.answer.contains(v, autoescape=True)),
        "document_id": lambda v: DatasetItem.chunk_id.in_(select(Chunk.id).where(Chunk.document_id == v)),
        "ga_pair_id": lambda v: DatasetItem.ga_pair_id == v,
        "ga": lambda v: DatasetItem.ga_pair_id.is_not(None) if v else DatasetItem.ga_pair_id.is_(None),
        "kind": lambda v: DatasetItem.kind == v,
        "distilled": lambda v: DatasetItem.distilled.is_(v),
        "image_id": lambda v: DatasetItem.image_id == v,
        "images": lambda v: DatasetItem.image_id.is_not(None) if v else DatasetItem.image_id.is_(None),
    }
    for key, value in f.model_dump().items():
        if value is not None and key in conditions:
            query = query.where(conditions[key](value))
    return query


def dataset_query(row: Project, f: DatasetFilter | None) -> Select[Any]:
    """The project's dataset items matching `f` (all but its `label` condition: see `labelled`)."""
    query = select(DatasetItem).where(DatasetItem.project_id == row.id)
    return apply_filter(query, f) if f is not None else query


def labelled(items: Any, f: DatasetFilter | None) -> list[DatasetItem]:
    """`items` that carry the filter's free label (labels live in a JSON list, so this runs in Python)."""
    out = list(items)
    return [i for i in out if f.label in (i.labels or [])] if f is not None and f.label else out


def matching(session: Session, row: Project, f: DatasetFilter | None) -> list[DatasetItem]:
    return labelled(session.scalars(dataset_query(row, f).order_by(DatasetItem.id)), f)


def item_view(item: DatasetItem, document_id: int | None = None, source_text: str | None = None) -> DatasetItemView:
    return from_row(DatasetItemView, item, document_id=document_id, source_text=source_text, grounding=dict(item.grounding or {}),
                    labels=list(item.labels or []))


class DatasetActions(ServiceBase):
    def list_dataset(self, project: str | int, filter: DatasetFilter | None = None, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE,
                     sort: str = "id") -> PageView[DatasetItemView]:
        """Dataset items filtered, counted, sorted (`sort`: id, score or rating; `-` first for descending) and paged
        in the database."""
        if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise UserError("Invalid paging", expected=f"page >= 1 and 1 <= page_size <= {MAX_PAGE_SIZE}")
        if sort not in SORTS:
            raise UserError("Unknown sort order for the dataset", expected=", ".join(SORTS), got=repr(sort))
        with self.db.session() as session:
            row = lookups.project(session, project)
            query = dataset_query(row, filter).order_by(*SORTS[sort])
            if filter is not None and filter.label:
                matched = labelled(session.scalars(query), filter)
                total, rows = len(matched), matched[(page - 1) * page_size : page * page_size]
            else:
                total = session.scalar(select(func.count()).select_from(query.with_only_columns(DatasetItem.id).order_by(None).subquery())) or 0
                rows = list(session.scalars(query.offset((page - 1) * page_size).limit(page_size)))
            docs = dict(session.execute(select(Chunk.id, Chunk.document_id).where(Chunk.id.in_({r.chunk_id for r in rows if r.chunk_id}))).all())
            return PageView[DatasetItemView](items=[item_view(r, docs.get(r.chunk_id)) for r in rows], total=total, page=page, page_size=page_size)

    def show_dataset_item(self, project: str | int, item_id: int) -> DatasetItemView:
        """One item with its source chunk's text beside it."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            item = lookups.dataset_item(session, row, item_id)
            chunk = session.get(Chunk, item.chunk_id) if item.chunk_id else None
            return item_view(item, chunk.document_id if chunk else None, chunk.text if chunk else None)

    def edit_dataset_item(
        self, project: str | int, item_id: int, question: str | None = None, answer: str | None = None, cot: str | None = None,
        tag: str | None = None, note: str | None = None, labels: list[str] | None = None,
        history: list[list[str]] | None = None, system: str | None = None,
    ) -> DatasetItemView:
        """Edit fields of one item; an edited answer needs a new grounding check. `history`: a dialogue's earlier
        rounds, each [user message, assistant reply] (the last round is `question` and `answer`); `system`: its
        system prompt."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            item = lookups.dataset_item(session, row, item_id)
            for name, value in (("question", question), ("answer", answer)):
                if value is not None and not value.strip():
                    raise UserError(f"The {name} cannot be empty")
            turns = _history(history) if history is not None else None
            if (answer is not None and answer != item.answer) or (turns is not None and turns != (item.history or [])):
                item.grounding, item.grounding_ok = {}, None
            if turns is not None:
                item.history = turns
            if system is not None:
                item.system = system.strip()
            for name, value in (("question", question), ("answer", answer), ("cot", cot), ("tag", tag), ("note", note)):
                if value is not None:
                    setattr(item, name, value.strip() if name in ("question", "answer") else value)
            if labels is not None:
                item.labels = sorted({label.strip() for label in labels if label.strip()})
            return item_view(item)

    def confirm_dataset(self, project: str | int, filter: DatasetFilter, confirmed: bool = True) -> BatchResult:
        """Confirm (or unconfirm) the items matching `filter` (use `ids` for a selection) — one UPDATE in the
        database, however many items match."""
        if not filter.label:
            return self._bulk(project, filter, confirmed)
        return self._batch(project, filter, lambda item: _set(item, "confirmed", confirmed))

    def rate_dataset_item(self, project: str | int, item_id: int, rating: int | None) -> DatasetItemView:
        if rating is not None and not 0 <= rating <= RATING_MAX:
            raise UserError("Invalid rating", expected=f"0 to {RATING_MAX} stars", got=str(rating))
        with self.db.session() as session:
            item = lookups.dataset_item(session, lookups.project(session, project), item_id)
            item.rating = rating
            return item_view(item)

    def delete_dataset(self, project: str | int, filter: DatasetFilter, everything: bool = False) -> BatchResult:
        """Delete the items matching `filter`; an empty filter needs `everything=True`."""
        if filter.is_empty() and not everything:
            raise UserError("Refusing to delete every dataset item without --all", hint="Pass ids or a filter, or --all")

        def drop(item: DatasetItem, session: Session) -> bool:
            session.delete(item)
            return True

        if not filter.label:
            return self._bulk(project, filter, None)
        return self._batch(project, filter, drop, with_session=True)

    def _bulk(self, project: str | int, f: DatasetFilter, confirmed: bool | None) -> BatchResult:
        """Set `confirmed` on (None: delete) every item matching `f` (no label condition): one count and one
        statement with the filter's conditions, however many items match."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            ids = dataset_query(row, f).with_only_columns(DatasetItem.id)
            matched = session.scalar(select(func.count()).select_from(ids.subquery())) or 0
            if f.ids:
                _check_ids(session, row, f, ids)
            if confirmed is None:
                statement: Any = apply_filter(delete(DatasetItem).where(DatasetItem.project_id == row.id), f)  # type: ignore[arg-type]
            else:
                statement = apply_filter(update(DatasetItem).where(DatasetItem.project_id == row.id,  # type: ignore[arg-type]
                                                                   DatasetItem.confirmed.is_not(confirmed)), f).values(confirmed=confirmed)
            changed = session.execute(statement.execution_options(synchronize_session=False)).rowcount
            return BatchResult(matched=matched, changed=changed if changed is not None and changed >= 0 else matched)

    def _batch(self, project: str | int, f: DatasetFilter, change: Any, with_session: bool = False) -> BatchResult:
        with self.db.session() as session:
            row = lookups.project(session, project)
            items = matching(session, row, f)
            if f.ids:
                _missing_ids(row, f, {i.id for i in items})
            changed = sum(bool(change(i, session) if with_session else change(i)) for i in items)
            return BatchResult(matched=len(items), changed=changed)

    def check_dataset(self, project: str | int, filter: DatasetFilter | None = None) -> CheckReport:
        """Grounding check without an LLM: every figure, date and name in each answer (each assistant turn of a
        dialogue) must be in its chunk (its text or its heading path)."""
        failures: list[dict[str, Any]] = []
        with self.db.session() as session:
            row = lookups.project(session, project)
            items = matching(session, row, filter)
            rows = session.execute(select(Chunk.id, Chunk.heading_path, Chunk.text).where(Chunk.id.in_({i.chunk_id for i in items if i.chunk_id})))
            # a chunk's headings are part of what it says ("## Brindle & Osk Coffee" above "Its app has ...")
            chunks = {cid: f"{heading}\n{text}" if heading else text for cid, heading, text in rows}
            checked = 0
            for item in items:
                source = chunks.get(item.chunk_id) if item.chunk_id else None
                if source is None:
                    reason = "distilled: answered from the model's own knowledge" if item.distilled else "no source chunk"
                    item.grounding, item.grounding_ok = {"ok": None, "reason": reason}, None  # never counted as grounded
                    continue
                missing, seen = _turns_grounding(item, source)
                checked += 1
                item.grounding = {"ok": not missing, "missing": missing, "checked": seen}
                item.grounding_ok = not missing
                if missing:
                    failures.append({"id": item.id, "question": item.question, "missing": missing})
        return CheckReport(checked=checked, failed=len(failures), items=failures)

    def dedup_dataset(self, project: str | int, threshold: float | None = None, remove: bool = False) -> DedupReport:
        """Find near-identical QA pairs across the project; mark them (duplicate_of), or delete them."""
        from loreforge.generate.dedup import DuplicateIndex

        with self.db.session() as session:
            row = lookups.project(session, project)
            limit = threshold if threshold is not None else lookups.settings(row).questions.dedup_threshold
            index = DuplicateIndex()
            groups: dict[int, list[int]] = {}
            removed = 0
            for item in session.scalars(dataset_query(row, None).order_by(DatasetItem.id)):
                text = f"{item.question}\n{item.answer}"
                hit = index.find(text, limit)
                if hit is None:
                    index.add(item.id, text)
                    item.duplicate_of = None
                    continue
                groups.setdefault(int(hit[0]), [int(hit[0])]).append(item.id)
                if remove:
                    session.delete(item)
                    removed += 1
                else:
                    item.duplicate_of = int(hit[0])
            dupes = sum(len(g) - 1 for g in groups.values())
            return DedupReport(groups=list(groups.values()), duplicates=dupes, removed=removed)


def _missing_ids(row: Project, f: DatasetFilter, found: set[int]) -> None:
    """A selection by ids alone names items that must all be there."""
    missing = set(f.ids) - found
    if missing and not any(v is not None for k, v in f.model_dump().items() if k != "ids"):
        raise NotFound(f"No dataset item {sorted(missing)} in project '{row.name}'")


def _check_ids(session: Session, row: Project, f: DatasetFilter, ids: Select[Any]) -> None:
    _missing_ids(row, f, set(session.scalars(ids)))
def _turns_grounding(item: DatasetItem, source: str) -> tuple[list[str], list[str]]:
    """The grounding check of an item's answer — of a dialogue, of every assistant turn (values named by their round,
    "round 2: 48.7%"): (missing values, checked values)."""
    from loreforge.review import check_grounding

    if item.kind != "dialogue":
        result = check_grounding(item.answer, source)
        return list(result.missing), list(result.checked)
    answers = [str(a) for _q, a in (item.history or [])] + [item.answer]
    missing: list[str] = []
    seen: list[str] = []
    for number, answer in enumerate(answers, 1):
        result = check_grounding(answer, source)
        missing += [f"round {number}: {v}" for v in result.missing]
        seen += list(result.checked)
    return missing, seen


def _history(history: list[list[str]]) -> list[list[str]]:
    """Earlier rounds as stored: [user, assistant] pairs, neither side empty."""
    out: list[list[str]] = []
    for number, turn in enumerate(history, 1):
        if not isinstance(turn, (list, tuple)) or len(turn) != 2 or not all(isinstance(t, str) and t.strip() for t in turn):
            raise UserError(f"Round {number} of the history needs a user message and an assistant reply",
                            expected="[[user, assistant], ...] with no empty side", got=repr(turn)[:200])
        out.append([turn[0].strip(), turn[1].strip()])
    return out


def _set(item: DatasetItem, name: str, value: Any) -> bool:
    if getattr(item, name) == value:
        return False
    setattr(item, name, value)
    return True
