"""Behaviour policies: one resumable SAC run per task whose snapshots generate every dataset level.

    python -m mdpt_recipe train-behaviour --task all           # resumes where it stopped

One run per task; its snapshots:
- ``random``: the freshly initialised actor (saved before any update).
- ``mixed`` (= ``medium-replay``): the replay buffer at the first training episode whose return reaches
  d4rl-pybullet's target (``MEDIUM_TARGET_RETURN``), as d4rl-pybullet made it.
- ``medium``: the first snapshot whose deterministic mean return (5 episodes, checked every
  ``check_every`` steps and at that first target episode) lies within ``MEDIUM_WINDOW`` of
  d4rl-pybullet's published medium mean. d4rl-pybullet used the actor of the target episode; the
  deterministic actor often reaches medium level earlier or later than a stochastic episode does,
  and the dataset is its deterministic rollouts, so we select on what the dataset will contain.
- ``expert``: training continues until the deterministic mean return (10 episodes, confirmed over 20
  more) lies within ``EXPERT_WINDOW`` of D4RL's expert reference return (tighter than the ±15%
  acceptance, for margin).

The state (networks, optimisers, replay buffer, random generators, counters) is checkpointed to the
cache every ``checkpoint_every`` steps, atomically; an interrupted run continues from the last
checkpoint (the episode in progress restarts). Snapshots that the datasets need are written as small
``.npz`` files to ``out_dir/<task>/`` with ``provenance.json`` (command, seed, commit, wall time).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from mdpt_lib.data.buffer import compress_buffer
from mdpt_lib.data.paths import SNAPSHOT_FILES, behaviour_dir, cache_dir
from mdpt_lib.data.registry import EXPERT_TOLERANCE, MEDIUM_TARGET_RETURN, PUBLISHED
from mdpt_lib.envs import get_task, make_env
from mdpt_lib.provenance import git_commit, utc_stamp
from mdpt_recipe.sac import SAC, ReplayBuffer, SACConfig

BEHAVIOUR_SEED = {"hopper": 1, "halfcheetah": 0, "walker2d": 0, "ant": 1}
"""The seed of each task's behaviour SAC run under the recipe (``train-behaviour`` trains or resumes
this one): the lowest seed whose ``mixed`` buffer came within a factor 2 of the original's
(``python -m mdpt_recipe seeds``, committed as ``results/data/seed_study.json``), rows counted in
the original's layout (``mdpt_lib.data.registry.mixed_rows_ok``). Every task's committed snapshots
come from this run (their ``provenance.json`` says so)."""

MEDIUM_WINDOW = 0.20
EXPERT_WINDOW = 0.10
assert EXPERT_WINDOW < EXPERT_TOLERANCE


def _atomic_torch_save(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _atomic_npz(path: Path, compressed: bool = False, **arrays: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp.npz")
    (np.savez_compressed if compressed else np.savez)(tmp, **arrays)
    os.replace(tmp, path)


def evaluate_deterministic(sac: SAC, task: str, episodes: int, seed: int) -> np.ndarray:
    """Returns of ``episodes`` episodes of the deterministic actor ``tanh(mean)``."""
    env = make_env(task)
    returns = []
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        total, done = 0.0, False
        while not done:
            obs, r, term, trunc, _ = env.step(sac.act(obs, deterministic=True))
            total += float(r)
            done = term or trunc
        returns.append(total)
    env.close()
    return np.asarray(returns)


def state_name(task: str, seed: int, cfg: SACConfig) -> str:
    """The cache file of a run's state: ``<task>-seed<S>.pt``, plus ``-lr<lr>`` off the default lr."""
    lr = "" if cfg.lr == SACConfig.lr else f"-lr{cfg.lr:g}"
    return f"{task}-seed{seed}{lr}.pt"


