"""Dataset items as views (shared by the answer, review and export actions)."""

from __future__ import annotations

from loreforge.store.models import DatasetItem
from loreforge.views import DatasetItemView


def item_view(item: DatasetItem, document_id: int | None = None, source_text: str | None = None) -> DatasetItemView:
    return DatasetItemView(
        id=item.id, question_id=item.question_id, chunk_id=item.chunk_id, document_id=document_id, question=item.question,
        answer=item.answer, cot=item.cot, tag=item.tag, confirmed=item.confirmed, rating=item.rating, score=item.score,
        score_reason=item.score_reason, grounding=dict(item.grounding or {}), labels=list(item.labels or []), note=item.note,
        duplicate_of=item.duplicate_of, stale=item.stale, source=item.source, model=item.model, prompt_hash=item.prompt_hash,
        tokens_in=item.tokens_in, tokens_out=item.tokens_out, source_text=source_text,
    )
