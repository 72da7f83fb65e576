"""Learning curves: train one condition for several seeds, evaluate along the way, return tidy rows."""

from __future__ import annotations

import pandas as pd

from mdpt_lib.agent import fit
from mdpt_lib.experiments.scales import Scale


def train_with_curve(
    dataset_id: str,
    algo: str,
    mode: str,
    seeds: list[int],
    steps: int,
    scale: Scale,
    device: str = "cpu",
    progress: bool = True,
    eval_unguided: bool = False,
    **kwargs,
) -> tuple[list, pd.DataFrame]:
    """Fit ``seeds`` agents, evaluating them ``scale.evaluations`` times along training.

    Returns the agents and one row per (step, seed, inference) with the mean normalised score.
    """
    every = max(1, steps // scale.evaluations)
    agents = fit(
        dataset_id,
        algo=algo,
        mode=mode,
        steps=steps,
        seed=seeds,
        device=device,
        progress=progress,
        eval_every=every,
        eval_episodes=scale.episodes,
        eval_unguided=eval_unguided,
        eval_max_steps=scale.max_episode_steps,
        **{**scale.hparams(algo), **kwargs},
    )
    rows = [
        {
            "algo": algo,
            "mode": mode,
            "seed": row["seed"],
            "step": row["step"],
            "inference": row["inference"],
            "score": row["mean_score"],
            "length": float(sum(row["lengths"]) / len(row["lengths"])),
            **{k: row[k] for k in ("eff_candidates", "score_spread") if k in row},
        }
        for agent in agents
        for row in agent.results["evals"]
    ]
    return agents, pd.DataFrame(rows)