class BehaviourRun:
    """The SAC run of one task; ``run(until)`` trains until the snapshots of ``until`` exist."""

    def __init__(
        self,
        task: str,
        seed: int = 0,
        out_dir: Path | None = None,
        cfg: SACConfig | None = None,
        check_every: int = 2500,
        checkpoint_every: int = 25_000,
    ) -> None:
        self.task = get_task(task)
        self.seed = seed
        self.cfg = cfg or SACConfig()
        self.out = Path(out_dir or behaviour_dir()) / self.task.name
        self.state_path = cache_dir() / "sac" / state_name(self.task.name, seed, self.cfg)
        self.check_every = check_every
        self.checkpoint_every = checkpoint_every
        self.sac = SAC(self.task.obs_dim, self.task.act_dim, self.cfg, seed)
        self.buffer = ReplayBuffer(self.task.obs_dim, self.task.act_dim, self.cfg.buffer_size)
        self.rng = np.random.default_rng(seed)
        self.step = 0
        self.episodes = 0
        self.wall = 0.0  # seconds spent training, summed over resumed sessions
        self.found: set[str] = set()  # snapshots written so far: mixed, medium, expert
        self.log: list[dict] = []

    # --- persistence ----------------------------------------------------------------------------
    def save(self) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_torch_save(
            {
                "sac": self.sac.state_dict(),
                "buffer": self.buffer.state(),
                "rng": self.rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
                "step": self.step,
                "episodes": self.episodes,
                "wall": self.wall,
                "found": sorted(self.found),
                "log": self.log,
                "cfg": vars(self.cfg),
            },
            self.state_path,
        )
        self._write_progress()

    def _write_progress(self) -> None:
        """A small committed record of how far the run got (read by ``python -m mdpt_recipe stats``)."""
        self.out.mkdir(parents=True, exist_ok=True)
        checks = [row for row in self.log if "check" in row][-6:]
        episodes = [row["episode_return"] for row in self.log if "episode_return" in row][-20:]
        progress = {
            "env_steps": self.step,
            "episodes": self.episodes,
            "wall_seconds": round(self.wall, 1),
            "found": sorted(self.found),
            "last_checks": checks,
            "last_episode_returns_mean": round(float(np.mean(episodes)), 1) if episodes else None,
        }
        (self.out / "progress.json").write_text(json.dumps(progress, indent=2) + "\n")

    def try_resume(self) -> bool:
        if not self.state_path.exists():
            return False
        state = torch.load(self.state_path, weights_only=False)
        if state["cfg"] != vars(self.cfg):
            raise ValueError(
                f"{self.state_path} was trained with {state['cfg']}, not {vars(self.cfg)}: "
                "resume it with its own settings, or delete it to start again"
            )
        self.sac.load_state_dict(state["sac"])
        self.buffer.load(state["buffer"])
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        self.step, self.episodes, self.wall = state["step"], state["episodes"], state["wall"]
        # a snapshot written after the last commit of a checkout that is gone must be found again
        self.found = {n for n in state["found"] if (self.out / SNAPSHOT_FILES[n]).exists()}
        self.log = state["log"]
        return True

    def write_snapshot(self, level: str, returns: np.ndarray | None = None) -> None:
        """Write the current actor as ``<level>_actor.npz`` and record its provenance."""
        self.out.mkdir(parents=True, exist_ok=True)
        _atomic_npz(self.out / f"{level}_actor.npz", **self.sac.actor.to_numpy())
        self._record(level, returns)

    def _record(self, level: str, returns: np.ndarray | None) -> None:
        """Add ``level`` to ``provenance.json``: command, seed, commit, steps, wall time."""
        prov_path = self.out / "provenance.json"
        prov = json.loads(prov_path.read_text()) if prov_path.exists() else {}
        prov[level] = {
            "command": "python -m mdpt_recipe " + " ".join(sys.argv[1:]),
            "seed": self.seed,
            "git_commit": git_commit(),
            "env_steps": self.step,
            "episodes": self.episodes,
            "wall_seconds": round(self.wall, 1),
            "torch": torch.__version__,
            "sac_config": vars(self.cfg),
            "deterministic_returns": None
            if returns is None
            else [round(float(r), 1) for r in returns],
            "written": utc_stamp(),
        }
        prov_path.write_text(json.dumps(prov, indent=2) + "\n")

    # --- phase checks ---------------------------------------------------------------------------
    def found_mixed(self) -> None:
        """The first training episode reached the target return: the buffer becomes ``mixed``."""
        self.out.mkdir(parents=True, exist_ok=True)
        _atomic_npz(self.out / "mixed.npz", compressed=True, **compress_buffer(self.buffer.state()))
        self._record("mixed", None)
        self.found.add("mixed")
        self._tick()
        self.save()

    def check_medium(self) -> None:
        """5 deterministic episodes; if their mean is in the window, 20 more must confirm it.

        Five episodes alone chose a walker2d actor that falls often: its 1M-step dataset averaged
        774 against the 941 of its five episodes. The confirmation costs little beside SAC.
        """
        name = self.task.name
        goal = PUBLISHED[(name, "medium")].mean
        returns = evaluate_deterministic(self.sac, name, 5, seed=10_000 + self.step)
        if abs(returns.mean() - goal) <= MEDIUM_WINDOW * abs(goal):
            more = evaluate_deterministic(self.sac, name, 20, seed=30_000 + self.step)
            returns = np.concatenate([returns, more])
        self.log.append({"step": self.step, "check": "medium", "mean": float(returns.mean())})
        if len(returns) > 5 and abs(returns.mean() - goal) <= MEDIUM_WINDOW * abs(goal):
            self.write_snapshot("medium", returns)
            self.found.add("medium")

    def reselect(self, level: str, reason: str) -> None:
        """Drop the ``level`` snapshot so that training selects it again under the current rule.

        The dropped entry and ``reason`` stay in ``provenance.json`` under ``reselected``.
        """
        if level not in ("medium", "expert"):
            raise ValueError(f"only medium or expert can be selected again, not {level!r}")
        prov_path = self.out / "provenance.json"
        prov = json.loads(prov_path.read_text()) if prov_path.exists() else {}
        dropped = prov.pop(level, None)
        prov.setdefault("reselected", []).append(
            {"level": level, "at_step": self.step, "reason": reason, "dropped": dropped}
        )
        prov_path.write_text(json.dumps(prov, indent=2) + "\n")
        (self.out / SNAPSHOT_FILES[level]).unlink(missing_ok=True)
        self.found.discard(level)

    def check_expert(self) -> None:
        """10 deterministic episodes; if their mean is in the window, 20 more must confirm it.

        Ten episodes alone chose a walker2d actor (lr 1e-3, 105k steps) that falls now and then:
        its 1M-step dataset averaged 1316 against the 1519 of its ten episodes.
        """
        goal = self.task.expert_return
        returns = evaluate_deterministic(self.sac, self.task.name, 10, seed=20_000 + self.step)
        if abs(returns.mean() - goal) <= EXPERT_WINDOW * abs(goal):
            more = evaluate_deterministic(self.sac, self.task.name, 20, seed=40_000 + self.step)
            returns = np.concatenate([returns, more])
        self.log.append({"step": self.step, "check": "expert", "mean": float(returns.mean())})
        if len(returns) > 10 and abs(returns.mean() - goal) <= EXPERT_WINDOW * abs(goal):
            self.write_snapshot("expert", returns)
            self.found.add("expert")

    # --- the loop -------------------------------------------------------------------------------
    def run(self, until: str = "expert", max_steps: int = 3_000_000, progress: bool = True) -> str:
        """Train until the snapshots of ``until`` exist ("medium": medium and mixed; "expert": all).

        Returns the snapshots found, comma-separated. Interrupting loses at most ``checkpoint_every``
        steps: the state is saved only at checkpoints and when a snapshot is written.
        """
        goal = {"medium", "mixed"} if until == "medium" else {"medium", "mixed", "expert"}
        if self.try_resume():
            if self.buffer.n and not (
                self.buffer.terminals[self.buffer.n - 1] or self.buffer.timeouts[self.buffer.n - 1]
            ):
                self.buffer.timeouts[self.buffer.n - 1] = (
                    True  # the episode cut by the interruption
                )
        else:
            self.write_snapshot("random")
        env = make_env(self.task.name)
        obs, _ = env.reset(seed=self.seed * 1_000_003 + self.episodes)
        ep_return, next_check = 0.0, (self.step // self.check_every + 1) * self.check_every
        bar = tqdm(
            total=max_steps,
            initial=self.step,
            desc=f"SAC {self.task.name}",
            disable=not progress,
            mininterval=10,
            unit="step",
        )
        self._clock = time.perf_counter()
        try:
            while not goal <= self.found and self.step < max_steps:
                action = self.sac.act(obs)
                next_obs, reward, term, trunc, _ = env.step(action)
                self.buffer.add(obs, action, reward, next_obs, term, trunc and not term)
                ep_return += float(reward)
                self.step += 1
                obs = next_obs
                if self.step >= self.cfg.learning_starts:
                    self.sac.update(*self.buffer.sample(self.rng, self.cfg.batch_size))
                check = self.step >= next_check
                if term or trunc:
                    self.episodes += 1
                    self.log.append({"step": self.step, "episode_return": ep_return})
                    bar.set_postfix(
                        found=",".join(sorted(self.found)) or "-",
                        ep_return=f"{ep_return:.0f}",
                        refresh=False,
                    )
                    if (
                        "mixed" not in self.found
                        and ep_return >= MEDIUM_TARGET_RETURN[self.task.name]
                    ):
                        self.found_mixed()
                        check = True
                    obs, _ = env.reset(seed=self.seed * 1_000_003 + self.episodes)
                    ep_return = 0.0
                if check:
                    next_check = (self.step // self.check_every + 1) * self.check_every
                    self._tick()
                    found = set(self.found)
                    if "medium" not in self.found:
                        self.check_medium()
                    elif "mixed" in self.found and "expert" in goal:
                        self.check_expert()
                    if self.found != found:  # a snapshot was written: save the state with it
                        self._tick()
                        self.save()
                if self.step % self.checkpoint_every == 0:
                    self._tick()
                    self.save()
                bar.update(1)
        finally:
            bar.close()
            env.close()
        if self.step >= max_steps:
            self._tick()
            self.save()
        return ",".join(sorted(self.found))

    def _tick(self) -> None:
        """Add the time since the last tick to the run's wall time."""
        now = time.perf_counter()
        self.wall += now - self._clock
        self._clock = now
