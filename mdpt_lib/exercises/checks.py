"""Self-checks for the book's exercises.

Each ``check_*`` function takes *your* function, runs it and the library's reference on the same
seeded random inputs, and prints either what is wrong (which input, the shapes, the values, and a
hint when the mistake is a common one) or a success line. It returns True or False::

    from mdpt_lib.exercises import check_expectile_loss

    def expectile_loss(diff, tau):
        ...

    check_expectile_loss(expectile_loss)

Heavy imports (torch, scipy) happen inside the checks, so importing this module is cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np


# --- the shared machinery of every check ---------------------------------------------------------
@dataclass
class _Case:
    """One input of a check: a description for messages, the arguments, the expected output."""

    label: str
    args: tuple
    expected: np.ndarray


def _to_array(value) -> np.ndarray:
    """A student's output as a float64 numpy array (torch tensors, lists and scalars accepted)."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def _fmt(x: np.ndarray, limit: int = 6) -> str:
    flat = np.asarray(x, dtype=np.float64).ravel()
    text = ", ".join(f"{v:.6g}" for v in flat[:limit])
    return f"[{text}{', ...' if flat.size > limit else ''}]" if np.ndim(x) else f"{float(x):.6g}"


def _run_check(
    name: str,
    fn: Callable,
    cases: Sequence[_Case],
    hints: Callable[[np.ndarray, _Case], str | None] = lambda got, case: None,
    rtol: float = 1e-5,
    atol: float = 1e-6,
) -> bool:
    """Call ``fn`` on every case and compare; print the first problem, or a success line."""
    if not callable(fn):
        print(f"{name}: FAILED. Pass your function itself (no parentheses), got {fn!r}.")
        return False
    for k, case in enumerate(cases, start=1):
        where = f"test {k} of {len(cases)} ({case.label})"
        try:
            raw = fn(*case.args)
        except Exception as exc:  # a student's bug: report it, do not crash the notebook
            print(f"{name}: FAILED on {where}: your function raised {type(exc).__name__}: {exc}")
            return False
        if raw is None:
            print(
                f"{name}: FAILED on {where}: your function returned None. Did you forget `return`?"
            )
            return False
        try:
            got = _to_array(raw)
        except (TypeError, ValueError) as exc:
            print(
                f"{name}: FAILED on {where}: the output ({type(raw).__name__}) is not numeric: {exc}"
            )
            return False
        expected = case.expected
        if got.shape != expected.shape:
            print(
                f"{name}: FAILED on {where}: expected an output of shape {expected.shape}, "
                f"got shape {got.shape}."
            )
            hint = hints(got, case) if got.size == expected.size else None
            if hint:
                print(f"  Hint: {hint}")
            return False
        bad = ~np.isclose(got, expected, rtol=rtol, atol=atol)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0]) if got.ndim else ()
            at = f" at index {first}" if first else ""
            print(f"{name}: FAILED on {where}: {int(bad.sum())} of {bad.size} value(s) differ.")
            print(f"  expected{at}: {_fmt(expected[first] if first else expected)}")
            print(f"  got{at}:      {_fmt(got[first] if first else got)}")
            if got.ndim:
                print(f"  expected (start): {_fmt(expected)}")
                print(f"  got (start):      {_fmt(got)}")
            hint = hints(got, case)
            if hint:
                print(f"  Hint: {hint}")
            return False
    print(f"{name}: passed all {len(cases)} tests.")
    return True


def _matches(got: np.ndarray, candidate) -> bool:
    try:
        c = _to_array(candidate)
    except (TypeError, ValueError):
        return False
    return c.shape == got.shape and bool(np.all(np.isfinite(c))) and np.allclose(got, c, 1e-5, 1e-6)


def _first_hint(got: np.ndarray, wrong: Iterable[tuple[Callable[[], object], str]]) -> str | None:
    """The message of the first known wrong answer that ``got`` equals."""
    for make, message in wrong:
        with np.errstate(all="ignore"):
            try:
                candidate = make()
            except Exception:  # a wrong-answer formula that does not apply to this input
                continue
        if _matches(got, candidate):
            return message
    return None


