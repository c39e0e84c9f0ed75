"""tag labels unique per project, in the store as in the service

A tag's label names it (questions and dataset items are filtered by label, the tag tree is rebuilt by label), and
the service has always refused a label another tag of the project has. The store's constraint was narrower —
unique per (project, parent, label), and not even that for root tags (NULL parents are all distinct) — so two
processes adding or renaming tags at the same instant could both pass the service's check. `tags` is now unique on
(project, label), so the store picks one winner.

Existing duplicates are reported and renamed first, keeping the oldest tag's label (lowest id): the others become
"label (2)", "label (3)", ...; no tag is removed, and every question keeps its tag.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

log = logging.getLogger("loreforge.store")
LABEL_MAX = 300


def upgrade() -> None:
    if not context.is_offline_mode():
        _rename_duplicates(op.get_bind())
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_constraint("uq_tags_project_parent_label", type_="unique")
        batch_op.create_unique_constraint("uq_tags_project_label", ["project_id", "label"])


def _renames(rows: list[Any]) -> dict[int, str]:
    """{tag id: its new label} for every tag whose label an older tag of its project already has."""
    taken = {(r.project_id, r.label) for r in rows}
    seen: set[tuple[int, str]] = set()
    renamed: dict[int, str] = {}
    for r in rows:
        key = (r.project_id, r.label)
        if key not in seen:
            seen.add(key)
            continue
        n = 2
        while True:
            suffix = f" ({n})"
            label = r.label[: LABEL_MAX - len(suffix)] + suffix
            if (r.project_id, label) not in taken:
                break
            n += 1
        taken.add((r.project_id, label))
        renamed[r.id] = label
    return renamed


def _rename_duplicates(bind: Any) -> None:
    tags = sa.table("tags", sa.column("id"), sa.column("project_id"), sa.column("label"))
    rows = bind.execute(sa.select(tags.c.id, tags.c.project_id, tags.c.label).order_by(tags.c.id)).all()
    renamed = _renames(rows)
    if not renamed:
        return
    old = {r.id: r.label for r in rows}
    for tag_id, label in renamed.items():
        bind.execute(sa.update(tags).where(tags.c.id == tag_id).values(label=label))
    shown = ", ".join(f"{i}: {old[i]!r} -> {label!r}" for i, label in list(renamed.items())[:20])
    log.warning(
        "LoreForge store upgrade: %d tag(s) had a label another tag of their project already had; renamed "
        "(the oldest keeps it, no tag removed, questions keep their tags): %s%s. Rename them with "
        "`loreforge tags rename` if you like.", len(renamed), shown, ", ..." if len(renamed) > 20 else "",
    )


def downgrade() -> None:
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_constraint("uq_tags_project_label", type_="unique")
        batch_op.create_unique_constraint("uq_tags_project_parent_label", ["project_id", "parent_id", "label"])
