"""Intervals and the paired test of the evaluation report, against hand-worked values."""

from __future__ import annotations

import math

import pytest

from loreforge.errors import UserError
from loreforge.evaluate.stats import Paired, bootstrap_mean, mcnemar_exact, paired, wilson


def test_wilson_by_hand() -> None:
    # k=8, n=10, z=1.96: centre (0.8 + 0.19208) / 1.38416, half 1.96·sqrt(0.016 + 0.00960400) / 1.38416
    centre = (0.8 + 1.96**2 / 20) / (1 + 1.96**2 / 10)
    half = 1.96 * math.sqrt(0.8 * 0.2 / 10 + 1.96**2 / 400) / (1 + 1.96**2 / 10)
    lower, upper = wilson(8, 10)
    assert (lower, upper) == pytest.approx((centre - half, centre + half))
    assert (round(lower, 4), round(upper, 4)) == (0.4902, 0.9433)


@pytest.mark.parametrize(("k", "n"), [(0, 5), (1, 5), (3, 7), (5, 5), (37, 100), (100, 100)])
def test_wilson_contains_the_proportion(k: int, n: int) -> None:
    lower, upper = wilson(k, n)
    assert 0.0 <= lower <= k / n <= upper <= 1.0
    assert lower < upper


def test_wilson_at_the_edges_and_without_trials() -> None:
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0
    assert wilson(0, 0) == (0.0, 1.0)
    with pytest.raises(UserError, match="0 <= k <= n"):
        wilson(6, 5)
    with pytest.raises(UserError, match="0 <= k <= n"):
        wilson(-1, 5)


def test_wilson_shrinks_as_n_grows() -> None:
    widths = [upper - lower for lower, upper in (wilson(3 * m, 10 * m) for m in (1, 4, 16, 64))]
    assert widths == sorted(widths, reverse=True) and widths[-1] < widths[0] / 6
    assert wilson(8, 10, z=2.576)[1] - wilson(8, 10, z=2.576)[0] > wilson(8, 10)[1] - wilson(8, 10)[0]


def test_bootstrap_contains_the_mean_and_is_seeded() -> None:
    values = [0.0, 0.25, 0.5, 1.0, 1.0, 0.75, 0.0, 0.5]
    lower, upper = bootstrap_mean(values)
    assert lower < sum(values) / len(values) < upper
    assert 0.0 <= lower and upper <= 1.0
    assert bootstrap_mean(values) == (lower, upper)  # same seed, same interval
    assert bootstrap_mean(values, seed=1) != (lower, upper)


def test_bootstrap_shrinks_as_n_grows() -> None:
    small = bootstrap_mean([0.0, 1.0] * 5)
    large = bootstrap_mean([0.0, 1.0] * 500)
    assert small[0] < 0.5 < small[1] and large[0] < 0.5 < large[1]
    # the width of a mean's interval falls like 1/sqrt(n): 100× the values, about a tenth of the width
    ratio = (large[1] - large[0]) / (small[1] - small[0])
    assert 0.05 < ratio < 0.2


def test_bootstrap_level_and_edge_cases() -> None:
    values = [float(i % 7) for i in range(50)]
    wide, narrow = bootstrap_mean(values, level=0.99), bootstrap_mean(values, level=0.5)
    assert wide[0] < narrow[0] < narrow[1] < wide[1]
    assert bootstrap_mean([0.7]) == (0.7, 0.7)
    assert bootstrap_mean([2.0, 2.0, 2.0]) == (2.0, 2.0)
    with pytest.raises(UserError, match="at least one value"):
        bootstrap_mean([])
    with pytest.raises(UserError, match="fraction"):
        bootstrap_mean([1.0], level=95)


def test_mcnemar_on_known_tables() -> None:
    # 10 discordant pairs split 1 / 9: 2 · (C(10,0) + C(10,1)) / 2^10 = 2 · 11 / 1024
    assert mcnemar_exact(1, 9) == 0.021484375 == mcnemar_exact(9, 1)
    assert mcnemar_exact(5, 5) == 1.0 and mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(0, 6) == 2 / 64  # 0.03125
    assert mcnemar_exact(0, 5) == 2 / 32  # 0.0625: five wins alone are not significant at 5%
    assert mcnemar_exact(4, 5) == 1.0  # capped at 1
    with pytest.raises(UserError, match="negative"):
        mcnemar_exact(-1, 3)


def test_paired_counts() -> None:
    base = [True, True, False, False, False, True, False, False, False, False, False, False]
    tuned = [True, False, True, True, False, True, True, True, True, True, True, True]
    got = paired(base, tuned)
    assert got == Paired(wins=8, losses=1, both_right=2, both_wrong=1, p_value=mcnemar_exact(8, 1))
    assert got.p_value == pytest.approx(2 * (1 + 9) / 512)
    assert paired([], []) == Paired(0, 0, 0, 0, 1.0)
    with pytest.raises(UserError, match="one result per probe"):
        paired([True], [True, False])
