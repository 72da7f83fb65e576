"""Does it learn? Guided policies against their own unguided diffusion model and the data's level.

Every score at the level of the data it was trained on (behaviour cloning) is a failed experiment,
not a finding. This experiment trains IDQL and Diffusion-QL jointly and evaluates each policy at
every checkpoint twice: with its guidance at inference ("guided") and without ("unguided": a plain
sample of the same diffusion model, i.e. behaviour cloning). ``learning_table`` answers, per task
and algorithm: from which diffusion step is the guided IQM over seeds above both the dataset's mean
normalised return and the unguided IQM, with a 95% bootstrap interval over seeds that excludes both?
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from mdpt_lib.algos import PAPER_ALGOS, get_algorithm
from mdpt_lib.stats import REPS, iqm, stratified_bootstrap_ci

MODES = ("joint",)
"""The learning benchmark's condition: the reference way of training, guidance and actor together."""

DECISIVE_MODES: dict[str, tuple[str, ...]] = {
    "dql": ("joint", "guidance_first", "no_guidance", "delayed_guidance", "random_guidance"),
    "idql": ("joint", "guidance_first"),
    "cfg": ("joint", "guidance_first"),
}
"""Every condition the findings need, per algorithm, trained at the learning benchmark's scales and
written beside its joint runs (so no run is trained twice): guidance-first for finding 2, the
necessity conditions for finding 1, and the trained agents of both for finding 3's swaps. IDQL's
actor never sees its guidance in training, so each of its necessity conditions would train its
joint actor again: its random guidance is read at inference instead, from the kept joint agents
under an untrained critic (``transfer.untrained_guidance``). The
classifier-free variant (``cfg``, an extension: ``scales.FINDINGS_EXTENSIONS``) is trained jointly and
guidance-first, the comparison where its labels from an untrained critic should matter most."""


def inference_variants(agent) -> dict[str, tuple[str, float, bool]]:
    """Other ways to act with a final policy, evaluated beside its default: name -> (selection
    rule, temperature, sample from the live weights instead of the EMA copy).

    IDQL: the paper code's softmax at 0.5 and CleanDiffuser's tuned temperature for the task.
    Diffusion-QL: argmax, and official Diffusion-QL's own inference, softmax over the raw
    (unscaled) min-Q at temperature 1, from the EMA copy and from the live weights as it does.
    """
    from mdpt_lib.algos import IDQL_TUNED_BETA, PAPER_CODE_IDQL_SELECTION
    from mdpt_lib.config import level_key

    if agent.algo == "cfg":
        return {}  # one sample per state (its guidance conditions the model): no selection to vary
    if agent.algo == "idql":
        out = {"softmax_paper_code": ("softmax", PAPER_CODE_IDQL_SELECTION["select_beta"], False)}
        from mdpt_lib.data.registry import get_dataset_spec

        spec = get_dataset_spec(agent.info.dataset)
        tuned = IDQL_TUNED_BETA.get(level_key(spec.task, spec.level))
        if tuned is not None:
            out["softmax_tuned"] = ("softmax", tuned, False)
        return out
    raw = 1.0 / agent.info.reward_scale  # softmax(Q_raw) = softmax(Q / scale)
    return {
        "argmax": ("argmax", agent.guidance.hp["select_beta"], False),
        "softmax_official_dql": ("softmax", raw, False),
        "softmax_official_dql_live": ("softmax", raw, True),
    }


def live_weights(agent):
    """A copy of ``agent`` that samples from its live diffusion weights instead of the EMA copy."""
    import copy

    from mdpt_lib.agent import Agent

    policy = copy.deepcopy(agent.policy)
    policy.ema.load_state_dict(policy.model.state_dict())
    return Agent(policy, agent.guidance, agent.algo, agent.results)


def evaluate_variants(agents: list, step: int, episodes: int) -> list[dict]:
    """Scores of each final agent under each of its ``inference_variants`` (the same episode seeds
    as its curve)."""
    from mdpt_lib.evaluation import evaluate

    rows = []
    for agent in agents:
        seed = agent.results["seed"]
        for name, (rule, beta, live) in inference_variants(agent).items():
            res = evaluate(
                live_weights(agent) if live else agent,
                episodes=episodes,
                seed=10_000 * (seed + 1) + step,
                guidance=agent.guidance.with_selection(rule, beta),
            )
            rows.append(
                {
                    "seed": seed,
                    "step": step,
                    "inference": name,
                    "selection": rule,
                    "select_beta": beta,
                    "live_weights": live,
                    "score": res.mean_score,
                    **res.selection,
                }
            )
    return rows


