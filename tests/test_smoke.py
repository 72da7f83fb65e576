"""The README's main job at this stage: the smoke run prints one row per task."""

import subprocess
import sys

from mdpt_lib.envs import TASKS


def test_smoke_prints_a_row_per_task():
    done = subprocess.run(
        [sys.executable, "-m", "mdpt_lib", "smoke", "--seed", "1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    rows = [line.split() for line in done.stdout.splitlines()]
    by_task = {row[0]: row for row in rows if row and row[0] in TASKS}
    assert set(by_task) == set(TASKS)
    for name, row in by_task.items():
        assert int(row[2]) == TASKS[name].obs_dim
        assert int(row[3]) == TASKS[name].act_dim
        float(row[4])  # the return is a number


def test_book_command_checks_the_environments_first(monkeypatch, capsys):
    import mdpt_lib.book as book

    built = []
    monkeypatch.setattr(book, "build", lambda *args: built.append(args))
    monkeypatch.setattr(sys, "argv", ["python -m mdpt_lib.book", "--quick"])
    book.main()
    out = capsys.readouterr().out
    assert all(name in out for name in TASKS) and built == [(True, False, None)]
