"""Image actions: add images (files, folders, zips, the pages of a PDF rendered as images), stored like documents —
content hash, a safe name, size and pixel limits, a bad one reported while the rest go on; list, show, delete; and the
image QA stage (job kind `image_qa`): a vision model writes N questions per image with their answers, and answers
the image's template questions, in one call per image."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loreforge.errors import IngestError, LoreForgeError, NotFound
from loreforge.mode_views import ImageImportItem, ImageImportReport, ImageView
from loreforge.secrets import SecretBox
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.service.documents import Upload
from loreforge.service.stage_common import input_hash, share
from loreforge.service.stages import Progress, StagePlan, Stored, alaunch, launch, not_done
from loreforge.settings import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, AppConfig
from loreforge.store.models import DatasetItem, Image, Project, Question
from loreforge.views import Deleted, JobView, PageView, from_row

STAGE = "image_qa"
MB = 1024 * 1024
IMAGES_DIR = "images"


def image_path(config: AppConfig, row: Project, image: Image) -> Path:
    return lookups.project_dir(config, row) / image.stored_path


def _view(session: Session, config: AppConfig, row: Project, image: Image) -> ImageView:
    questions = session.scalar(select(func.count()).select_from(Question).where(Question.image_id == image.id)) or 0
    items = session.scalar(select(func.count()).select_from(DatasetItem).where(DatasetItem.image_id == image.id)) or 0
    return from_row(ImageView, image, path=str(image_path(config, row, image)), questions=questions, dataset_items=items)


def store_image(session: Session, config: AppConfig, row: Project, name: str, data: bytes, origin: str, info: Any,
                document_id: int | None = None, page: int | None = None) -> tuple[Image, bool]:
    """The image row for these bytes: the existing one (same content), or a new one whose file is written under its
    hash (atomically). Returns (image, added)."""
    digest = hashlib.sha256(data).hexdigest()
    existing = session.scalar(select(Image).where(Image.project_id == row.id, Image.content_hash == digest))
    if existing is not None:
        return existing, False
    rel = f"{IMAGES_DIR}/{digest[:16]}.{info.format}"
    target = lookups.project_dir(config, row) / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, target)
    image = Image(project_id=row.id, filename=name[:500], stored_path=rel, content_hash=digest, format=info.format, width=info.width,
                  height=info.height, size_bytes=len(data), origin=origin, document_id=document_id, page=page)
    session.add(image)
    session.flush()
    return image, True


@dataclass(frozen=True)
class IPayload:
    image_id: int
    stored: str
    n: int
    templates: list[tuple[int, str, Any]]  # (question id, question, AnswerFormat)
    input_hash: str


def image_qa_plan(config: AppConfig, secrets: SecretBox, session: Session, row: Project, image_ids: list[int] | None,
                  n: int | None, model: str | None, force: bool) -> StagePlan:
    """N questions with answers for each image without any yet (all with `force`), and every image's unanswered
    template questions, one vision call per image."""
    from loreforge.generate.strategies import StageContext, StageWork
    from loreforge.generate.templates import conform, instruction
    from loreforge.generate.vision import ImageQATask, data_url, llm_image_qa
    from loreforge.service.answers import put_item, template_formats
    from loreforge.service.model_configs import vision_generation
    from loreforge.service.prompts import load_prompts
    from loreforge.service.questions import norm_text

    gen = vision_generation(secrets, session, row, model, {"images.questions_per_image": n} if n else None)
    settings = gen.settings
    prompts = load_prompts(config, row, "system", "image_qa")
    query = select(Image).where(Image.project_id == row.id).order_by(Image.id)
    images = list(session.scalars(query.where(Image.id.in_(image_ids)) if image_ids else query))
    if image_ids and len(images) != len(set(image_ids)):
        raise NotFound(f"No image {sorted(set(image_ids) - {i.id for i in images})} in project '{row.name}'",
                       hint=f"List them with `loreforge images list {row.name}`")
    asked = set(session.scalars(select(Question.image_id).where(Question.project_id == row.id, Question.template_id.is_(None),
                                                               Question.image_id.is_not(None))))
    pending: dict[int, list[Question]] = {}
    for q in session.scalars(select(Question).where(Question.project_id == row.id, Question.template_id.is_not(None),
                                                    Question.image_id.is_not(None), Question.answered.is_(False))):
        pending.setdefault(q.image_id or 0, []).append(q)
    formats = template_formats(session, [q.id for qs in pending.values() for q in qs])
    lang = settings.language
    items: list[tuple[str, Any]] = []
    for image in images:
        count = settings.images.questions_per_image if force or image.id not in asked else 0
        templates = [(q.id, q.text + instruction(formats[q.id], lang), formats[q.id]) for q in pending.get(image.id, []) if q.id in formats]
        if not count and not templates:
            continue
        h = input_hash(STAGE, image.content_hash, count, [t[:2] for t in templates], settings.images.max_side, prompts["image_qa"].hash,
                       gen.model_key)
        items.append((f"image:{image.id}:{h[:16]}", IPayload(image.id, str(image_path(config, row, image)), count, templates, h)))
    work_def = StageWork(STAGE, llm_image_qa)

    def context(job_id: int) -> StageContext:
        return StageContext(STAGE, row.id, job_id, settings, prompts, gen.config.options.options())

    async def work(strategy: Any, ctx: StageContext, p: IPayload) -> Any:
        try:
            data = Path(p.stored).read_bytes()
        except OSError as exc:
            raise IngestError(f"image {p.image_id}", f"its stored file {p.stored} cannot be read ({exc.strerror or exc})",
                              hint="Delete the image and add it again") from None
        url = data_url(data, settings.images.max_side)
        return await strategy.do(ctx, work_def, ImageQATask(p.image_id, url, p.n, [(qid, text) for qid, text, _f in p.templates]))

    def store(s: Session, _job_id: int, p: IPayload, draft: Any) -> Stored:
        provenance = dict(source=gen.source, provider=gen.config.provider, model=draft.model or gen.config.model, prompt_name="image_qa",
                          prompt_hash=prompts["image_qa"].hash, input_hash=p.input_hash)
        have = set(s.scalars(select(Question.norm_text).where(Question.image_id == p.image_id)))
        pairs = [(q, a) for q, a in draft.pairs if norm_text(q) not in have]
        rows = len(pairs) + len(draft.template_answers)
        problems = [draft.error] if draft.error else []
        for i, (text, answer) in enumerate(pairs):
            tokens = dict(tokens_in=share(draft.tokens_in, rows, i), tokens_out=share(draft.tokens_out, rows, i))
            q = Question(project_id=row.id, chunk_id=None, image_id=p.image_id, text=text, norm_text=norm_text(text), answered=True,
                         **provenance, **tokens)
            s.add(q)
            s.flush()
            put_item(s, row.id, q.id, dict(chunk_id=None, image_id=p.image_id, question=text, answer=answer, cot="", **provenance, **tokens))
        for j, (qid, _asked, fmt) in enumerate(p.templates):
            if qid not in draft.template_answers:
                continue
            answer, error = conform(draft.template_answers[qid][0], fmt, lang)
            if error:
                problems.append(f"question {qid}: {error}")
                continue
            question = s.get(Question, qid)
            if question is None:
                continue
            tokens = dict(tokens_in=share(draft.tokens_in, rows, len(pairs) + j), tokens_out=share(draft.tokens_out, rows, len(pairs) + j))
            put_item(s, row.id, qid, dict(chunk_id=None, image_id=p.image_id, question=question.text, answer=answer, cot="",
                                          **provenance, **tokens))
            question.answered = True
        if p.n and not pairs:
            problems.append(f"{len(draft.pairs)} asked, 0 kept: the reply held no new question about the image")
        return Stored("; ".join(problems) or None, draft.raw)

    params = {"images": image_ids if image_ids else "all", "model": model, "provider": gen.config.provider, "force": force, "n": n}
    return StagePlan(STAGE, gen, not_done(session, row.id, STAGE, items, force), params, context, work, store, force=force)


class ImageActions(ServiceBase):
    def add_images(self, project: str | int, sources: Iterable[str | Path | Upload]) -> ImageImportReport:
        """Add images from files, folders (every image under them), .zip archives and .pdf files (each page rendered
        as an image). Each image is checked (format, bytes, pixels — the decompression-bomb guard — and a full decode)
        and stored under its content hash; one already there is reported as a duplicate; a bad one is reported and
        the rest go on."""
        from loreforge.ingest.images import read_source

        items: list[ImageImportItem] = []
        with self.db.session() as session:
            row = lookups.project(session, project)
            settings = lookups.settings(row)
            tmp_dir = lookups.project_dir(self.config, row) / "tmp"
        for source in sources:
            name = source.filename if isinstance(source, Upload) else Path(source).name
            try:
                with received(source, tmp_dir, settings) as path:
                    for found in read_source(path, name, settings.images, settings.ingest):
                        items.append(self._add_one(project, found, settings))
            except IngestError as exc:
                items.append(ImageImportItem(filename=name, status="failed", error=str(exc)))
            except OSError as exc:
                items.append(ImageImportItem(filename=name, status="failed", error=f"{name}: cannot read it ({exc.strerror or exc})"))
        return ImageImportReport(items=items, added=sum(i.status == "added" for i in items),
                                 duplicates=sum(i.status == "duplicate" for i in items), failed=sum(i.status == "failed" for i in items))

    def _add_one(self, project: str | int, found: Any, settings: Any) -> ImageImportItem:
        from loreforge.ingest.images import check_image

        try:
            info = check_image(found.name, found.data, settings.images)
            with self.db.session() as session:
                row = lookups.project(session, project)
                image, added = store_image(session, self.config, row, found.name, found.data, found.origin, info, page=found.page)
                return ImageImportItem(filename=found.name, status="added" if added else "duplicate", image_id=image.id)
        except IntegrityError:
            return ImageImportItem(filename=found.name, status="duplicate", error="added at the same time by another import")
        except LoreForgeError as exc:
            return ImageImportItem(filename=found.name, status="failed", error=str(exc))

    def list_images(self, project: str | int, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE) -> PageView[ImageView]:
        if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
            from loreforge.errors import UserError

            raise UserError("Invalid paging", expected=f"page >= 1 and 1 <= page_size <= {MAX_PAGE_SIZE}")
        with self.db.session() as session:
            row = lookups.project(session, project)
            query = select(Image).where(Image.project_id == row.id)
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(query.order_by(Image.id).offset((page - 1) * page_size).limit(page_size))
            return PageView[ImageView](items=[_view(session, self.config, row, i) for i in rows], total=total, page=page, page_size=page_size)

    def get_image(self, project: str | int, image_id: int) -> ImageView:
        """One image, with the path of its stored file (the API serves the file itself)."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            return _view(session, self.config, row, _image(session, row, image_id))

    def delete_images(self, project: str | int, image_ids: list[int]) -> Deleted:
        """Delete images and their files; their questions and dataset items stay, without the image."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            found = [_image(session, row, i) for i in dict.fromkeys(image_ids)]
            paths = [image_path(self.config, row, i) for i in found]
            for image in found:
                session.delete(image)
        for path in paths:
            path.unlink(missing_ok=True)
        return Deleted(deleted=len(found))

    def _image_plan(self, project: str | int, image_ids: list[int] | None, n: int | None, model: str | None, force: bool) -> StagePlan:
        with self.db.session() as session:
            row = lookups.project(session, project)
            return image_qa_plan(self.config, self.secrets, session, row, image_ids or None, n, model, force)

    async def agenerate_image_qa(self, project: str | int, image_ids: list[int] | None = None, questions_per_image: int | None = None,
                                 model: str | None = None, force: bool = False, background: bool = False,
                                 on_progress: Progress | None = None) -> JobView:
        """A vision model (`--type vision` config, or `model`) writes `questions_per_image` questions about each image
        with their answers, and answers its template questions — one call per image; images that have QA already get
        only their new template questions (`force`: new questions too)."""
        plan = self._image_plan(project, image_ids, questions_per_image, model, force)
        return await alaunch(self.db, plan, background=background, on_progress=on_progress)

    def generate_image_qa(self, project: str | int, image_ids: list[int] | None = None, questions_per_image: int | None = None,
                          model: str | None = None, force: bool = False, background: bool = False,
                          on_progress: Progress | None = None) -> JobView:
        """The blocking twin of `agenerate_image_qa`."""
        plan = self._image_plan(project, image_ids, questions_per_image, model, force)
        return launch(self.db, plan, background=background, on_progress=on_progress)


@contextmanager
def received(source: str | Path | Upload, tmp_dir: Path, settings: Any) -> Iterator[Path]:
    """The path to read a source from: the path itself, or an upload received into a temporary file of its own (cut off
    past the size limit; the file keeps the upload's suffix, which says how to read it)."""
    from loreforge.ingest import storage

    if not isinstance(source, Upload):
        yield Path(source)
        return
    limit = int(max(settings.images.max_file_mb, settings.ingest.max_file_mb) * MB)
    tmp, size = storage.receive(source.stream, tmp_dir, limit)
    path = tmp.with_name(tmp.name + Path(source.filename).suffix.lower())
    os.replace(tmp, path)
    try:
        if size > limit:
            raise IngestError(source.filename, f"is more than {limit // MB} MB", hint="Send a smaller file")
        yield path
    finally:
        path.unlink(missing_ok=True)


def _image(session: Session, owner: Project, image_id: int) -> Image:
    row = session.get(Image, lookups.row_id(image_id) or 0)
    if row is None or row.project_id != owner.id:
        raise NotFound(f"No image {image_id} in project '{owner.name}'", hint=f"List them with `loreforge images list {owner.name}`")
    return row
