"""The book's solutions: finding them in its pages, and the student copy without them.

The exercise pages hold their solutions inside ``{solution}`` directives (or a gated
``{solution-start}`` ... ``{solution-end}`` pair). A copy without them, for students::

    python -m mdpt_lib.exercises student OUT_DIR
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

BOOK_DIR = Path(__file__).resolve().parents[2] / "book"
"""The book's chapters, beside the package."""

_FENCE_OPEN = re.compile(
    r"^ {0,3}(?P<fence>`{3,}|:{3,})\s*\{(?P<name>[A-Za-z0-9_:-]+)\}(?P<arg>.*)$"
)
_CODE_OPEN = re.compile(
    r"^ {0,3}(?P<fence>`{3,}|~{3,})\s*(?:\{code-block\}\s*)?(?P<lang>python3?|py)\s*$"
)
SOLUTION_DIRECTIVES = ("solution", "solution-start")
NO_EXEC = "# no-exec"
"""First line of a solution code block that must not be executed by the tests (it trains models)."""


def _closes(line: str, fence: str) -> bool:
    """Does ``line`` close a block opened with ``fence`` (same character, at least as long)?"""
    stripped = line.strip()
    return (
        len(line) - len(line.lstrip(" ")) <= 3
        and len(stripped) >= len(fence)
        and set(stripped) == {fence[0]}
    )


def _fenced(lines: list[str], opening: re.Pattern) -> Iterator[tuple[int, int, re.Match]]:
    """(first line, closing line or the last line, match) of every top-level block that
    ``opening`` opens, to the fence that closes it."""
    i = 0
    while i < len(lines):
        m = opening.match(lines[i])
        if not m:
            i += 1
            continue
        fence, j = m.group("fence"), i + 1
        while j < len(lines) and not _closes(lines[j], fence):
            j += 1
        yield i, j, m
        i = j + 1


def _directive_spans(lines: list[str]) -> list[tuple[int, int, str, str]]:
    """(first line, last line, directive name, argument) of every top-level fenced directive."""
    return [
        (i, min(j, len(lines) - 1), m.group("name"), m.group("arg").strip())
        for i, j, m in _fenced(lines, _FENCE_OPEN)
    ]


def _solution_ranges(lines: list[str]) -> list[tuple[int, int, str]]:
    """Line ranges (inclusive) of every solution, with the label of the exercise it solves.

    A ``{solution}`` directive is one range; a gated ``{solution-start}`` ... ``{solution-end}``
    pair is one range from the start block to the end block.
    """
    spans = _directive_spans(lines)
    out = []
    for k, (a, b, name, arg) in enumerate(spans):
        if name == "solution":
            out.append((a, b, arg))
        elif name == "solution-start":
            end = next((s for s in spans[k + 1 :] if s[2] == "solution-end"), None)
            out.append((a, end[1] if end else b, arg))
    return out


def solution_blocks(text: str) -> list[tuple[str, str]]:
    """(exercise label, body text) of every solution in a MyST page."""
    lines = text.splitlines()
    return [(label, "\n".join(lines[a + 1 : b])) for a, b, label in _solution_ranges(lines)]


def code_blocks(text: str) -> list[str]:
    """The Python code of every fenced ``python`` block in ``text``."""
    lines = text.splitlines()
    return ["\n".join(lines[i + 1 : j]) + "\n" for i, j, _ in _fenced(lines, _CODE_OPEN)]


def strip_solutions(text: str) -> str:
    """``text`` without its solutions (directive, explanation and code), for a student copy."""
    lines = text.splitlines()
    drop = set()
    for a, b, _ in _solution_ranges(lines):
        drop.update(range(a, b + 1))
    kept = [line for i, line in enumerate(lines) if i not in drop]
    stripped = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).rstrip("\n") + "\n"
    return stripped


def pages_with_solutions(book_dir: Path = BOOK_DIR) -> list[Path]:
    """Every MyST page under ``book_dir`` that holds at least one solution."""
    return [
        p
        for p in sorted(Path(book_dir).rglob("*.md"))
        if _solution_ranges(p.read_text(encoding="utf-8").splitlines())
    ]


def write_student_copy(out_dir: Path, book_dir: Path = BOOK_DIR) -> list[Path]:
    """Write every page of ``book_dir`` that has solutions, without them, under ``out_dir``.

    Paths below ``book_dir`` are kept. Refuses to write into ``book_dir`` itself (that would
    delete the instructor copy's solutions).
    """
    book_dir, out_dir = Path(book_dir).resolve(), Path(out_dir).resolve()
    if out_dir == book_dir or book_dir in out_dir.parents:
        raise ValueError(
            f"{out_dir} is inside the book ({book_dir}): the student copy would replace the "
            "instructor copy. Choose another folder."
        )
    written = []
    for page in pages_with_solutions(book_dir):
        target = out_dir / page.relative_to(book_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(strip_solutions(page.read_text(encoding="utf-8")), encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m mdpt_lib.exercises",
        description="The book's exercises: write a student copy of the pages without solutions.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    student = commands.add_parser(
        "student", help="write the pages with solutions, solutions removed, into OUT_DIR"
    )
    student.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    student.add_argument(
        "--book", type=Path, default=BOOK_DIR, help=f"the book's chapters (default: {BOOK_DIR})"
    )
    args = parser.parse_args(argv)
    if args.command == "student":
        try:
            written = write_student_copy(args.out_dir, args.book)
        except ValueError as err:
            parser.error(str(err))
        if not written:
            print(f"no page under {args.book} holds a solution: nothing written")
        for path in written:
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
