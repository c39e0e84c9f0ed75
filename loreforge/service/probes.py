"""Probe actions: build a project's probe sets (held-out, key-fact and general offline; reworded through an LLM
as a job on the one life cycle), list and show them, import the user's own from JSONL/CSV, export any set,
delete one. Probe sets are what `loreforge eval` asks the base and the tuned model; see docs/evaluation.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from loreforge.defaults import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from loreforge.errors import Conflict, NotFound, UserError
from loreforge.service import lookups, text_input
from loreforge.service.base import ServiceBase
from loreforge.service.job_views import job_view
from loreforge.service.probe_plan import STAGE, now, reword_plan, training_view
from loreforge.service.stages import Progress, alaunch, launch
from loreforge.store.models import Document, Job, Probe, ProbeSet, Project
from loreforge.views import Deleted, PageView, ProbeExportReport, ProbeImportReport, ProbeSetPage, ProbeSetView, ProbeView, from_row

DEFAULT_NAME = "probes"
ISSUES_SHOWN = 200
_RECIPE = ("kinds", "qtypes", "size", "options", "rotations", "leakage_threshold", "val_size", "split_by", "seed", "language",
           "model", "split_hash")


def check_name(name: str) -> str:
    from loreforge.service.projects import UNSAFE_IN_NAME

    text = name.strip()
    if not text or len(text) > 200 or lookups.row_id(text) is not None or any(c in text for c in UNSAFE_IN_NAME):
        raise UserError("Invalid probe set name", got=repr(name[:60]),
                        expected=f"1 to 200 characters, not all digits (a number means an id), without any of {' '.join(UNSAFE_IN_NAME)}")
    return text


def find_set(session: Session, row: Project, ref: str | int) -> ProbeSet:
    """A probe set of the project by id or name."""
    ident = lookups.row_id(ref)
    found = session.get(ProbeSet, ident) if ident is not None else None
    if found is None or found.project_id != row.id:
        found = session.scalar(select(ProbeSet).where(ProbeSet.project_id == row.id, ProbeSet.name == str(ref)))
    if found is None:
        names = list(session.scalars(select(ProbeSet.name).where(ProbeSet.project_id == row.id).order_by(ProbeSet.id)))
        raise NotFound(f"No probe set {lookups.shown(ref)!r} in project '{lookups.shown(row.name)}'",
                       hint=("Known: " + ", ".join(names)) if names else f"Build one with `loreforge probes build {row.name}`")
    return found


def _job(session: Session, probe_set: ProbeSet) -> Job | None:
    jobs = session.scalars(select(Job).where(Job.project_id == probe_set.project_id, Job.kind == STAGE).order_by(Job.id.desc()))
    return next((j for j in jobs if (j.params or {}).get("probe_set_id") == probe_set.id), None)


def set_view(session: Session, probe_set: ProbeSet) -> ProbeSetView:
    n = session.scalar(select(func.count()).select_from(Probe).where(Probe.probe_set_id == probe_set.id)) or 0
    job = _job(session, probe_set)
    return from_row(ProbeSetView, probe_set, kinds=list(probe_set.kinds or []), params=dict(probe_set.params or {}),
                    counts=dict(probe_set.counts or {}), probes=n, job=job_view(session, job) if job else None)


def _probe_view(p: Probe) -> ProbeView:
    return from_row(ProbeView, p, options=list(p.options) if p.options is not None else None, provenance=dict(p.provenance or {}))


class ProbeActions(ServiceBase):
    def _build(self, project: str | int, name: str | None, kinds: Any, qtypes: Any, size: int | None, rotations: int | None,
               model: str | None, provider: str | None, leakage_threshold: float | None, val_size: float | None,
               split_by: str | None, seed: int | None) -> tuple[int, Any]:
        """Store the set and its offline probes (or find the set to resume); the rewording plan when it needs one."""
        from loreforge.service.probe_recipe import Recipe, offline_probes

        with self.db.session() as session:
            row = lookups.project(session, project)
            recipe = Recipe.resolve(self.secrets, session, row, check_name(name or DEFAULT_NAME), kinds, qtypes, size, rotations,
                                    model, provider, leakage_threshold, val_size, split_by, seed)
            view = training_view(session, row, recipe.val_size, recipe.split_by, recipe.seed)
            params = recipe.params(view.split_hash)
            existing = session.scalar(select(ProbeSet).where(ProbeSet.project_id == row.id, ProbeSet.name == recipe.name))
            if existing is not None and not _same(existing.params, params):
                raise Conflict(f"Project '{row.name}' already has a probe set named '{recipe.name}', built another way",
                               hint=f"Choose another --name, or delete it first (`loreforge probes delete {row.name} {recipe.name}`); "
                                    "building again with the same options resumes it")
            probe_set = existing or offline_probes(session, row, recipe, params, view)
            plan = None
            if "reworded" in recipe.kinds:
                plan = reword_plan(self.config, self.secrets, session, row, probe_set, view)
            return probe_set.id, plan

    async def abuild_probes(
        self, project: str | int, name: str | None = None, kinds: str | list[str] | None = None, qtypes: str | list[str] | None = None,
        size: int | None = None, rotations: int | None = None, model: str | None = None, provider: str | None = None,
        leakage_threshold: float | None = None, val_size: float | None = None, split_by: str | None = None, seed: int | None = None,
        background: bool = False, on_progress: Progress | None = None,
    ) -> ProbeSetView:
        """Build (or resume) a probe set — see `build_probes`."""
        set_id, plan = self._build(project, name, kinds, qtypes, size, rotations, model, provider, leakage_threshold, val_size,
                                   split_by, seed)
        if plan is not None:
            await alaunch(self.db, plan, background=background, on_progress=on_progress)
        return self._set(project, set_id)

    def build_probes(
        self, project: str | int, name: str | None = None, kinds: str | list[str] | None = None, qtypes: str | list[str] | None = None,
        size: int | None = None, rotations: int | None = None, model: str | None = None, provider: str | None = None,
        leakage_threshold: float | None = None, val_size: float | None = None, split_by: str | None = None, seed: int | None = None,
        background: bool = False, on_progress: Progress | None = None,
    ) -> ProbeSetView:
        """Build a probe set from the project's confirmed dataset, split exactly as `export` splits it (`val_size`,
        `split_by`, `seed`: the export's defaults). `kinds`: held_out, reworded, key_fact, general (default: all
        but reworded, plus reworded when an LLM is configured); `qtypes`: open, short, true_false, single_choice,
        multiple_choice (default: the `probes.qtypes` setting). Probes too close to a training question are
        dropped and counted. Rewording runs as a job (`model`: a model config; `provider extractive` cannot
        reword); building again with the same name and options resumes it (to reword again, delete the set)."""
        set_id, plan = self._build(project, name, kinds, qtypes, size, rotations, model, provider, leakage_threshold, val_size,
                                   split_by, seed)
        if plan is not None:
            launch(self.db, plan, background=background, on_progress=on_progress)
        return self._set(project, set_id)

    def _set(self, project: str | int, set_id: int) -> ProbeSetView:
        with self.db.session() as session:
            return set_view(session, find_set(session, lookups.project(session, project), set_id))

    def list_probe_sets(self, project: str | int) -> list[ProbeSetView]:
        """The project's probe sets, oldest first."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            sets = session.scalars(select(ProbeSet).where(ProbeSet.project_id == row.id).order_by(ProbeSet.id))
            return [set_view(session, s) for s in sets]

    def get_probe_set(self, project: str | int, probe_set: str | int, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE,
                      kind: str | None = None, qtype: str | None = None) -> ProbeSetPage:
        """One probe set (by name or id) and a page of its probes in order, optionally of one kind or question type."""
        if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise UserError("Invalid page", expected=f"page ≥ 1 and page_size 1 to {MAX_PAGE_SIZE}", got=f"page {page}, page_size {page_size}")
        with self.db.session() as session:
            target = find_set(session, lookups.project(session, project), probe_set)
            query = select(Probe).where(Probe.probe_set_id == target.id)
            if kind:
                query = query.where(Probe.kind == kind.replace("-", "_"))
            if qtype:
                query = query.where(Probe.qtype == qtype.replace("-", "_"))
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(query.order_by(Probe.position).offset((page - 1) * page_size).limit(page_size))
            probes = PageView[ProbeView](items=[_probe_view(p) for p in rows], total=total, page=page, page_size=page_size)
            return ProbeSetPage(set=set_view(session, target), probes=probes)

    def import_probes(self, project: str | int, path: str | Path, name: str) -> ProbeImportReport:
        """Import the user's own probes from a JSONL or CSV file (question, reference, optional key, document, ...)
        as a new set. Bad records are reported by line and the rest imported; nothing is stored when none is good."""
        from loreforge.evaluate.probes.files import read_probes

        source = Path(path)
        if not source.is_file():
            raise NotFound(f"No file {source}", hint="Give the path of a .jsonl or .csv file of probes")
        good, issues = read_probes(source)
        with self.db.session() as session:
            row = lookups.project(session, project)
            set_name = check_name(name)
            if session.scalar(select(ProbeSet.id).where(ProbeSet.project_id == row.id, ProbeSet.name == set_name)) is not None:
                raise Conflict(f"Project '{row.name}' already has a probe set named '{set_name}'", hint="Choose another name, or delete that set first")
            rows, more = _resolve(session, row, good)
            issues = sorted(issues + more, key=lambda i: i.line or 0)
            if not rows:
                shown = "; ".join(i.message for i in issues[:5]) or "the file holds no records"
                raise UserError(f"No probe in {source.name} can be imported", got=shown,
                                hint="Each record needs a question and a reference (or a key); fix the lines named and import again")
            kinds = list(dict.fromkeys(r["kind"] for r in rows))
            target = ProbeSet(project_id=row.id, name=set_name, kinds=kinds, language=lookups.settings(row).language,
                              params={"source": "import", "file": source.name, "imported": now()},
                              counts={"built": len(rows), "dropped_leakage": 0, "dropped_other": len(issues), "imported": len(rows),
                                      "bad_lines": len(issues)})
            session.add(target)
            session.flush()
            session.execute(insert(Probe), [{"probe_set_id": target.id, "position": i, **r} for i, r in enumerate(rows)])
            view = set_view(session, target)
        return ProbeImportReport(set=view, imported=len(rows), skipped=len(issues),
                                 issues=[{"line": i.line, "message": i.message} for i in issues[:ISSUES_SHOWN]])

    def export_probes(self, project: str | int, probe_set: str | int, out: str | Path) -> ProbeExportReport:
        """Write a probe set to a .jsonl or .csv file (every field `probes import` reads back)."""
        from loreforge.evaluate.probes.files import FIELDS, write_probes

        target_path = Path(out).expanduser().resolve()
        with self.db.session() as session:
            target = find_set(session, lookups.project(session, project), probe_set)
            names = dict(session.execute(select(Document.id, Document.filename).where(Document.project_id == target.project_id)).all())
            probes = [{**{f: getattr(p, f) for f in FIELDS if f != "document"}, "document": names.get(p.document_id)}
                      for p in session.scalars(select(Probe).where(Probe.probe_set_id == target.id).order_by(Probe.position))]
        written = write_probes(target_path, probes)
        return ProbeExportReport(path=str(target_path), probes=written)

    def delete_probe_set(self, project: str | int, probe_set: str | int) -> Deleted:
        """Delete a probe set and its probes."""
        with self.db.session() as session:
            target = find_set(session, lookups.project(session, project), probe_set)
            n = session.scalar(select(func.count()).select_from(Probe).where(Probe.probe_set_id == target.id)) or 0
            session.execute(delete(Probe).where(Probe.probe_set_id == target.id))
            session.delete(target)
        return Deleted(deleted=1, detail={"probes": n})


