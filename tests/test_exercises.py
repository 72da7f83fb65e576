"""The exercise self-checks and the student copy of the exercise pages (fast: no training)."""

import numpy as np
import pytest
import scipy.stats
import torch

import mdpt_lib
import mdpt_lib.exercises as ex
from mdpt_lib.diffusion import vp_betas
from mdpt_lib.guidance import expectile_loss
from mdpt_lib.stats import iqm, iqr

EXERCISES = ex.BOOK_DIR / "exercises.md"


# --- typical wrong answers -------------------------------------------------------------------------
def expectile_swapped(diff, tau):
    return torch.where(diff < 0, tau, 1.0 - tau) * diff**2


def iqr_fractions_to_percentile(scores):
    q25, q75 = np.percentile(scores, [0.25, 0.75])  # np.percentile wants 25, 75
    return q75 - q25


def iqm_plain_mean(scores):
    return float(np.mean(scores))


def vp_from_zero(T, beta_min=0.1, beta_max=10.0):
    i = np.arange(T)
    return 1 - np.exp(-beta_min / T - 0.5 * (beta_max - beta_min) * (2 * i - 1) / T**2)


def softmax_naive(scores, beta):
    e = np.exp(beta * np.asarray(scores))
    return e / e.sum(axis=-1, keepdims=True)


def normalized_no_100(task, returns):
    t = mdpt_lib.TASKS[task]
    return (np.asarray(returns) - t.random_return) / (t.expert_return - t.random_return)


CHECKS = [
    (ex.check_expectile_loss, expectile_loss, expectile_swapped, "swapped"),
    (ex.check_iqr, iqr, iqr_fractions_to_percentile, "np.percentile takes percentages"),
    (ex.check_iqm, iqm, iqm_plain_mean, "plain mean"),
    (ex.check_vp_betas, vp_betas, vp_from_zero, "from 1 to T"),
    (ex.check_softmax_selection, ex.reference_softmax_selection, softmax_naive, "overflows"),
    (ex.check_normalized_score, mdpt_lib.normalized_score, normalized_no_100, "multiply by 100"),
]
IDS = [c[0].__name__ for c in CHECKS]


@pytest.mark.parametrize(("check", "reference", "wrong", "hint"), CHECKS, ids=IDS)
def test_the_reference_passes(check, reference, wrong, hint, capsys):
    assert check(reference) is True
    assert "passed all" in capsys.readouterr().out


@pytest.mark.parametrize(("check", "reference", "wrong", "hint"), CHECKS, ids=IDS)
def test_a_typical_mistake_fails_with_a_useful_message(check, reference, wrong, hint, capsys):
    with np.errstate(all="ignore"):
        assert check(wrong) is False
    out = capsys.readouterr().out
    assert "FAILED on test" in out and "expected" in out, out
    assert hint in out, out


@pytest.mark.parametrize(("check", "reference", "wrong", "hint"), CHECKS, ids=IDS)
def test_crashes_and_missing_returns_are_reported(check, reference, wrong, hint, capsys):
    def crashes(*args):
        raise RuntimeError("boom")

    def forgets_return(*args):
        pass

    assert check(crashes) is False
    assert "raised RuntimeError: boom" in capsys.readouterr().out
    assert check(forgets_return) is False
    assert "returned None" in capsys.readouterr().out


def test_shape_and_value_mismatches_name_the_input(capsys):
    assert ex.check_expectile_loss(lambda d, tau: expectile_loss(d, tau).mean()) is False
    out = capsys.readouterr().out
    assert "shape (8,)" in out and "got shape ()" in out and "tau = 0.7" in out
    assert ex.check_iqm(lambda x: scipy.stats.trim_mean(x, 0.1)) is False
    out = capsys.readouterr().out
    assert "test 1 of" in out and "8 scores" in out