def grid_cells() -> list[tuple[str, str]]:
    """The (algo, mode) jobs of the grid runner: the benchmark's joint runs of the paper's two
    algorithms first, then every other cell of ``DECISIVE_MODES`` (``--algos`` and ``--modes`` pick
    some)."""
    joint = [(a, m) for a in PAPER_ALGOS for m in MODES]
    return joint + [
        (a, m) for a, modes in DECISIVE_MODES.items() for m in modes if (a, m) not in joint
    ]


def curve_frame(results: list[dict]) -> pd.DataFrame:
    """One row per (dataset, algo, step, seed, inference) from ``learning`` result files."""
    frames = []
    for r in results:
        df = pd.DataFrame(r["curve"])
        df["dataset"] = r["job"]["dataset"]
        df["scale"] = r["job"]["scale"]
        df["data_score"] = r["dataset_level"]["mean_score"]
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def step_table(curves: pd.DataFrame, reps: int = REPS, seed: int = 0) -> pd.DataFrame:
    """Per (dataset, algo, step): guided and unguided IQM over seeds with 95% CIs, and the bar.

    ``clears`` is True where the guided interval lies above the dataset's mean normalised return and
    above the unguided IQM. Seeds trained on different builds of one dataset (rolled-out builds can
    differ between machines) are held to the highest of their builds' levels.
    """
    rows = []
    for (ds, algo, step), g in curves.groupby(["dataset", "algo", "step"]):
        row = {"dataset": ds, "algo": algo, "step": int(step), "data_score": g.data_score.max()}
        for inference in ("guided", "unguided"):
            x = g[g.inference == inference].sort_values("seed").score.to_numpy()
            row[f"{inference}_seeds"] = len(x)
            row[inference] = iqm(x) if len(x) else np.nan
            lo, hi = (
                stratified_bootstrap_ci(x, iqm, reps, seed=seed) if len(x) > 1 else (np.nan,) * 2
            )
            row[f"{inference}_low"], row[f"{inference}_high"] = lo, hi
        row["clears"] = bool(
            row["guided_low"] > row["data_score"] and row["guided_low"] > row["unguided"]
        )
        rows.append(row)
    return pd.DataFrame(rows)


