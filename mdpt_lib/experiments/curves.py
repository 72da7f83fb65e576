"""What an experiment trains (``Run``), and learning curves: one condition for several seeds,
evaluated along the way, as tidy rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mdpt_lib.agent import fit
from mdpt_lib.experiments.scales import Scale
from mdpt_lib.modes import get_mode


@dataclass(frozen=True)
class Run:
    """One experiment's training request: a registry dataset, the seeds trained together in one
    process, diffusion steps, and the scale whose sizes (networks, episodes) apply."""

    dataset_id: str
    seeds: list[int]
    steps: int
    scale: Scale
    device: str = "cpu"
    progress: bool = True

    @property
    def task(self) -> str:
        from mdpt_lib.data.registry import get_dataset_spec

        return get_dataset_spec(self.dataset_id).task

    def fit(self, algo: str, dataset=None, **kwargs) -> list:
        """``fit`` of ``algo`` for every seed, at this run's sizes (``dataset``: other data)."""
        return fit(
            self.dataset_id if dataset is None else dataset,
            algo=algo,
            steps=self.steps,
            seed=list(self.seeds),
            device=self.device,
            progress=self.progress,
            **{**self.scale.hparams(algo), **kwargs},
        )


def train_with_curve(
    run: Run, algo: str, mode: str, eval_unguided: bool = False, **kwargs
) -> tuple[list, pd.DataFrame]:
    """Fit ``run.seeds`` agents, evaluating them ``run.scale.evaluations`` times along training
    (with ``eval_unguided`` also without their guidance at inference).

    Returns the agents and one row per (step, seed, inference) with the mean normalised score.
    """
    sc = run.scale
    if sc.guidance_steps is not None and get_mode(mode).pretrain:
        kwargs.setdefault("guidance_steps", sc.guidance_steps)
    agents = run.fit(
        algo,
        mode=mode,
        eval_every=max(1, run.steps // sc.evaluations),
        eval_episodes=sc.episodes,
        eval_unguided=eval_unguided,
        eval_max_steps=sc.max_episode_steps,
        **kwargs,
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
            # metres the robot's base moved forward, mean over episodes: tells walking from standing
            **({"distance": float(np.mean(row["distances"]))} if row.get("distances") else {}),
        }
        for agent in agents
        for row in agent.results["evals"]
    ]
    return agents, pd.DataFrame(rows)