def _same(stored: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return all(stored.get(k) == wanted.get(k) for k in _RECIPE)


def _resolve(session: Session, row: Project, good: list[Any]) -> tuple[list[dict[str, Any]], list[Any]]:
    """Rows for the good probes (documents looked up by id or file name, text checked); issues for the rest."""
    from loreforge.evaluate.probes.files import FileIssue

    docs = list(session.execute(select(Document.id, Document.filename).where(Document.project_id == row.id)).all())
    by_id = {d.id: d.id for d in docs}
    by_name: dict[str, list[int]] = {}
    for d in docs:
        by_name.setdefault(d.filename, []).append(d.id)
    rows: list[dict[str, Any]] = []
    issues: list[Any] = []
    for read in good:
        where = f"line {read.line}" if read.line is not None else "a record"
        record = read.draft.row()
        bad = next((f"'{k}' holds {p}" for k, v in record.items() if isinstance(v, str) and (p := text_input.problem(v))), None)
        if bad:
            issues.append(FileIssue(read.line, f"{where}: {bad}"))
            continue
        if read.document is not None:
            ident = lookups.row_id(read.document)
            found = [by_id[ident]] if ident in by_id else by_name.get(read.document, [])
            if len(found) != 1:
                why = "names no document of the project" if not found else f"names {len(found)} documents (use the id)"
                issues.append(FileIssue(read.line, f"{where}: 'document' {read.document!r} {why}"))
                continue
            record["document_id"] = found[0]
        rows.append(record)
    return rows, issues


def reword_retry(app: Any, session: Session, row: Project, job: Job, keys: list[str]) -> Any:
    """The rewording job of a probe set again, over its unfinished items (`loreforge jobs retry`)."""
    ident = (job.params or {}).get("probe_set_id")
    target = session.get(ProbeSet, ident) if isinstance(ident, int) else None
    if target is None:
        raise NotFound(f"The probe set of job {job.id} was deleted", hint="Build it again with `loreforge probes build`")
    params = dict(target.params)
    view = training_view(session, row, params["val_size"], params["split_by"], params["seed"])
    if view.split_hash != params.get("split_hash"):
        raise Conflict(f"The dataset of project '{row.name}' changed since probe set '{target.name}' was built",
                       hint="Its trained items are not the same any more: build a new set (another --name)")
    return reword_plan(app.config, app.secrets, session, row, target, view, keys=keys)
