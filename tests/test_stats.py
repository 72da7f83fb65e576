"""Aggregate statistics and stratified-bootstrap CIs: hand-computed values, rliable agreement, errors."""

import time

import numpy as np
import pytest

from mdpt_lib.stats import (
    STATISTICS,
    bootstrap_difference_ci,
    bootstrap_ratio_ci,
    iqm,
    iqr,
    mean,
    median,
    relative_change,
    stratified_bootstrap_ci,
    summarize,
)

# Pooled, the scores are 0 1 2 3 4 6 7 100 (n = 8); the columns mix them so that pooling is tested.
SKEWED = np.array([[100.0, 0.0], [1.0, 7.0], [6.0, 2.0], [3.0, 4.0]])


@pytest.fixture(scope="module")
def rliable():
    """rliable 1.2.0's ``(library, metrics)`` modules.

    ``rliable.library`` imports ``arch``; arch 7.2 calls pandas' private ``deprecate_kwarg(old, new)``
    at import time, but pandas 3 made it ``deprecate_kwarg(klass, old, new)``, so the import raises
    ``TypeError``. If it does, import it once more with an adapter that supplies the warning class
    (it only decorates one arch plotting method; the bootstrap code is untouched).
    """
    import pandas.util._decorators as pandas_decorators

    try:
        from rliable import library, metrics
    except TypeError:
        new_style = pandas_decorators.deprecate_kwarg

        def old_style(*args, **kwargs):
            if args and isinstance(args[0], str):
                return new_style(FutureWarning, *args, **kwargs)
            return new_style(*args, **kwargs)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(pandas_decorators, "deprecate_kwarg", old_style)
            from rliable import library, metrics
    return library, metrics


def test_statistics_by_hand():
    # sorted pooled scores: 0 1 2 3 4 6 7 100
    # mean   = (0+1+2+3+4+6+7+100) / 8 = 123 / 8 = 15.375
    # median = (3 + 4) / 2 = 3.5   (rliable's median of task means would be median(27.5, 3.25) = 15.375)
    # iqm    = drop floor(8/4) = 2 at each end -> (2+3+4+6) / 4 = 3.75
    # q25 at position 0.25*7 = 1.75 -> 1 + 0.75*(2-1) = 1.75; q75 at 5.25 -> 6 + 0.25*(7-6) = 6.25
    # iqr    = 6.25 - 1.75 = 4.5
    assert mean(SKEWED) == pytest.approx(15.375)
    assert median(SKEWED) == pytest.approx(3.5)
    assert iqm(SKEWED) == pytest.approx(3.75)
    assert iqr(SKEWED) == pytest.approx(4.5)


def test_statistics_by_hand_when_n_is_not_a_multiple_of_four():
    scores = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 100.0])  # 1-D: one task, 10 runs
    # mean   = (36 + 100) / 10 = 13.6;  median = (4 + 5) / 2 = 4.5
    # iqm    = drop floor(10/4) = 2 at each end -> (2+3+4+5+6+7) / 6 = 27 / 6 = 4.5
    # q25 at position 0.25*9 = 2.25 -> 2.25; q75 at 6.75 -> 6.75; iqr = 4.5
    assert mean(scores) == pytest.approx(13.6)
    assert median(scores) == pytest.approx(4.5)
    assert iqm(scores) == pytest.approx(4.5)
    assert iqr(scores) == pytest.approx(4.5)
    # a 1-D array is the single-task matrix (runs, 1)
    for statistic in STATISTICS.values():
        assert statistic(scores) == statistic(scores[:, None])
        assert isinstance(statistic(scores), float)


def test_point_estimates_equal_rliable(rliable):
    _, metrics = rliable
    x = np.random.default_rng(1).normal(loc=[0, 50, 100], scale=[5, 20, 10], size=(10, 3))
    assert iqm(x) == pytest.approx(metrics.aggregate_iqm(x), rel=1e-12)
    assert mean(x) == pytest.approx(metrics.aggregate_mean(x), rel=1e-12)
    assert iqm(SKEWED) == pytest.approx(metrics.aggregate_iqm(SKEWED), rel=1e-12)


