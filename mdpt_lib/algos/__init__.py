"""The algorithms, one file each, and the registry everything else asks.

    ALGORITHMS["dql"].hparams("hopper", "medium-replay")    # its defaults for a task
    PAPER_ALGOS                                            # the paper's two host algorithms

Adding one: a file with a subclass of ``Algorithm`` (defaults, ``actor_loss``), then
``register(MyAlgo())`` (or a line in ``ALGORITHMS`` below); ``fit(..., algo="my")`` runs it.
"""

from __future__ import annotations

from mdpt_lib.algos.base import Algorithm
from mdpt_lib.algos.cfg import CFG
from mdpt_lib.algos.dql import DQL, DQL_SELECT_BETA
from mdpt_lib.algos.idql import IDQL, IDQL_TUNED_BETA, PAPER_CODE_IDQL_SELECTION

ALGORITHMS: dict[str, Algorithm] = {a.name: a for a in (IDQL(), DQL(), CFG())}

PAPER_ALGOS = ("idql", "dql")
"""The paper's two host algorithms: the experiments' grids run these."""


def register(algorithm: Algorithm) -> Algorithm:
    """Add ``algorithm`` to the registry under ``algorithm.name`` (replacing one of that name)."""
    ALGORITHMS[algorithm.name] = algorithm
    return algorithm


def get_algorithm(name: str) -> Algorithm:
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}: valid ones are {', '.join(ALGORITHMS)}")
    return ALGORITHMS[name]


__all__ = [
    "ALGORITHMS",
    "DQL_SELECT_BETA",
    "IDQL_TUNED_BETA",
    "PAPER_ALGOS",
    "PAPER_CODE_IDQL_SELECTION",
    "Algorithm",
    "get_algorithm",
    "register",
]
