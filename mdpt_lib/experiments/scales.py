"""Run sizes. ``quick`` is the CI smoke size (each notebook within ~2 minutes on 2 cores), ``book``
the size the rendered book executes (a live demonstration of the machinery, each notebook a few
minutes; the book's findings rest on the committed decisive runs), ``long`` the size of the
committed precomputed results, ``full`` the paper's protocol (hours per job; all run through
``python -m mdpt_lib.experiments``).

Where a size departs from the paper's hyperparameters (``mdpt_lib.config``), it is here, in the
open: smaller networks and fewer candidate actions make CPU runs feasible; the book says so beside
every result.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Scale:
    name: str
    steps: int  # diffusion training steps
    seeds: int
    episodes: int  # evaluation episodes per policy and checkpoint
    max_episode_steps: int = 1000  # below 1000 only for smoke runs
    evaluations: int = 4  # checkpoints evaluated along training (learning curves)
    rows: int = 100_000  # rows of locally built extra datasets (e.g. the mismatch data)
    overrides: dict = field(default_factory=dict)  # algo -> hyperparameter overrides
    guidance_steps: int | None = None  # guidance-first's stage-1 critic steps (None: = steps)

    @property
    def stage1_steps(self) -> int:
        """Guidance-first's stage-1 critic steps (``fit``'s default: as many as ``steps``)."""
        return self.guidance_steps if self.guidance_steps is not None else self.steps

    def hparams(self, algo: str) -> dict:
        return {**self.overrides.get("all", {}), **self.overrides.get(algo, {})}


SCALES: dict[str, Scale] = {
    "quick": Scale(
        "quick",
        steps=150,
        seeds=2,
        episodes=2,
        max_episode_steps=100,
        evaluations=2,
        rows=10_000,
        overrides={
            "all": {
                "hidden": 64,
                "critic_hidden": 64,
                "batch_size": 128,
                "candidates": 8,
                "actor_ema_copy_before_start": True,
            }
        },
    ),
    "book": Scale(
        "book",
        steps=1000,
        seeds=2,
        episodes=3,
        evaluations=4,
        rows=100_000,
        # short runs: the actor's EMA copies the live weights before step 1000 instead of staying
        # at the initialisation (the reference), else a 1,000-step policy would be its init
        overrides={
            "all": {"hidden": 128, "critic_hidden": 128, "actor_ema_copy_before_start": True},
            "idql": {"candidates": 32},
        },
    ),
    # the size of the project's first grids (removed from results/ once superseded): the paper's
    # networks and evaluation episodes, a fortieth of its training (IDQL with 32 candidates
    # instead of 256, for CPU evaluation). On one core of the 2-core CI machine a job of 3 seeds takes ~20 minutes.
    "long": Scale(
        "long",
        steps=5_000,
        seeds=3,
        episodes=10,
        evaluations=5,
        rows=1_000_000,
        overrides={"idql": {"candidates": 32}},
    ),
    "full": Scale("full", steps=200_000, seeds=5, episodes=10, evaluations=20, rows=1_000_000),
}


# the learning benchmark (``learning`` experiment) and the decisive protocol of the findings,
# trained beside it: the paper's networks, 30k diffusion steps (the cosine schedule decays over
# them), 5 seeds (the benchmark reads the first 3 as they land), 10 evaluations of 10 episodes,
# guided and unguided. IDQL chooses among 32 candidates at evaluation instead of 256 (its resnet
# makes 256 cost ~0.6 s per environment step on one core); its authors swept 16/64/256.
SCALES["learn"] = replace(SCALES["long"], name="learn", steps=30_000, seeds=5, evaluations=10)


# the learning benchmark's Diffusion-QL with official Diffusion-QL's gradient-norm clipping for
# hopper medium-replay (4.0, actor and critic): the check of the diagnosis that hopper's unclipped
# critic runs away (its Q of the data's actions doubles past their returns)
SCALES["learn_gn4"] = replace(
    SCALES["learn"],
    name="learn_gn4",
    overrides={**SCALES["learn"].overrides, "dql": {"grad_clip": 4.0}},
)


# the learning benchmark's Diffusion-QL with the TD next actions sampled at initial-noise scale 0.5
# (this project's earlier rule) instead of the references' 1.0: isolates that one change as a cause
# of hopper medium-replay's guided scores falling back to the data's level after ~15k steps
SCALES["learn_td05"] = replace(
    SCALES["learn"],
    name="learn_td05",
    overrides={**SCALES["learn"].overrides, "dql": {"td_noise_scale": 0.5}},
)


# the learning benchmark's Diffusion-QL with half the Q term's weight (eta 0.5 instead of 1): the
# next check on hopper medium-replay, whose actor degrades below the data on one seed late in training
SCALES["learn_eta05"] = replace(
    SCALES["learn"],
    name="learn_eta05",
    overrides={**SCALES["learn"].overrides, "dql": {"eta": 0.5}},
)


# hopper's Diffusion-QL at eta 0.5 with the in-sample critic (``pretrain_form="sarsa"``: TD next
# actions from the data instead of the policy): guidance-first's stage-1 critic then values the data's
# own policy instead of the untrained actor's (the paper code's form values a random policy's
# continuation: Q of the data's actions at a tenth of their return on hopper medium-replay)
SCALES["learn_eta05_sarsa"] = replace(
    SCALES["learn"],
    name="learn_eta05_sarsa",
    overrides={**SCALES["learn"].overrides, "dql": {"eta": 0.5, "pretrain_form": "sarsa"}},
)


# the learning benchmark's Diffusion-QL with the in-sample critic alone (eta stays 1): the check of
# the diagnosis on halfcheetah medium, whose critic's Q of the data's actions runs away from their
# Monte-Carlo returns (from ~60 to ~5e8) when its TD next actions come from the policy
SCALES["learn_sarsa"] = replace(
    SCALES["learn"],
    name="learn_sarsa",
    overrides={**SCALES["learn"].overrides, "dql": {"pretrain_form": "sarsa"}},
)


# the learning benchmark run to the learning issue's cap of 60k diffusion steps (the schedules decay
# over all of them), evaluated every 3k steps as `learn`: IDQL's findings scale on hopper
# medium-replay, whose critic only reaches the data's returns near 30k (Q/return passes 1 at 26-28k)
# and whose guided policy does not stay above the learning bar within `learn`'s 30k steps. Its
# guidance-first stage 1 is as long (60k critic steps; the IQL critic trained alone settles by 50k)
SCALES["learn_60k"] = replace(SCALES["learn"], name="learn_60k", steps=60_000, evaluations=20)


# guidance-first with a stage 1 three times as long as stage 2: trained alone (`critic_settling`,
# results/critic/), the stage-1 critics of both algorithms on halfcheetah medium-replay and IDQL's
# (an IQL critic, also the classifier-free variant's) and Diffusion-QL's in-sample one on hopper
# medium-replay still move at 30k critic steps (Diffusion-QL's paper form on halfcheetah at half its
# settled value), and settle (moves within a tenth of the value per 10k steps) by 40k-60k. Only
# stage 1 differs from the scale it lengthens, so its runs are compared with that scale's joint
# runs (`joint_runs_of`).
SCALES["learn_s1_90k"] = replace(SCALES["learn"], name="learn_s1_90k", guidance_steps=90_000)
SCALES["learn_eta05_sarsa_s1_90k"] = replace(
    SCALES["learn_eta05_sarsa"], name="learn_eta05_sarsa_s1_90k", guidance_steps=90_000
)


def joint_shared(variant: str, base: str) -> bool:
    """Whether joint training at scale ``variant`` would be the run of scale ``base`` again: the two
    differ in nothing but guidance-first's stage-1 length, which joint training does not have."""
    v, b = get_scale(variant), get_scale(base)
    return replace(v, name=b.name, guidance_steps=b.guidance_steps) == b