def test_bootstrap_ci_agrees_with_rliable_percentile_bootstrap(rliable):
    library, metrics = rliable
    # tasks on different scales, so resampling runs across tasks (not stratified) would be far off
    x = np.random.default_rng(42).normal(loc=[0, 50, 100], scale=[5, 20, 10], size=(10, 3))
    state = np.random.get_state()  # noqa: NPY002 (rliable uses the legacy global RNG)
    try:
        np.random.seed(0)  # noqa: NPY002 (rliable's StratifiedBootstrap draws from it)
        _, intervals = library.get_interval_estimates(
            {"x": x},
            lambda s: np.array([metrics.aggregate_mean(s), metrics.aggregate_iqm(s)]),
            method="percentile",
            reps=10_000,
            confidence_interval_size=0.95,
        )
    finally:
        np.random.set_state(state)  # noqa: NPY002
    theirs = intervals["x"].T  # rows: mean, iqm; columns: low, high
    for statistic, (their_low, their_high) in zip((mean, iqm), theirs, strict=True):
        low, high = stratified_bootstrap_ci(x, statistic, reps=100_000, seed=0)
        # Monte-Carlo error of a 2.5% bootstrap quantile is about 2.7 sd / sqrt(reps) (sd of the
        # bootstrap distribution, about width / 3.9): with 10k and 100k reps the two endpoints
        # differ by ~0.7% of the width by chance. Allow 2.5%. (Here, a pooled bootstrap is ~2x
        # wider and the 'basic' interval is shifted by ~4% of the width.)
        tolerance = 0.025 * (their_high - their_low)
        assert low == pytest.approx(their_low, abs=tolerance), statistic.__name__
        assert high == pytest.approx(their_high, abs=tolerance), statistic.__name__


def test_ci_contains_point_estimate():
    x = np.random.default_rng(3).gamma(2.0, 10.0, size=(10, 4))
    for name, statistic in STATISTICS.items():
        low, high = stratified_bootstrap_ci(x, statistic, reps=2000, seed=0)
        assert low < statistic(x) < high, name


def test_resampling_is_stratified_by_task():
    # every task constant: resampling runs within a task changes nothing, so the CI has zero width
    # (x = 5 with 0 and 10 the task scores); resampling across tasks would give a wide interval
    x = np.tile([0.0, 10.0], (6, 1))
    assert stratified_bootstrap_ci(x, mean, reps=500) == pytest.approx((5.0, 5.0))


def test_same_seed_same_ci_and_different_seed_different_ci():
    x = np.random.default_rng(4).normal(size=(10, 4))
    assert stratified_bootstrap_ci(x, seed=7) == stratified_bootstrap_ci(x, seed=7)
    assert stratified_bootstrap_ci(x, seed=7) != stratified_bootstrap_ci(x, seed=8)
    a, b = np.random.default_rng(5).normal(size=(2, 10, 4))
    assert bootstrap_ratio_ci(a + 5, b + 5, seed=1) == bootstrap_ratio_ci(a + 5, b + 5, seed=1)
    assert bootstrap_ratio_ci(a + 5, b + 5, seed=1) != bootstrap_ratio_ci(a + 5, b + 5, seed=2)


def test_more_runs_narrower_ci():
    rng = np.random.default_rng(6)
    few, many = rng.normal(size=(5, 4)), rng.normal(size=(80, 4))
    for name, statistic in STATISTICS.items():
        width_few = np.diff(stratified_bootstrap_ci(few, statistic))[0]
        width_many = np.diff(stratified_bootstrap_ci(many, statistic))[0]
        assert width_many < width_few / 2, name  # 16x the runs: about 4x narrower


def test_ci_covers_the_true_mean_about_95_percent_of_the_time():
    # 300 experiments of 20 runs x 4 tasks, normal scores with task means 0, 1, 2, 3 (true mean 1.5)
    rng = np.random.default_rng(7)
    covered = [
        low <= 1.5 <= high
        for low, high in (
            stratified_bootstrap_ci(rng.normal([0, 1, 2, 3], 1.0, (20, 4)), mean, 1000, seed=s)
            for s in range(300)
        )
    ]
    # a percentile bootstrap with 20 runs slightly under-covers; 300 trials: sd of the rate ~ 0.013
    assert 0.88 <= np.mean(covered) <= 0.99


def test_vectorised_bootstrap_is_fast():
    x = np.random.default_rng(8).normal(size=(10, 4))
    start = time.perf_counter()
    for statistic in STATISTICS.values():
        stratified_bootstrap_ci(x, statistic, reps=2000)
    assert time.perf_counter() - start < 1.0


def test_custom_statistic_sees_the_same_resamples():
    x = np.random.default_rng(9).normal(size=(10, 4))
    assert stratified_bootstrap_ci(x, lambda s: float(np.mean(s))) == pytest.approx(
        stratified_bootstrap_ci(x, mean)
    )
    seen = []
    stratified_bootstrap_ci(x[:, 0], lambda s: seen.append(s.shape) or 0.0, reps=3)
    assert seen == [(10,)] * 3  # a 1-D input gives 1-D resamples


