"""Intervals and paired tests for the evaluation report: how sure an accuracy or a mean score is, and whether
the tuned model beats the base on the same probes. Fed by the per-probe scores of `loreforge.evaluate.metrics`
(right/wrong per probe and model, judge scores, BLEU/ROUGE); pure Python, no numpy.

- `wilson(k, n)`: the Wilson score interval of a proportion k/n (95% by default) — unlike the normal
  approximation it stays inside [0, 1] and is not degenerate at 0/n or n/n;
- `bootstrap_mean(values)`: the percentile bootstrap interval of a mean (2000 resamples, seeded, so a report
  is reproducible);
- `mcnemar_exact(b, c)` and `paired(base, tuned)`: the two models compared probe by probe; only the discordant
  probes (one right, the other wrong) carry evidence, and McNemar's exact test asks whether the split between
  them could be a fair coin's.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from loreforge.errors import UserError


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (lower, upper) of k successes in n trials; (0.0, 1.0) when n is 0."""
    if n < 0 or not 0 <= k <= max(n, 0):
        raise UserError("A proportion needs 0 <= k <= n", expected="k successes out of n >= k trials",
                        got=f"k={k}, n={n}")
    if z <= 0:
        raise UserError("The z value of an interval must be positive", expected="e.g. 1.96 for 95%", got=str(z))
    if n == 0:
        return 0.0, 1.0
    p, z2 = k / n, z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    lower = 0.0 if k == 0 else max(0.0, centre - half)
    upper = 1.0 if k == n else min(1.0, centre + half)
    return lower, upper


def _quantile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values, linearly interpolated between neighbours (numpy's default)."""
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def bootstrap_mean(values: Sequence[float], *, resamples: int = 2000, seed: int = 0,
                   level: float = 0.95) -> tuple[float, float]:
    """The percentile bootstrap interval (lower, upper) of the mean of `values`: `resamples` resamples of the
    same size drawn with replacement by `random.Random(seed)`, the interval between the (1-level)/2 and
    (1+level)/2 quantiles of their means. One value gives (value, value)."""
    if not values:
        raise UserError("A mean needs at least one value", expected="one or more scores", got="none")
    if resamples < 1:
        raise UserError("The bootstrap needs at least one resample", expected="resamples >= 1", got=str(resamples))
    if not 0 < level < 1:
        raise UserError("An interval's level is a fraction", expected="0 < level < 1, e.g. 0.95", got=str(level))
    data = [float(v) for v in values]
    rng, n = random.Random(seed), len(data)
    means = sorted(math.fsum(rng.choices(data, k=n)) / n for _ in range(resamples))
    tail = (1 - level) / 2
    return _quantile(means, tail), _quantile(means, 1 - tail)


def mcnemar_exact(b: int, c: int) -> float:
    """McNemar's exact test: the two-sided binomial p-value of b against c discordant pairs under p = 1/2
    (twice the smaller tail, at most 1); 1.0 when there is no discordant pair."""
    if b < 0 or c < 0:
        raise UserError("Discordant pair counts cannot be negative", expected="b >= 0 and c >= 0", got=f"b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    tail = Fraction(sum(math.comb(n, i) for i in range(min(b, c) + 1)), 2**n)
    return float(min(Fraction(1), 2 * tail))


@dataclass(frozen=True)
class Paired:
    """Base and tuned compared probe by probe: `wins` (base wrong, tuned right), `losses` (base right, tuned
    wrong — the regressions), the ties, and McNemar's exact p-value of wins against losses."""

    wins: int
    losses: int
    both_right: int
    both_wrong: int
    p_value: float


def paired(base: Sequence[bool], tuned: Sequence[bool]) -> Paired:
    """Count wins, losses and ties of `tuned` over `base` on the same probes, in the same order."""
    if len(base) != len(tuned):
        raise UserError("A paired comparison needs one result per probe from each model",
                        expected=f"{len(base)} tuned results (as many as base)", got=str(len(tuned)))
    wins = sum(1 for b, t in zip(base, tuned, strict=True) if not b and t)
    losses = sum(1 for b, t in zip(base, tuned, strict=True) if b and not t)
    both_right = sum(1 for b, t in zip(base, tuned, strict=True) if b and t)
    both_wrong = len(base) - wins - losses - both_right
    return Paired(wins, losses, both_right, both_wrong, mcnemar_exact(wins, losses))
