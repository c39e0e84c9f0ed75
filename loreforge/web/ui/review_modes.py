"""What the review page of one dataset item shows for the data modes: a dialogue's rounds, each assistant turn with
the grounding check's values marked (the check names a missing value by its round: "round 2: 48.7%"), the
genre–audience pair an item was made in, and the image an image-QA item is about. Used by `pages_review.item`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from loreforge.errors import NotFound
from loreforge.service import Service
from loreforge.views import DatasetItemView
from loreforge.web.ui.highlight import FOUND, MISSING, runs

ROUND = re.compile(r"^round (\d+): (.+)$")


@dataclass(frozen=True)
class Turn:
    """One round of a dialogue as the review page shows it."""

    number: int
    user: str
    assistant: str
    runs: list[tuple[str, str | None]]  # the assistant turn cut into (piece, mark) runs
    missing: list[str]  # values of this turn the source does not hold


def dialogue_turns(item: DatasetItemView) -> list[Turn]:
    """Every round (the earlier ones from `history`, the last from question and answer), each assistant turn marked
    with the values the grounding check found in the source and those missing from it."""
    rounds = [(str(u), str(a)) for u, a in (item.history or [])] + [(item.question, item.answer)]
    missing: dict[int, list[str]] = {}
    for value in item.grounding.get("missing") or []:
        if (m := ROUND.match(str(value))) is not None:
            missing.setdefault(int(m.group(1)), []).append(m.group(2))
    lost = {v for values in missing.values() for v in values}
    found = {str(v): FOUND for v in item.grounding.get("checked") or [] if str(v) not in lost}
    turns = []
    for number, (user, assistant) in enumerate(rounds, 1):
        marks = found | {v: MISSING for v in missing.get(number, [])}
        turns.append(Turn(number, user, assistant, runs(assistant, marks), missing.get(number, [])))
    return turns


def review_context(s: Service, project: str, item: DatasetItemView) -> dict[str, Any]:
    """The review page's extra context for `item`: `turns` (a dialogue), `pair` (its genre–audience pair), `image`."""
    pair = None
    if item.ga_pair_id is not None and item.document_id is not None:
        pair = next((p for p in s.list_ga_pairs(project, document_id=item.document_id) if p.id == item.ga_pair_id), None)
    image = None
    if item.image_id is not None:
        try:
            image = s.get_image(project, item.image_id)
        except NotFound:
            image = None  # deleted since: the item stays, without its image
    return {"turns": dialogue_turns(item) if item.kind == "dialogue" else [], "pair": pair, "image": image}