def test_summarize_table():
    rng = np.random.default_rng(10)
    scores = {"ours": rng.normal(80, 5, (10, 4)), "baseline": rng.normal(60, 15, (5, 4))}
    table = summarize(scores, reps=1000, seed=3)
    assert list(table.index) == ["ours", "baseline"]
    assert table.index.name == "method"
    names = ("mean", "median", "iqm", "iqr")
    assert list(table.columns) == [f"{n}{s}" for n in names for s in ("", "_low", "_high")] + [
        "runs",
        "tasks",
    ]
    assert table.loc["baseline", "runs"] == 5 and table.loc["baseline", "tasks"] == 4
    for method, x in scores.items():
        for name in names:
            assert table.loc[method, name] == pytest.approx(STATISTICS[name](x))
            low, high = stratified_bootstrap_ci(x, STATISTICS[name], reps=1000, seed=3)
            assert table.loc[method, f"{name}_low"] == pytest.approx(low)
            assert table.loc[method, f"{name}_high"] == pytest.approx(high)
    assert list(summarize(scores, statistics=("iqm",)).columns) == [
        "iqm",
        "iqm_low",
        "iqm_high",
        "runs",
        "tasks",
    ]


def test_relative_change():
    assert relative_change(14.0, 100.0) == pytest.approx(-0.86)  # "IQR -86%"
    assert relative_change(-1.0, -2.0) == pytest.approx(0.5)  # (-1 - -2) / |-2|: an improvement
    assert isinstance(relative_change(np.float32(3), 2), float)
    with pytest.raises(ValueError, match="old != 0"):
        relative_change(1.0, 0.0)


def test_ratio_ci():
    rng = np.random.default_rng(11)
    a, b = rng.normal(50, 10, (2, 20, 4))  # the same distribution
    for statistic in (iqm, iqr):
        low, high = bootstrap_ratio_ci(a, b, statistic)
        assert low < 0 < high, statistic.__name__
    # three times the spread: IQR(a) / IQR(b) - 1 is about 1/3 - 1 = -0.67, an interval below 0
    wide = rng.normal(50, 30, (20, 4))
    low, high = bootstrap_ratio_ci(a, wide, iqr)
    assert low < relative_change(iqr(a), iqr(wide)) < high < 0
    assert low < -2 / 3 < high


def test_difference_ci():
    rng = np.random.default_rng(12)
    a, b = rng.normal(50, 10, (2, 20))
    low, high = bootstrap_difference_ci(a, a[::-1])  # the same runs: the interval spans 0
    assert low < 0 < high
    # shifted by 30 points: the interval of iqm(a + 30) - iqm(b) holds the point estimate, above 0
    low, high = bootstrap_difference_ci(a + 30, b)
    assert 0 < low < iqm(a + 30) - iqm(b) < high
    low, high = bootstrap_difference_ci(b, a + 30)  # the other way round: below 0
    assert high < 0
    with pytest.raises(ValueError, match="at least 2 runs"):
        bootstrap_difference_ci(a[:1], b)


def test_input_errors():
    with pytest.raises(ValueError, match="empty"):
        iqm(np.array([]))
    with pytest.raises(ValueError, match="empty"):
        mean(np.zeros((0, 4)))
    with pytest.raises(ValueError, match="NaN"):
        median(np.array([[1.0, np.nan], [2.0, 3.0]]))
    with pytest.raises(ValueError, match="non-finite"):
        iqr(np.array([1.0, np.inf, 2.0]))
    with pytest.raises(ValueError, match="3-D"):
        iqm(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="0-D"):
        iqm(np.float64(1.0))
    with pytest.raises(ValueError, match="numeric"):
        iqm(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="at least 2 runs"):
        stratified_bootstrap_ci(np.ones((1, 4)))
    with pytest.raises(ValueError, match="reps"):
        stratified_bootstrap_ci(np.ones((3, 4)), reps=0)
    with pytest.raises(ValueError, match="confidence"):
        stratified_bootstrap_ci(np.ones((3, 4)), confidence=95)
    with pytest.raises(ValueError, match="scores_b"):
        bootstrap_ratio_ci(np.ones((3, 2)), np.array([[1.0, np.nan], [2.0, 3.0]]))
    with pytest.raises(ValueError, match="undefined"):
        bootstrap_ratio_ci(np.arange(6.0), np.ones(6), iqr)  # IQR of identical scores is 0
    with pytest.raises(ValueError, match="unknown statistic"):
        summarize({"a": np.ones((3, 4))}, statistics=("mode",))
    with pytest.raises(ValueError, match="'broken'"):
        summarize({"ok": np.ones((3, 4)), "broken": np.zeros((3, 4, 1))})
    with pytest.raises(ValueError, match="empty"):
        summarize({})
