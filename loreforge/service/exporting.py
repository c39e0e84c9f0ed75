"""Export actions: stream a project's dataset items (confirmed only by default, or all, or a filter, or an
explicit selection) through the export stage into a folder: Alpaca, ShareGPT, OpenAI messages, custom,
multilingual-thinking, a Hugging Face `datasets` folder, or the LLaMA Factory bundle."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from loreforge.records import QAPair
from loreforge.service import lookups
from loreforge.service.dataset import DatasetFilter
from loreforge.service.base import ServiceBase
from loreforge.service.dataset import apply_filter
from loreforge.store.models import Chunk, DatasetItem, Image
from loreforge.views import ExportReport

STREAM_BATCH = 1000


class ExportActions(ServiceBase):
    def export(
        self,
        project: str | int,
        out: str | Path,
        format: str = "llamafactory",
        file_type: str = "json",
        include_all: bool = False,
        filter: DatasetFilter | None = None,
        force: bool = False,
        push_to_hub: str | None = None,
        **options: Any,
    ) -> ExportReport:
        """Export dataset items. Confirmed items only unless `include_all` or a filter says otherwise.
        `options` are ExportOptions fields: cot, system_prompt, val_size, split_by, seed, balance_per_tag,
        custom_fields, include_history, reasoning_language."""
        from loreforge.errors import UserError
        from loreforge.export import TARGETS, export_dataset, export_llamafactory, make_options

        if format not in TARGETS:
            raise UserError("Unknown export format", expected=", ".join(TARGETS), got=repr(format))
        f = filter or DatasetFilter()
        if not include_all and f.confirmed is None and not f.ids:
            f = f.model_copy(update={"confirmed": True})
        with self.db.session() as session:
            row = lookups.project(session, project)
            name, project_id = row.name, row.id
        layout = "sharegpt-messages" if format == "llamafactory" else ("alpaca" if format == "hf" else format)
        if layout in ("alpaca", "custom") and not options.get("include_history") and self._has(project_id, f, DatasetItem.kind == "dialogue"):
            options["include_history"] = True  # a dialogue's earlier rounds travel in `history`
        if self._has(project_id, f, DatasetItem.image_id.is_not(None)):
            options["with_images"] = True  # image QA items: records name their images, copied into `images/`
        opts = make_options(format=layout, file_type="hf" if format == "hf" else file_type, **options)
        described = f.model_dump(exclude_none=True)
        extra = {"project": name, "filters": described or "all items"}
        factory = lambda: self._stream_pairs(project_id, f)  # noqa: E731 - a factory: the exporter reads twice
        folder = Path(out).expanduser().resolve()
        if format == "llamafactory":
            result = export_llamafactory(factory, folder, opts, name=name, manifest_extra=extra, force=force)
        else:
            result = export_dataset(factory, folder, opts, manifest_extra=extra, force=force)
        if push_to_hub:
            _push(result.out_dir, push_to_hub)
        return ExportReport(folder=str(result.out_dir), files=[str(p) for p in result.files], counts=dict(result.counts),
                            manifest=str(result.manifest_path))

    def _has(self, project_id: int, f: DatasetFilter, condition: Any) -> bool:
        """Does the selection hold an item meeting `condition` (a dialogue, an image item)?"""
        with self.db.session() as session:
            return session.execute(_items_by_id(project_id, f).where(condition).limit(1)).first() is not None

    def _stream_pairs(self, project_id: int, f: DatasetFilter) -> Iterator[QAPair]:
        """Dataset items as QAPairs, read in batches (an export of 300,000 items never holds them all)."""
        folder = self.config.projects_dir / str(project_id)
        with self.db.session() as session:
            query = _items_by_id(project_id, f)
            rows = session.execute(query.execution_options(yield_per=STREAM_BATCH))
            for item, document_id, image in rows:
                if f.label and f.label not in (item.labels or []):
                    continue
                yield QAPair(
                    id=item.id, question=item.question, answer=item.answer, cot=item.cot, tag=item.tag,
                    chunk_id=item.chunk_id, document_id=document_id, confirmed=item.confirmed, rating=item.rating,
                    score=item.score, labels=tuple(item.labels or ()), model=item.model,
                    history=tuple((str(q), str(a)) for q, a in (item.history or [])), kind=item.kind, system=item.system or "",
                    images=(str(folder / image),) if image else (),
                )


def _items_by_id(project_id: int, f: DatasetFilter) -> Any:
    query = (
        select(DatasetItem, Chunk.document_id, Image.stored_path)
        .outerjoin(Chunk, Chunk.id == DatasetItem.chunk_id)
        .outerjoin(Image, Image.id == DatasetItem.image_id)
        .where(DatasetItem.project_id == project_id)
        .order_by(DatasetItem.id)
    )
    return apply_filter(query, f)


def _push(folder: Path, repo: str) -> None:
    """Upload an export folder to a Hugging Face dataset repository (token from HF_TOKEN or `hf auth login`)."""
    from loreforge.errors import MissingDependency, UserError

    try:
        from huggingface_hub import HfApi
    except ModuleNotFoundError as exc:
        raise MissingDependency("huggingface_hub", extra="export", purpose="--push-to-hub") from exc
    try:
        api = HfApi()
        api.create_repo(repo, repo_type="dataset", exist_ok=True)
        api.upload_folder(folder_path=str(folder), repo_id=repo, repo_type="dataset")
    except Exception as exc:  # noqa: BLE001 - network/auth failures become one clear message
        raise UserError(
            f"Exported to {folder}, but pushing to the Hub repository '{repo}' failed ({type(exc).__name__}: {exc})",
            hint="Check HF_TOKEN (or `hf auth login`) and the network, then upload the folder again",
        ) from exc