# --- IQL's expectile loss --------------------------------------------------------------------------
def check_expectile_loss(fn: Callable) -> bool:
    """Check ``fn(diff, tau)``: the elementwise loss ``|tau - 1(diff < 0)| * diff**2``.

    ``diff`` (a torch tensor of any shape) is the residual ``target - prediction`` (for IQL's value
    network: ``Q(s, a) - V(s)``); ``tau`` a float in (0, 1). Reference:
    ``mdpt_lib.guidance.expectile_loss``.
    """
    import torch

    from mdpt_lib.guidance import expectile_loss

    gen = torch.Generator().manual_seed(0)
    inputs = [
        ("diff of shape (8,), tau = 0.7", (8,), 0.7),
        ("diff of shape (4, 16), tau = 0.9", (4, 16), 0.9),
        ("diff of shape (32,), tau = 0.5", (32,), 0.5),
        ("diff of shape (2, 3, 5), tau = 0.1", (2, 3, 5), 0.1),
    ]
    cases = []
    for label, shape, tau in inputs:
        diff = 3 * torch.randn(shape, generator=gen)
        cases.append(_Case(label, (diff, tau), _to_array(expectile_loss(diff, tau))))

    def hints(got, case):
        diff, tau = _to_array(case.args[0]), case.args[1]
        neg = diff < 0
        return _first_hint(
            got,
            [
                (
                    lambda: np.where(neg, tau, 1 - tau) * diff**2,
                    "the weights look swapped. A residual diff > 0 (target above the estimate) "
                    "gets weight tau, a residual diff < 0 gets 1 - tau; with tau > 0.5 the fit "
                    "leans towards the upper values.",
                ),
                (
                    lambda: np.where(neg, 1 - tau, tau) * np.abs(diff),
                    "that is the quantile (pinball) loss. The expectile loss squares the residual.",
                ),
                (lambda: diff**2, "every residual got weight 1: weight it by tau or 1 - tau."),
                (
                    lambda: np.full_like(diff, np.mean(np.where(neg, 1 - tau, tau) * diff**2)),
                    "return the loss of every element (no mean): the caller averages.",
                ),
            ],
        )

    return _run_check("check_expectile_loss", fn, cases, hints)


# --- interquartile range and interquartile mean ----------------------------------------------------
def _score_vectors(seed: int) -> list[tuple[str, np.ndarray]]:
    """Score vectors like normalised returns: a few sizes (with n not a multiple of 4), skewed ones."""
    rng = np.random.default_rng(seed)
    out = [("8 scores", rng.normal(60, 20, 8))]
    out.append(("10 scores", rng.normal(40, 30, 10)))
    out.append(("13 skewed scores", 100 * rng.exponential(1.0, 13)))
    out.append(("50 scores", rng.uniform(-10, 110, 50)))
    out.append(("7 scores with ties", np.array([5.0, 5.0, 5.0, 20.0, 20.0, 80.0, 100.0])))
    return out


def check_iqr(fn: Callable) -> bool:
    """Check ``fn(scores)``: the interquartile range of a 1-D array, 75th minus 25th percentile.

    Percentiles use numpy's default linear interpolation. Reference: ``mdpt_lib.stats.iqr``.
    """
    from mdpt_lib import stats

    cases = [_Case(label, (x.copy(),), np.asarray(stats.iqr(x))) for label, x in _score_vectors(1)]

    def hints(got, case):
        x = case.args[0]
        return _first_hint(
            got,
            [
                (
                    lambda: np.subtract(*np.percentile(x, [0.75, 0.25])),
                    "np.percentile takes percentages (25, 75); np.quantile takes fractions "
                    "(0.25, 0.75).",
                ),
                (
                    lambda: np.subtract(*np.percentile(x, [25, 75])),
                    "the sign is flipped: 75th percentile minus 25th.",
                ),
                (lambda: np.ptp(x), "that is the full range (max - min), not the middle half."),
                (
                    lambda: np.subtract(*np.percentile(x, [90, 10])),
                    "those are the 10th and 90th percentiles: use the 25th and 75th.",
                ),
                (
                    lambda: np.subtract(*np.percentile(x, [75, 25], method="nearest")),
                    "use numpy's default (linear) interpolation between sorted scores.",
                ),
                (
                    lambda: np.subtract(*np.percentile(x, [75, 25], method="lower")),
                    "use numpy's default (linear) interpolation between sorted scores.",
                ),
                (
                    lambda: np.subtract(*np.percentile(x, [75, 25], method="midpoint")),
                    "use numpy's default (linear) interpolation between sorted scores.",
                ),
            ],
        )

    return _run_check("check_iqr", fn, cases, hints)


