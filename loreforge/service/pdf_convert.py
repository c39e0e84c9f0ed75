"""PDF conversion actions beside the text-layer extraction of `ingest`: `vision` (each page rendered and transcribed
by the vision model — job kind `pdf_pages`, one item per page, concurrent through the runner — then one call that
repairs the heading levels), `mineru-api` (the MinerU cloud API: upload, poll with a bounded timeout, download) and
`mineru-local` (a local MinerU server's `file_parse`) — job kind `pdf_mineru`, one item per file. Converted pages are
kept (`pdf_pages`) so a killed conversion resumes; once a file's pages are all there it becomes a document through
the ordinary ingest (stored, hashed, split). The MinerU token comes from the secrets store (or an environment
variable) and is never written to a row."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from loreforge.errors import IngestError, NeedsKey, UserError
from loreforge.mode_views import PdfConvertView, SecretStored
from loreforge.records import LoadedDocument
from loreforge.secrets import SecretBox, mask
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.service.documents import Source, Upload
from loreforge.service.model_configs import generation, vision_generation
from loreforge.service.prompts import load_prompts
from loreforge.service.stage_common import input_hash
from loreforge.service.stages import Progress, StagePlan, Stored, alaunch, execute, job_loop, not_done, prepare, view_of
from loreforge.settings import AppConfig
from loreforge.settings.modes import PdfSettings
from loreforge.store.models import PdfPage, Project, Secret
from loreforge.views import IngestItem, JobView

STRATEGIES: tuple[str, ...] = get_args(PdfSettings.model_fields["strategy"].annotation)
FOLDER = "pdf"


@dataclass(frozen=True)
class PdfFile:
    """A PDF to convert, kept in the project folder under its hash until its document is made."""

    filename: str
    path: Path
    sha256: str
    pages: int


@dataclass(frozen=True)
class PPayload:
    file: PdfFile
    page: int  # from 1; 0: the whole file (MinerU)
    input_hash: str


def mineru_secret(project_id: int) -> str:
    return f"project{project_id}:mineru"


def keep_file(config: AppConfig, row: Project, source: Path, filename: str) -> PdfFile:
    """Copy the PDF into the project folder (`pdf/<sha256[:16]>.pdf`) and count its pages."""
    from loreforge.ingest.images import pdf_page_count
    from loreforge.ingest.storage import file_sha256

    if not source.is_file():
        raise IngestError(filename, "no such file", hint="Check the path")
    if source.suffix.lower() != ".pdf":
        raise IngestError(filename, "is not a .pdf", hint="`pdf convert` converts PDF files; ingest other formats with `loreforge ingest`")
    digest = file_sha256(source)
    target = lookups.project_dir(config, row) / FOLDER / f"{digest[:16]}.pdf"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        shutil.copyfile(source, target)
    return PdfFile(filename, target, digest, pdf_page_count(target, filename))


def _render(path: Path, page: int, dpi: int, max_side: int) -> str:
    from loreforge.generate.vision import data_url
    from loreforge.ingest.images import render_page

    return data_url(render_page(path, path.name, dpi, page), max_side)


def pages_plan(config: AppConfig, secrets: SecretBox, session: Session, row: Project, files: list[PdfFile], model: str | None,
               force: bool) -> StagePlan:
    """The vision strategy: every page of every file transcribed, one call each."""
    from loreforge.generate.pdf_vision import PageTask, llm_page
    from loreforge.generate.strategies import StageContext, StageWork

    gen = vision_generation(secrets, session, row, model)
    s = gen.settings
    prompts = load_prompts(config, row, "system", "pdf_page", "pdf_headings")
    items = []
    for f in files:
        for page in range(1, f.pages + 1):
            h = input_hash("pdf_pages", f.sha256, page, s.images.pdf_dpi, s.images.max_side, prompts["pdf_page"].hash, gen.model_key)
            items.append((f"page:{page}:{f.sha256[:12]}:{h[:16]}", PPayload(f, page, h)))
    work_def = StageWork("pdf_pages", llm_page)

    async def work(strategy: Any, ctx: Any, p: PPayload) -> Any:
        url = await asyncio.to_thread(_render, p.file.path, p.page, s.images.pdf_dpi, s.images.max_side)
        return await strategy.do(ctx, work_def, PageTask(f"{p.file.filename}#page={p.page}", p.page, url))

    def store(db: Session, _job_id: int, p: PPayload, draft: Any) -> Stored:
        _put_page(db, row.id, p, "vision", draft.markdown, dict(source=gen.source, provider=gen.config.provider,
                  model=draft.model or gen.config.model, prompt_name="pdf_page", prompt_hash=prompts["pdf_page"].hash,
                  input_hash=p.input_hash, tokens_in=draft.tokens_in, tokens_out=draft.tokens_out))
        return Stored(None if draft.markdown else "the page came back empty")

    params = {"files": [f.filename for f in files], "sha256": [f.sha256 for f in files], "strategy": "vision", "model": model}
    return StagePlan("pdf_pages", gen, not_done(session, row.id, "pdf_pages", items, force), params,
                     lambda job_id: StageContext("pdf_pages", row.id, job_id, s, prompts, gen.config.options.options()),
                     work, store, force=force)


def mineru_plan(config: AppConfig, secrets: SecretBox, session: Session, row: Project, files: list[PdfFile], strategy: str,
                force: bool) -> StagePlan:
    """The MinerU strategies: each file converted whole by MinerU (no LLM call; the job runs on the offline strategy)."""
    from loreforge.generate.strategies import StageContext, StageWork
    from loreforge.ingest.mineru import convert_api, convert_local

    gen = generation(secrets, session, row, None, "extractive")
    p_set = gen.settings.pdf
    token = mineru_token(secrets, session, row) if strategy == "mineru-api" else ""
    items = [(f"file:0:{f.sha256[:12]}:{input_hash('pdf_mineru', f.sha256, strategy, p_set.mineru_model)[:16]}",
              PPayload(f, 0, input_hash("pdf_mineru", f.sha256, strategy, p_set.mineru_model))) for f in files]

    async def convert(_extractor: Any, _ctx: Any, p: PPayload) -> Any:
        if strategy == "mineru-api":
            return await convert_api(p.file.path, p.file.filename, p_set.mineru_api_url, token, p_set.mineru_model, p_set.mineru_timeout_s, p_set.mineru_poll_s)
        return await convert_local(p.file.path, p.file.filename, p_set.mineru_local_url, p_set.mineru_timeout_s)

    work_def = StageWork("pdf_mineru", convert, convert)

    async def work(strat: Any, ctx: Any, p: PPayload) -> Any:
        return await strat.do(ctx, work_def, p)

    def store(db: Session, _job_id: int, p: PPayload, draft: Any) -> Stored:
        url = p_set.mineru_api_url if strategy == "mineru-api" else p_set.mineru_local_url
        _put_page(db, row.id, p, strategy, draft.markdown, dict(source=strategy, provider="mineru", model=p_set.mineru_model,
                  prompt_name=f"mineru {draft.task}"[:100], prompt_hash=hashlib.sha256(url.encode()).hexdigest()[:16],
                  input_hash=p.input_hash, tokens_in=0, tokens_out=0))
        return Stored()

    params = {"files": [f.filename for f in files], "sha256": [f.sha256 for f in files], "strategy": strategy}
    return StagePlan("pdf_mineru", gen, not_done(session, row.id, "pdf_mineru", items, force), params,
                     lambda job_id: StageContext("pdf_mineru", row.id, job_id, gen.settings, {}, gen.config.options.options()),
                     work, store, force=force)


def _put_page(db: Session, project_id: int, p: PPayload, strategy: str, markdown: str, provenance: dict[str, Any]) -> None:
    row = db.scalar(select(PdfPage).where(PdfPage.project_id == project_id, PdfPage.content_hash == p.file.sha256,
                                          PdfPage.strategy == strategy, PdfPage.page == p.page))
    if row is None:
        row = PdfPage(project_id=project_id, content_hash=p.file.sha256, strategy=strategy, page=p.page)
        db.add(row)
    row.filename, row.pages, row.markdown = p.file.filename, p.file.pages, markdown
    for name, value in provenance.items():
        setattr(row, name, value)


def mineru_token(secrets: SecretBox, session: Session, row: Project) -> str:
    stored = session.scalar(select(Secret).where(Secret.name == mineru_secret(row.id)))
    if stored is not None:
        return secrets.decrypt(stored.ciphertext)
    env = lookups.settings(row).pdf.mineru_token_env
    value = os.environ.get(env, "").strip()
    if not value:
        raise NeedsKey(f"No MinerU API token for project '{row.name}': none is stored and {env} is not set",
                       hint=f"Store one with `loreforge pdf mineru-key {row.name}` (read from a hidden prompt), or set {env}")
    return value


class PdfActions(ServiceBase):
    async def aconvert_pdf(self, project: str | int, files: list[str | Path | Upload], strategy: str | None = None, model: str | None = None,
                           force: bool = False, background: bool = False, on_progress: Progress | None = None) -> PdfConvertView:
        """Convert PDFs to documents by `strategy` (default `pdf.strategy`): vision — each page transcribed by the
        vision model (one call per page, concurrent), then one call that repairs the heading levels; mineru-api;
        mineru-local. The pages are a job (resumable: pages done are kept); each file whose pages are all there then
        becomes a document (stored and split as `ingest` does). A bad file is reported and the rest go on. With
        `background` the answer comes at once, with the job (recorded, not run yet); the documents follow it."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            which = strategy or lookups.settings(row).pdf.strategy
            if which not in STRATEGIES:
                raise UserError("Unknown PDF strategy", expected=", ".join(STRATEGIES), got=repr(which))
            kept, failed = self._keep(row, files)
            plan: StagePlan | None = None
            if kept and which == "vision":
                plan = pages_plan(self.config, self.secrets, session, row, kept, model, force)
            elif kept:
                plan = mineru_plan(self.config, self.secrets, session, row, kept, which, force)

        async def documents() -> list[IngestItem]:
            return failed + [await self._finish(project, f, which, model) for f in kept]

        if background:  # the job is recorded now (its id is in the answer), then run with the documents after it
            job_id = await asyncio.to_thread(prepare, self.db, plan, None) if plan is not None else None

            async def run_later() -> None:
                if plan is not None and job_id is not None:
                    await execute(self.db, job_id, plan, on_progress)
                await documents()

            job_loop().submit(run_later())
            jobs = [await asyncio.to_thread(view_of, self.db, job_id)] if job_id is not None else []
            return PdfConvertView(strategy=which, jobs=jobs, documents=failed, started_in_background=True)
        job = await alaunch(self.db, plan, on_progress=on_progress) if plan is not None else None
        return PdfConvertView(strategy=which, jobs=[job] if job else [], documents=await documents())

    def convert_pdf(self, project: str | int, files: list[str | Path | Upload], strategy: str | None = None, model: str | None = None,
                    force: bool = False, background: bool = False, on_progress: Progress | None = None) -> PdfConvertView:
        """The blocking twin of `aconvert_pdf`."""
        from loreforge.service.llm import run_sync

        return run_sync(self.aconvert_pdf(project, files, strategy, model, force, background, on_progress))

    def _keep(self, row: Project, files: list[str | Path | Upload]) -> tuple[list[PdfFile], list[IngestItem]]:
        """Each file kept in the project folder (an upload received first), or why not."""
        from loreforge.service.images import received

        kept: list[PdfFile] = []
        failed: list[IngestItem] = []
        settings = lookups.settings(row)
        for file in files:
            name = file.filename if isinstance(file, Upload) else Path(file).name
            try:
                with received(file, lookups.project_dir(self.config, row) / "tmp", settings) as path:
                    kept.append(keep_file(self.config, row, path, name))
            except IngestError as exc:
                failed.append(IngestItem(filename=name, status="failed", error=str(exc)))
            except OSError as exc:
                failed.append(IngestItem(filename=name, status="failed", error=f"{name}: cannot read it ({exc.strerror or exc})"))
        return kept, failed

    async def _finish(self, project: str | int, f: PdfFile, strategy: str, model: str | None) -> IngestItem:
        """The file as a document, once every page is converted (vision: after the heading repair call)."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            pages = list(session.scalars(select(PdfPage).where(PdfPage.project_id == row.id, PdfPage.content_hash == f.sha256,
                                                               PdfPage.strategy == strategy).order_by(PdfPage.page)))
            need = 1 if strategy != "vision" else f.pages
            if len(pages) < need:
                return IngestItem(filename=f.filename, status="failed", error=f"{f.filename}: {need - len(pages)} of {need} page(s) "
                                  "are not converted yet; retry the job (`loreforge jobs retry JOB`), then convert again")
            markdown = "\n\n".join(p.markdown for p in pages).strip()
            models = sorted({p.model or "" for p in pages})
            gen = vision_generation(self.secrets, session, row, model) if strategy == "vision" else None
            repair = lookups.settings(row).pdf.repair_headings
        if gen is not None and repair:
            markdown = await self._repair(project, gen, f, markdown)
        loaded = LoadedDocument(markdown=markdown, format="pdf", title=None, pages=f.pages,
                                meta={"converted_by": strategy, "models": models})
        return await asyncio.to_thread(self.app._ingest_one, project, Source(f.filename, f.path), True, False, loaded)

    async def _repair(self, project: str | int, gen: Any, f: PdfFile, markdown: str) -> str:
        from loreforge.generate.pdf_vision import repair_headings
        from loreforge.generate.strategies import StageContext, StageWork
        from loreforge.service.llm import with_strategy

        with self.db.session() as session:
            prompts = load_prompts(self.config, lookups.project(session, project), "system", "pdf_headings")
        ctx = StageContext("pdf_pages", gen.project_id, None, gen.settings, prompts, gen.config.options.options())
        work = StageWork("pdf_pages", lambda runner, c, text: repair_headings(runner, c, f.filename, text))
        fixed, _tokens_in, _tokens_out = await with_strategy(self.db, gen, lambda strategy: strategy.do(ctx, work, markdown))
        return str(fixed)

    def set_mineru_key(self, project: str | int, key: str) -> SecretStored:
        """Store the project's MinerU API token (encrypted, in the secrets store); it is never shown again, nor copied
        into jobs, rows or errors."""
        if not key.strip():
            raise UserError("The MinerU token cannot be empty")
        with self.db.session() as session:
            row = lookups.project(session, project)
            ref = self.secrets.put(session, mineru_secret(row.id), key.strip())
        return SecretStored(name="MinerU API token", stored=mask(ref) or "")
