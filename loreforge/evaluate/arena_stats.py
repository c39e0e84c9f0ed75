"""The numbers of a blind test (arena): two models, one vote per probe — a better (left or right, mapped back to
the model), both good, or both bad. Pure; fed by the stored votes (`loreforge.service.arena`).

For each model: its **win rate** among the decided votes (wins / (wins + losses); ties carry no preference), and
its **good rate** — the share of all votes where its answer was judged good (a win, or both good) — each with a
95% Wilson interval; and the **sign test** of wins against losses (McNemar's exact binomial p, the paired test of
`stats.py`): whether the split of the decided votes could be a fair coin's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loreforge.evaluate.aggregate import proportion
from loreforge.evaluate.stats import mcnemar_exact

OUTCOMES = ("a", "b", "both_good", "both_bad")
VOTES = ("left", "right", "both_good", "both_bad")


def winner_of(vote: str, left: str) -> str:
    """What a vote means for the models: `left` is the model shown on the left (a or b)."""
    if vote not in VOTES:
        raise ValueError(f"unknown vote {vote!r}")
    if vote == "left":
        return left
    if vote == "right":
        return "b" if left == "a" else "a"
    return vote


def results(winners: Sequence[str]) -> dict[str, Any]:
    """Votes per outcome, each model's win rate and good rate with intervals, and the sign test's p."""
    counts = {o: sum(1 for w in winners if w == o) for o in OUTCOMES}
    models: dict[str, Any] = {}
    for me, other in (("a", "b"), ("b", "a")):
        wins, losses = counts[me], counts[other]
        models[me] = {"wins": wins, "losses": losses,
                      "win_rate": proportion([True] * wins + [False] * losses),
                      "good_rate": proportion([True] * (wins + counts["both_good"]) + [False] * (losses + counts["both_bad"]))}
    decided = counts["a"] + counts["b"]
    return {"votes": len(winners), "counts": counts, "decided": decided, "models": models,
            "sign_p": mcnemar_exact(counts["a"], counts["b"]) if decided else None}