def learning_table(steps: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, algo): the first step that clears the bar and stays cleared to the end.

    ``first_clear`` is the first step where the bar is cleared; ``clears_from`` the first step from
    which every later checkpoint clears it too (NaN when the run ends below the bar).
    """
    rows = []
    for (ds, algo), g in steps.groupby(["dataset", "algo"]):
        g = g.sort_values("step")
        cleared = g.clears.to_numpy()
        first = g.step[g.clears].min() if cleared.any() else np.nan
        from_ = np.nan
        if cleared[-1]:
            k = len(cleared) - 1
            while k > 0 and cleared[k - 1]:
                k -= 1
            from_ = g.step.iloc[k]
        last = g.iloc[-1]
        rows.append(
            {
                "dataset": ds,
                "algo": algo,
                "data_score": last.data_score,
                "first_clear": first,
                "clears_from": from_,
                "final_step": int(last.step),
                "final_guided": last.guided,
                "final_guided_ci": (last.guided_low, last.guided_high),
                "final_unguided": last.unguided,
                "final_unguided_ci": (last.unguided_low, last.unguided_high),
            }
        )
    return pd.DataFrame(rows)


def figure(curves: pd.DataFrame, steps: pd.DataFrame | None = None):
    """Guided and unguided score along training, one panel per (dataset, algo), data level dashed."""
    import matplotlib.pyplot as plt

    steps = step_table(curves) if steps is None else steps
    panels = list(steps.groupby(["dataset", "algo"]))
    cols = min(len(panels), 2)
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.4 * rows), squeeze=False)
    for ax, ((ds, algo), g) in zip(axes.flat, panels, strict=False):
        g = g.sort_values("step")
        for inference, color in (("guided", "C0"), ("unguided", "C1")):
            ax.plot(g.step, g[inference], color=color, label=f"{inference} IQM")
            ax.fill_between(
                g.step, g[f"{inference}_low"], g[f"{inference}_high"], color=color, alpha=0.2
            )
            seeds = curves[
                (curves.dataset == ds) & (curves.algo == algo) & (curves.inference == inference)
            ]
            ax.scatter(seeds.step, seeds.score, color=color, s=6, alpha=0.5)
        ax.axhline(g.data_score.iloc[0], color="k", ls="--", lw=1, label="dataset mean")
        ax.set_title(f"{algo.upper()} on {ds}", fontsize=9)
        ax.set_xlabel("diffusion training step")
        ax.set_ylabel("normalised score")
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def load(
    scale: str | None = "learn", folder=None, modes: tuple[str, ...] | None = MODES
) -> tuple[list[dict], pd.DataFrame]:
    """The committed ``learning`` result files at ``scale`` (None: every scale) of ``modes``
    (default: the benchmark's joint runs; None: every condition) and their curves."""
    from mdpt_lib.experiments.grid import load_results

    results = [
        r
        for r in load_results("learning", folder)
        if (scale is None or r["job"]["scale"] == scale)
        and (modes is None or r["job"]["mode"] in modes)
    ]
    return results, curve_frame(results)


def load_findings(
    folder=None, modes: tuple[str, ...] | None = None, variants: bool = False
) -> tuple[list[dict], pd.DataFrame]:
    """The result files that decide the findings: each (task, algorithm) at its
    ``scales.findings_scale`` (Diffusion-QL on hopper at eta 0.5, the rest at ``learn``) and, with
    ``variants``, at its ``scales.findings_variants`` too (the curves' ``scale`` column tells
    them apart: pool nothing across it)."""
    from mdpt_lib.data.registry import get_dataset_spec
    from mdpt_lib.experiments.scales import findings_scale, findings_variants

    def wanted(job: dict) -> tuple[str, ...]:
        task = get_dataset_spec(job["dataset"]).task
        own = (findings_scale(task, job["algo"]),)
        return own + findings_variants(task, job["algo"]) if variants else own

    results = [r for r in load(None, folder, modes)[0] if r["job"]["scale"] in wanted(r["job"])]
    return results, curve_frame(results)


def load_benchmark(
    folder=None, modes: tuple[str, ...] | None = MODES
) -> tuple[list[dict], pd.DataFrame]:
    """The learning benchmark's result files: each (task, algorithm) in the setting it is decided in
    (``scales.findings_scale``'s hyperparameters, e.g. Diffusion-QL on hopper at eta 0.5) but over
    the benchmark's own ``learn`` steps, so a findings scale that only trains longer (IDQL on hopper
    at ``learn_60k``) is read at ``learn`` here."""
    from mdpt_lib.data.registry import get_dataset_spec
    from mdpt_lib.experiments.scales import FINDINGS_DEFAULT_SCALE, findings_scale, get_scale

    base = get_scale(FINDINGS_DEFAULT_SCALE)

    def wanted(job: dict) -> str:
        own = findings_scale(get_dataset_spec(job["dataset"]).task, job["algo"])
        return FINDINGS_DEFAULT_SCALE if get_scale(own).overrides == base.overrides else own

    results = [r for r in load(None, folder, modes)[0] if r["job"]["scale"] == wanted(r["job"])]
    return results, curve_frame(results)


def findings_commands(
    tasks: list[str],
    modes: list[str],
    levels: list[str] = ("medium-replay",),
    variants: bool = False,
) -> list[str]:
    """The runner commands that train ``modes`` of the findings' algorithms on ``tasks`` at their findings
    scales (and, with ``variants``, at their variant scales: those modes and the joint runs
    they are compared with), each algorithm only the modes of ``DECISIVE_MODES`` it has, one
    command per group of (task, algo) cells that share a scale and modes."""
    from mdpt_lib.experiments.grid import run_command
    from mdpt_lib.experiments.scales import (
        findings_algos,
        findings_scale,
        findings_variants,
        joint_runs_of,
    )

    groups: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
    for task in tasks:
        for algo in findings_algos(task):
            own = tuple(m for m in modes if m in DECISIVE_MODES[algo])
            if own and algo not in PAPER_ALGOS and "joint" not in own:
                own = ("joint", *own)  # an extension has no benchmark joint runs to compare with
            if own:
                groups.setdefault((findings_scale(task, algo), task, own), []).append(algo)
            for scale in findings_variants(task, algo) if variants and own else ():
                if joint_runs_of(task, algo, scale) != scale:  # compared with those joint runs
                    with_joint = tuple(m for m in own if m != "joint")
                else:
                    with_joint = own if "joint" in own else ("joint", *own)
                if with_joint:
                    groups.setdefault((scale, task, with_joint), []).append(algo)
    return [
        run_command("learning", scale, task, levels, algos, own)
        for (scale, task, own), algos in groups.items()
    ]


def compute_table(results: list[dict]) -> pd.DataFrame:
    """Where each job's time went, per job: seeds, steps, time per seed-step, train / eval /
    checkpoint seconds, evaluation's share of the wall time, core-hours, CPU (vendor, family,
    model; the full name is in each result file)."""
    from mdpt_lib.provenance import short_cpu

    rows = []
    for r in results:
        m, job = r["measure"], r["job"]
        seeds = len(job["seeds"])
        wall = r["train_wall_seconds"]
        ev, ck = r.get("eval_wall_seconds", 0.0), r.get("checkpoint_wall_seconds", 0.0)
        variants = max(r["wall_seconds"] - wall, 0.0)  # after training: variants, file writing
        rows.append(
            {
                "dataset": job["dataset"],
                "algo": job["algo"],
                "mode": job["mode"],
                "seeds": "-".join(map(str, job["seeds"])),
                "scale": job["scale"],
                "steps": m["diffusion_steps"],
                "ms_per_seed_step": 1000 * m["diffusion_step_seconds"] / seeds,
                "train_s": wall - ev - ck,
                "eval_s": ev,
                "checkpoint_s": ck,
                "after_training_s": variants,
                "eval_share": ev / max(r["wall_seconds"], 1e-9),
                "core_hours": r["wall_seconds"] / 3600,
                "cpu": short_cpu(r["provenance"].get("cpu_model", "not recorded")),
                "gemm_gflops": r["provenance"].get("gemm_fp32_gflops", np.nan),
            }
        )
    return pd.DataFrame(rows)


def evaluation_arithmetic(
    task: str = "halfcheetah", scale: str = "learn", algos: tuple[str, ...] = PAPER_ALGOS
) -> pd.DataFrame:
    """Evaluation's share of a job's arithmetic at ``scale``, per seed and algorithm: training's
    TFLOP (diffusion steps x one step's FLOPs) against evaluation's (evaluations x episode length x
    one batched guided and one unguided action call for all episodes). Episodes are taken at their
    full length, as every halfcheetah episode is; tasks whose episodes end early evaluate less. A
    job's evaluation share of wall time stays near this share unless evaluation runs at a higher
    share of the machine's ceiling than training."""
    from mdpt_lib.experiments.scales import get_scale
    from mdpt_lib.measure import act_gflop, step_gflop

    sc = get_scale(scale)
    rows = []
    for algo in algos:
        hp = sc.hparams(algo)
        act = act_gflop(algo, task, states=sc.episodes, **hp)
        train = sc.steps * step_gflop(algo, "joint", task, **hp)["diffusion"] / 1e3
        ev = sc.evaluations * sc.max_episode_steps * (act["guided"] + act["unguided"]) / 1e3
        rows.append(
            {
                "algo": algo,
                "candidates": get_algorithm(algo).hparams(task, **hp).candidates,
                "act_gflop": act["guided"],
                "train_tflop": train,
                "eval_tflop": ev,
                "eval_flop_share": ev / (ev + train),
            }
        )
    return pd.DataFrame(rows).set_index("algo")


def verdicts(table: pd.DataFrame) -> list[str]:
    """One sentence per (dataset, algo) of a ``learning_table``: where it clears the bar, or not."""
    out = []
    for _, r in table.iterrows():
        g_lo, g_hi = r.final_guided_ci
        head = f"{r.algo.upper()} on {r.dataset}"
        final = (
            f"at its last checkpoint ({r.final_step:,} steps) guided IQM {r.final_guided:.1f} "
            f"[{g_lo:.1f}, {g_hi:.1f}] against unguided {r.final_unguided:.1f} and the data's "
            f"{r.data_score:.1f}"
        )
        if not np.isfinite(g_lo):
            out.append(
                f"{head} has one seed so far, so no interval and no verdict; at {r.final_step:,} "
                f"steps it scores {r.final_guided:.1f} guided against {r.final_unguided:.1f} "
                f"unguided and the data's {r.data_score:.1f}."
            )
        elif np.isfinite(r.clears_from):
            out.append(f"{head} clears the bar from {int(r.clears_from):,} steps on; {final}.")
        elif np.isfinite(r.first_clear):
            out.append(
                f"{head} clears the bar at {int(r.first_clear):,} steps but not at every later "
                f"checkpoint; {final}."
            )
        else:
            out.append(f"{head} does not clear the bar; {final}.")
    return out


@functools.lru_cache(maxsize=16)
def data_mc_return(dataset: str, gamma: float = 0.99) -> float:
    """Mean discounted Monte-Carlo return of the data's transitions, in the critics' reward scale:
    what the mean of Q(s, a) over uniform batches of the data should come near for a critic of the
    behaviour policy (cut at time-outs, so a little lower)."""
    from mdpt_lib.data.load import load_dataset
    from mdpt_lib.replay import returns_to_go, reward_scale_factor

    data = load_dataset(dataset, verbose=False)
    return float(returns_to_go(data, gamma).mean() * reward_scale_factor(data))


def critic_path(
    results: list[dict], steps: tuple[int, ...] = (3_000, 6_000, 9_000, 12_000, 18_000, 30_000)
) -> pd.DataFrame:
    """Per job and chosen step: the critic's mean Q of the data's actions beside the data's
    discounted return (both from the training log; jobs without ``mc_return`` logged are left
    out), their ratio, and how the critic rates the policy's actions against the data's
    (``q_pi / q_mean``): a critic that runs away shows the ratio climbing by orders of magnitude."""
    rows = []
    for r in results:
        log = pd.DataFrame(r.get("log", []))
        if "mc_return" not in log:
            continue
        for step in steps:
            at = log[log.step <= step].iloc[-1]
            rows.append(
                {
                    "algo": r["job"]["algo"],
                    "scale": r["job"]["scale"],
                    "seeds": ", ".join(map(str, r["job"]["seeds"])),
                    "step": int(at.step),
                    "Q of the data's actions": at.q_mean,
                    "data's discounted return": at.mc_return,
                    "Q / return": at.q_mean / at.mc_return,
                    # IDQL's critic never scores its policy's actions in training: no q_pi
                    "Q of the policy's actions / Q of the data's": at.get("q_pi", np.nan)
                    / at.q_mean,
                }
            )
    return pd.DataFrame(rows)


def longer_run(results: list[dict], scale: str, base: str = "learn") -> pd.DataFrame:
    """A check run at ``scale`` (e.g. ``learn_60k``) beside the ``base``-scale joint run of the same
    dataset, algorithm and seeds: per (scale, step), the guided and unguided scores of those seeds
    and the critic's Q of the data's actions over their discounted return. Empty where no
    ``scale`` run exists (the first one found is used)."""
    long_runs = [r for r in results if r["job"]["scale"] == scale]
    if not long_runs:
        return pd.DataFrame()
    job = long_runs[0]["job"]
    same = [
        r
        for r in results
        if r["job"]["scale"] == base
        and r["job"]["mode"] == job["mode"]
        and (r["job"]["dataset"], r["job"]["algo"]) == (job["dataset"], job["algo"])
        and set(job["seeds"]) <= set(r["job"]["seeds"])
    ]
    rows = []
    for r in [*same, long_runs[0]]:
        c = pd.DataFrame(r["curve"])
        wide = c[c.seed.isin(job["seeds"])].pivot_table(
            index="step", columns="inference", values="score"
        )
        ratio = critic_path([r], steps=tuple(wide.index)).set_index("step")["Q / return"]
        wide["critic Q / data's return"] = ratio.reindex(wide.index).to_numpy()
        rows.append(wide.assign(scale=r["job"]["scale"]).reset_index())
    cols = ["guided", "unguided", "critic Q / data's return"]
    return pd.concat(rows).set_index(["scale", "step"])[cols]


def critic_check(results: list[dict]) -> pd.DataFrame:
    """Per job: the critic's mean Q of the data's actions against the data's own discounted
    return (its mean over the dataset), where Q first passes it and how far it is at the end.

    A critic of the behaviour policy sits near the data's return; one that evaluates a better policy
    sits somewhat above it; one that keeps climbing far past it extrapolates (overestimates), and its
    Q term then steers the actor towards actions it overvalues.
    """
    rows = []
    for r in results:
        log = pd.DataFrame(r.get("log", []))
        if log.empty or "q_mean" not in log:
            continue
        # the training batches' own returns (logged from commit cfb2c64 on) estimate the data's
        # mean return without the data; older files need the dataset (built if missing)
        mc = (
            float(log.mc_return.mean())
            if "mc_return" in log
            else data_mc_return(r["job"]["dataset"])
        )
        above = log[log.q_mean > mc]
        rows.append(
            {
                "dataset": r["job"]["dataset"],
                "algo": r["job"]["algo"],
                "scale": r["job"]["scale"],
                "data_return": mc,
                "q_passes_data_return_at": int(above.step.iloc[0]) if len(above) else np.nan,
                "final_q": float(log.q_mean.iloc[-1]),
                "final_q_over_data_return": float(log.q_mean.iloc[-1] / mc),
            }
        )
    return pd.DataFrame(rows)