def test_other_typical_mistakes_get_their_hints(capsys):
    assert ex.check_iqr(lambda x: np.ptp(x)) is False
    assert "full range" in capsys.readouterr().out
    assert ex.check_iqm(lambda x: np.median(x)) is False
    assert "median" in capsys.readouterr().out
    assert ex.check_softmax_selection(lambda s, b: ex.reference_softmax_selection(s, 1.0)) is False
    assert "beta is missing" in capsys.readouterr().out
    assert ex.check_vp_betas(lambda T, lo, hi: 1 - vp_betas(T, lo, hi)) is False
    assert "alphas" in capsys.readouterr().out


# --- the pages: instructor copy, student copy, solutions that run ------------------------------
def test_the_exercise_page_has_exercises_each_with_a_solution():
    text = EXERCISES.read_text(encoding="utf-8")
    labels = [
        line.split(":label:")[1].strip() for line in text.splitlines() if ":label: ex-" in line
    ]
    assert len(labels) >= 6
    solved = [label for label, _ in ex.solution_blocks(text)]
    assert sorted(solved) == sorted(labels)
    for _, body in ex.solution_blocks(text):
        assert ":class: dropdown" in body


def test_the_student_copy_has_no_solutions(tmp_path):
    ex.main(["student", str(tmp_path)])
    instructor = EXERCISES.read_text(encoding="utf-8")
    student = (tmp_path / "exercises.md").read_text(encoding="utf-8")
    assert "{solution" in instructor and "{solution" not in student
    assert ":class: dropdown" not in student
    assert student.count("{exercise}") == instructor.count("{exercise}")
    solution_code = [c for _, body in ex.solution_blocks(instructor) for c in ex.code_blocks(body)]
    assert len(solution_code) >= 6
    for code in solution_code:
        assert code.strip() not in student
    for line in ("torch.where(diff < 0, 1.0 - tau, tau)", "return 1 - alpha", "k = len(x) // 4"):
        assert line in instructor and line not in student
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.md")}
    assert written == {p.relative_to(ex.BOOK_DIR).as_posix() for p in ex.pages_with_solutions()}


def test_the_student_copy_never_overwrites_the_book():
    with pytest.raises(SystemExit):
        ex.main(["student", str(ex.BOOK_DIR)])
    assert "{solution" in EXERCISES.read_text(encoding="utf-8")


def test_strip_solutions_handles_nested_fences_and_gated_solutions():
    text = (
        "intro\n\n````{exercise}\n:label: a\n\nQ\n\n```python\nstub()\n```\n````\n\n"
        "````{solution} a\n:class: dropdown\n\n```python\nanswer()\n```\n\nmore\n````\n\n"
        "```{solution-start} a\n```\ngated answer\n```{solution-end}\n```\nafter\n"
    )
    out = ex.strip_solutions(text)
    assert "stub()" in out and "after" in out and "intro" in out
    assert "answer()" not in out and "gated answer" not in out and "solution" not in out
    assert ex.code_blocks(ex.solution_blocks(text)[0][1]) == ["answer()\n"]


def test_every_solution_snippet_runs_and_passes_its_checks(monkeypatch, capsys):
    """Execute the code of every solution (except ``# no-exec`` ones); every check must pass."""
    calls = []
    for name in [n for n in ex.__all__ if n.startswith("check_")]:
        original = getattr(ex, name)

        def recording(fn, _original=original, _name=name):
            result = _original(fn)
            calls.append((_name, result))
            return result

        monkeypatch.setattr(ex, name, recording)
    text = EXERCISES.read_text(encoding="utf-8")
    ran = 0
    for label, body in ex.solution_blocks(text):
        for code in ex.code_blocks(body):
            if code.lstrip().startswith(ex.NO_EXEC):
                continue
            exec(compile(code, f"<solution of {label}>", "exec"), {"__name__": "__solution__"})
            ran += 1
    assert ran >= 5
    assert calls and all(result for _, result in calls), capsys.readouterr().out
    checked = {name for name, _ in calls}
    assert checked == {n for n in ex.__all__ if n.startswith("check_")}
