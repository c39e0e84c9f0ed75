"""Helpers shared by the generation stages' service code: input hashes (the resume key of a work item), token
shares, the tag labels a question can get, and item ids from item keys."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loreforge.store.models import Tag


def input_hash(*parts: Any) -> str:
    """The resume key of a piece of work: same inputs, prompt and model → same hash."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(str(part).encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def share(total: int, n: int, i: int) -> int:
    """Integer share i of `total` split over n rows (the shares add up to total)."""
    return total // n + (1 if i < total % n else 0)


def tag_labels(session: Session, project_id: int) -> tuple[list[str], dict[str, int]]:
    """Labels a question can get (child tags, and top-level tags without children) and label → id."""
    tags = list(session.scalars(select(Tag).where(Tag.project_id == project_id).order_by(Tag.ordinal, Tag.id)))
    children: dict[int, list[Tag]] = {}
    for t in tags:
        if t.parent_id is not None:
            children.setdefault(t.parent_id, []).append(t)
    leaves: list[str] = []
    for top in (t for t in tags if t.parent_id is None):
        leaves.extend(c.label for c in children.get(top.id, [])) if top.id in children else leaves.append(top.label)
    return leaves, {t.label: t.id for t in tags}


def ids_in(keys: list[str], prefix: str) -> list[int]:
    """The ids of keys such as `chunk:12:ab12...` for `prefix` "chunk"."""
    return sorted({int(k.split(":")[1]) for k in keys if k.startswith(prefix + ":")})
