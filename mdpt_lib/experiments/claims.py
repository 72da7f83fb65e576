"""The paper's claims as data: what each abstract version says, to be set beside our numbers.

Three abstracts carry different numbers (arXiv v1 May 2025, the ICLR 2026 submission of September
2025, TMLR October 2025); each claim names the version it is quoted from. Which dataset or algorithm
a percentage belongs to is not stated in any of them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    key: str
    finding: int  # 1 necessity, 2 guidance-first, 3 transfer
    text: str  # the claim in the abstract's words, shortened
    value: float | None  # the number, as a fraction (0.4316 for +43.16%); None if qualitative
    version: str  # "arXiv v1" | "ICLR 2026 submission" | "TMLR"


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "necessity",
        1,
        "how much guidance helps depends on the training stage and the algorithm",
        None,
        "TMLR",
    ),
    Claim("gf_score_a", 2, "guidance-first improves performance by up to 43.16%", 0.4316, "TMLR"),
    Claim("gf_score_b", 2, "... and by up to 60.98%", 0.6098, "TMLR"),
    Claim(
        "gf_score_iclr_a",
        2,
        "guidance-first improves performance by up to 12%",
        0.12,
        "ICLR 2026 submission",
    ),
    Claim("gf_score_iclr_b", 2, "... and by up to 54%", 0.54, "ICLR 2026 submission"),
    Claim("gf_cost", 2, "38.1% less peak memory and computation", 0.381, "TMLR"),
    Claim("gf_diffusion_saved_a", 2, "65.6% less diffusion training", 0.656, "TMLR"),
    Claim("gf_diffusion_saved_b", 2, "27.66% less diffusion training", 0.2766, "TMLR"),
    Claim(
        "double_guidance_iqr",
        3,
        "a second guidance at inference cuts the IQR by 86%",
        -0.86,
        "arXiv v1",
    ),
    Claim(
        "seed_swap_variance",
        3,
        "swapping seeds reduces median variance by 14%",
        -0.14,
        "ICLR 2026 submission",
    ),
    Claim("seed_swap_variance_b", 3, "... and by 21%", -0.21, "ICLR 2026 submission"),
    Claim(
        "cross_algorithm",
        3,
        "an IDQL-trained guidance steers a Diffusion-QL diffusion model without training",
        None,
        "TMLR",
    ),
    Claim(
        "mismatch",
        3,
        "plug-and-play holds when guidance and policy share a data distribution (not across datasets)",
        None,
        "TMLR",
    ),
)
"""Every claim the scorecard checks, one per row."""


def claim(key: str) -> Claim:
    for c in CLAIMS:
        if c.key == key:
            return c
    raise KeyError(f"no claim {key!r}: one of {', '.join(c.key for c in CLAIMS)}")
