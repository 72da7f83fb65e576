"""The book's exercises: self-checks of your own implementations (``checks``) and the student copy
of the exercise pages without their solutions (``student``).

    from mdpt_lib.exercises import check_expectile_loss
    python -m mdpt_lib.exercises student OUT_DIR
"""

from mdpt_lib.exercises.checks import (
    check_expectile_loss,
    check_iqm,
    check_iqr,
    check_normalized_score,
    check_softmax_selection,
    check_vp_betas,
    reference_softmax_selection,
)
from mdpt_lib.exercises.student import (
    BOOK_DIR,
    NO_EXEC,
    code_blocks,
    main,
    pages_with_solutions,
    solution_blocks,
    strip_solutions,
    write_student_copy,
)

__all__ = [
    "BOOK_DIR",
    "NO_EXEC",
    "check_expectile_loss",
    "check_iqm",
    "check_iqr",
    "check_normalized_score",
    "check_softmax_selection",
    "check_vp_betas",
    "code_blocks",
    "main",
    "pages_with_solutions",
    "reference_softmax_selection",
    "solution_blocks",
    "strip_solutions",
    "write_student_copy",
]