def check_iqm(fn: Callable) -> bool:
    """Check ``fn(scores)``: the interquartile mean of a 1-D array.

    Sort the ``n`` scores, drop ``floor(n / 4)`` at each end, average the rest (rliable's IQM,
    ``scipy.stats.trim_mean(scores, 0.25)``). Reference: ``mdpt_lib.stats.iqm``.
    """
    from mdpt_lib import stats

    cases = [_Case(label, (x.copy(),), np.asarray(stats.iqm(x))) for label, x in _score_vectors(2)]

    def hints(got, case):
        x = np.sort(case.args[0])
        n = len(x)
        q25, q75 = np.percentile(x, [25, 75])
        r = round(n / 4)
        return _first_hint(
            got,
            [
                (
                    lambda: x.mean(),
                    "that is the plain mean. The IQM first drops the lowest and highest quarter "
                    "of the sorted scores.",
                ),
                (lambda: np.median(x), "that is the median: average the middle half instead."),
                (
                    lambda: x[(x >= q25) & (x <= q75)].mean(),
                    "keeping the scores between the 25th and 75th percentiles is not the same "
                    "when n is not a multiple of 4: drop exactly floor(n / 4) sorted scores at "
                    "each end.",
                ),
                (
                    lambda: x[r : n - r].mean(),
                    "round down: drop floor(n / 4) scores at each end (n // 4 in Python).",
                ),
                (
                    lambda: x[n // 4 + 1 : n - n // 4 - 1].mean(),
                    "one score too many was dropped at each end: drop exactly floor(n / 4).",
                ),
            ],
        )

    return _run_check("check_iqm", fn, cases, hints)


# --- the VP noise schedule -------------------------------------------------------------------------
def check_vp_betas(fn: Callable) -> bool:
    """Check ``fn(T, beta_min, beta_max)``: the (T,) betas of the discretised VP schedule.

    ``beta_i = 1 - exp(-beta_min / T - (beta_max - beta_min) (2 i - 1) / (2 T^2))``, i = 1..T.
    Reference: ``mdpt_lib.diffusion.vp_betas``.
    """
    from mdpt_lib.diffusion import vp_betas

    inputs = [(5, 0.1, 10.0), (1, 0.1, 10.0), (10, 0.1, 20.0), (50, 0.5, 5.0), (3, 0.0, 1.0)]
    cases = [
        _Case(
            f"T = {T}, beta_min = {lo}, beta_max = {hi}",
            (T, lo, hi),
            _to_array(vp_betas(T, lo, hi)),
        )
        for T, lo, hi in inputs
    ]

    def hints(got, case):
        T, lo, hi = case.args
        i = np.arange(1, T + 1)
        alpha = np.exp(-lo / T - 0.5 * (hi - lo) * (2 * i - 1) / T**2)
        return _first_hint(
            got,
            [
                (lambda: alpha, "those are the alphas (1 - beta): return 1 - alpha."),
                (
                    lambda: np.cumprod(alpha),
                    "that is alpha-bar, the cumulative product: return 1 - alpha.",
                ),
                (
                    lambda: 1 - np.exp(-lo / T - 0.5 * (hi - lo) * (2 * (i - 1) - 1) / T**2),
                    "the step index runs from 1 to T (np.arange(1, T + 1)), not from 0.",
                ),
                (
                    lambda: 1 - np.exp(-lo / T - 0.5 * (hi - lo) * (2 * i - 1) / T),
                    "the slope term is divided by T squared: (beta_max - beta_min) (2i - 1) / (2 T^2).",
                ),
                (
                    lambda: np.linspace(lo, hi, T) / T,
                    "a linear schedule is not the VP one: integrate beta(t) = beta_min + "
                    "t (beta_max - beta_min) over each step and take 1 - exp(-integral).",
                ),
            ],
        )

    return _run_check("check_vp_betas", fn, cases, hints, rtol=1e-4, atol=1e-6)


# --- candidate selection -------------------------------------------------------------------------
def reference_softmax_selection(scores: np.ndarray, beta: float) -> np.ndarray:
    """Selection probabilities ``softmax(beta * scores)`` over the last axis (the candidates).

    The library's own rule (``mdpt_lib.policy.selection_probabilities``, what ``DiffusionPolicy.act``
    samples from), in float64 on numpy arrays.
    """
    import torch

    from mdpt_lib.policy import selection_probabilities

    x = torch.as_tensor(np.asarray(scores, dtype=np.float64))
    return selection_probabilities(x, float(beta)).numpy()


def check_softmax_selection(fn: Callable) -> bool:
    """Check ``fn(scores, beta)``: selection probabilities ``softmax(beta * scores)``.

    ``scores`` is a numpy array ``(N,)`` (one state's N candidates) or ``(B, N)`` (B states); the
    softmax runs over the last axis. Reference: ``reference_softmax_selection`` (this module).
    """
    rng = np.random.default_rng(3)
    inputs = [
        ("8 candidates, beta = 0.5", rng.normal(0, 2, 8), 0.5),
        ("3 states x 50 candidates, beta = 50", rng.normal(0, 0.05, (3, 50)), 50.0),
        ("16 candidates, beta = 0 (no preference)", rng.normal(0, 1, 16), 0.0),
        (
            "2 states x 50 candidates, beta = 300, large Q values",
            rng.normal(300, 5, (2, 50)),
            300.0,
        ),
    ]
    cases = [
        _Case(label, (s.copy(), b), reference_softmax_selection(s, b)) for label, s, b in inputs
    ]

    def hints(got, case):
        s, b = case.args
        if not np.all(np.isfinite(got)):
            return (
                "your output has nan or inf: exp(beta * score) overflows for large scores. "
                "Subtract the largest beta * score of each row before exp (softmax is unchanged)."
            )
        if (
            got.ndim == 2
            and not np.allclose(got.sum(axis=-1), 1)
            and np.allclose(got.sum(axis=0), 1)
        ):
            return "normalise over the candidates (the last axis), not over the states."
        return _first_hint(
            got,
            [
                (
                    lambda: reference_softmax_selection(s, 1.0),
                    "beta is missing: softmax(beta * scores).",
                ),
                (
                    lambda: reference_softmax_selection(s, 1.0 / b),
                    "beta multiplies the scores (an inverse temperature); it does not divide them.",
                ),
                (
                    lambda: np.eye(s.shape[-1])[np.argmax(s, axis=-1)],
                    "return probabilities, not the one-hot choice of the best candidate.",
                ),
            ],
        )

    return _run_check("check_softmax_selection", fn, cases, hints)


# --- normalised score ------------------------------------------------------------------------------
def check_normalized_score(fn: Callable) -> bool:
    """Check ``fn(task, returns)``: D4RL's normalised score, 0 = random, 100 = expert.

    ``returns`` is a float or a numpy array of episode returns; ``task`` a name like "hopper".
    Reference: ``mdpt_lib.normalized_score`` (reference returns in ``mdpt_lib.TASKS``).
    """
    from mdpt_lib.envs import TASKS, normalized_score

    rng = np.random.default_rng(4)
    cases = []
    for name, task in TASKS.items():
        r = float(rng.uniform(task.random_return, task.expert_return))
        cases.append(
            _Case(
                f"task {name!r}, one return {r:.1f}",
                (name, r),
                np.asarray(normalized_score(name, r)),
            )
        )
    arr = rng.uniform(-500, 2500, 6)
    cases.append(
        _Case(
            "task 'walker2d', 6 returns",
            ("walker2d", arr.copy()),
            normalized_score("walker2d", arr),
        )
    )
    cases.append(
        _Case(
            "task 'halfcheetah', its random and expert returns",
            (
                "halfcheetah",
                np.array([TASKS["halfcheetah"].random_return, TASKS["halfcheetah"].expert_return]),
            ),
            np.array([0.0, 100.0]),
        )
    )

    def hints(got, case):
        task, r = TASKS[case.args[0]], _to_array(case.args[1])
        lo, hi = task.random_return, task.expert_return
        return _first_hint(
            got,
            [
                (lambda: (r - lo) / (hi - lo), "multiply by 100: the expert reference scores 100."),
                (lambda: 100 * r / hi, "subtract the random return: a random policy scores 0."),
                (
                    lambda: 100 * (r - lo) / hi,
                    "divide by (expert - random), not by the expert return alone.",
                ),
                (
                    lambda: 100 * (r - hi) / (lo - hi),
                    "random and expert are swapped: 0 = random, 100 = expert.",
                ),
            ],
        )

    return _run_check("check_normalized_score", fn, cases, hints, atol=1e-4)