def get_scale(name: str) -> Scale:
    if name not in SCALES:
        raise ValueError(f"unknown scale {name!r}: valid scales are {', '.join(SCALES)}")
    return SCALES[name]


# The scale of the decisive runs (the paper's findings) per (task, algorithm): the learning
# benchmark's, except where a check of "Does it learn?" found the setting under which a method
# learns on that task's data. On hopper medium-replay Diffusion-QL stays at behaviour-cloning level
# with eta 1 and learns with eta 0.5; IDQL (no eta) is still climbing at 30k diffusion steps and
# not yet above the bar at every checkpoint its final score averages, so it runs to 60k, and the
# classifier-free variant, compared with it, too.
FINDINGS_SCALES: dict[tuple[str, str], str] = {
    ("hopper", "dql"): "learn_eta05",
    ("hopper", "idql"): "learn_60k",
    ("hopper", "cfg"): "learn_60k",
}
FINDINGS_DEFAULT_SCALE = "learn"


def findings_scale(task: str, algo: str) -> str:
    """The scale whose runs decide the findings for ``task`` (a task name) and ``algo``."""
    from mdpt_lib.envs import get_task

    return FINDINGS_SCALES.get((get_task(task).name, algo), FINDINGS_DEFAULT_SCALE)


# Variants of a findings scale that change one named setting, run for guidance-first and reported
# beside the findings scale's own runs: Diffusion-QL's critic pretrained in-sample on hopper
# (``pretrain_form="sarsa"``; PAPER.md asks for both pretraining forms, the better one the default),
# and a stage 1 long enough for the critic to settle wherever 30k critic steps are not (``_s1_90k``
# above; the paper form's critic on hopper settles by 20k, so it keeps its 30k; IDQL's on hopper
# trains 60k at ``learn_60k``).
FINDINGS_VARIANTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("hopper", "dql"): ("learn_eta05_sarsa", "learn_eta05_sarsa_s1_90k"),
    ("halfcheetah", "dql"): ("learn_s1_90k",),
    ("halfcheetah", "idql"): ("learn_s1_90k",),
}


# Algorithms beyond the paper's two that the findings also run on a task, at their findings
# scale: the literal classifier-free variant on hopper (PAPER.md: labels from an untrained critic are
# noise, so guidance-first should matter most there; the book compares it with the paper's form).
FINDINGS_EXTENSIONS: dict[str, tuple[str, ...]] = {"hopper": ("cfg",)}


# Algorithms whose guidance-first stage 1 trains another algorithm's critic: the classifier-free
# variant's labels come from the same IQL critic as IDQL's (same hyperparameters; trained on the
# data alone, never reading the actor), so where IDQL's stage-1 critic has not settled, neither has
# the classifier-free variant's.
STAGE1_AS: dict[str, str] = {"cfg": "idql"}


def findings_algos(task: str) -> tuple[str, ...]:
    """The algorithms whose runs the findings use on ``task``: the paper's two, then the task's
    ``FINDINGS_EXTENSIONS``."""
    from mdpt_lib.algos import PAPER_ALGOS
    from mdpt_lib.envs import get_task

    return (*PAPER_ALGOS, *FINDINGS_EXTENSIONS.get(get_task(task).name, ()))


def findings_variants(task: str, algo: str) -> tuple[str, ...]:
    """The variant scales of ``task``'s and ``algo``'s findings scale (``FINDINGS_VARIANTS``)."""
    from mdpt_lib.envs import get_task

    return FINDINGS_VARIANTS.get((get_task(task).name, algo), ())


def joint_runs_of(task: str, algo: str, scale: str) -> str:
    """The scale whose joint runs stand for joint training in ``scale``'s setting: the first of the
    findings scale and its variants that differs from ``scale`` in nothing but guidance-first's
    stage-1 length (``joint_shared``), which is ``scale`` itself where no other does."""
    for other in (findings_scale(task, algo), *findings_variants(task, algo)):
        if joint_shared(scale, other):
            return other
    return scale
