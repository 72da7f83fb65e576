"""The public API: ``fit`` a diffusion policy with its guidance, ``act``, ``save`` and ``load`` it.

agent = mdpt_lib.fit("bullet-hopper-medium-v0", algo="dql", mode="guidance_first", steps=20_000)
actions = agent.act(observations)                       # (B, obs_dim) -> (B, act_dim), numpy
actions = agent.act(observations, guidance=other.guidance)   # any compatible guidance
agent.save("runs/dql.pt"); agent = mdpt_lib.load("runs/dql.pt")
"""

from __future__ import annotations

import numbers
from pathlib import Path

import numpy as np
import torch

from mdpt_lib.algos import get_algorithm
from mdpt_lib.ensemble import member, stack
from mdpt_lib.envs import MAX_EPISODE_STEPS, get_task
from mdpt_lib.guidance import Guidance, load_guidance, make_guidance
from mdpt_lib.modes import get_mode
from mdpt_lib.policy import DiffusionPolicy, SelectionStats
from mdpt_lib.replay import DataInfo, OfflineData, fingerprint
from mdpt_lib.train import RunSpec, Trainer

FORMAT_VERSION = 1


def resolve_device(device: str | torch.device) -> torch.device:
    """``device`` as a torch device, with a clear error when CUDA is asked for but missing."""
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device='cuda' was asked for but no CUDA GPU is available: use device='cpu'"
        )
    return device


class Agent:
    """One trained diffusion policy and the guidance it was trained with (single seed)."""

    def __init__(
        self, policy: DiffusionPolicy, guidance: Guidance, algo: str, results: dict | None = None
    ) -> None:
        if policy.ensemble != 1:
            raise ValueError(
                "an Agent holds one member; split ensembles with mdpt_lib.ensemble.member"
            )
        self.policy, self._guidance, self.algo = policy, guidance, algo
        self.results = results or {}

    @property
    def guidance(self) -> Guidance:
        """The guidance this agent was trained with (frozen copy semantics: do not train it here)."""
        return self._guidance

    @property
    def task(self) -> str:
        return self.policy.info.task

    @property
    def info(self) -> DataInfo:
        return self.policy.info

    @property
    def hp(self) -> dict:
        return self.policy.hp

    @property
    def device(self) -> torch.device:
        return self.policy.obs_mean.device

    def _resolve_guidance(self, guidance: Guidance | bool | None) -> Guidance | None:
        if guidance is None:
            return self._guidance
        if guidance is False:
            return None  # no guidance at inference: the first sampled candidate
        if not isinstance(guidance, Guidance):
            raise TypeError(
                f"guidance must be a Guidance, None (the agent's own) or False, got {type(guidance).__name__}"
            )
        if guidance.ensemble != 1:
            raise ValueError(
                "pass the guidance of a single agent (agent.guidance), not an ensemble"
            )
        guidance.check_compatible(self.info)
        return guidance.to(self.device)

    def act(
        self,
        observations: np.ndarray,
        guidance: Guidance | bool | None = None,
        generator: torch.Generator | None = None,
        candidates: int | None = None,
        stats: SelectionStats | None = None,
    ) -> np.ndarray:
        """Actions for raw observations (B, obs_dim) or (obs_dim,) -> (B, act_dim) or (act_dim,).

        ``guidance``: None = the agent's own; another agent's ``.guidance`` to swap; False = none
        (the first of the sampled candidates, i.e. a plain sample of the diffusion model).
        """
        obs = np.asarray(observations, dtype=np.float32)
        single = obs.ndim == 1
        obs = obs[None] if single else obs
        if obs.ndim != 2 or obs.shape[1] != self.info.obs_dim:
            raise ValueError(
                f"observations must be (B, {self.info.obs_dim}) for {self.task}, got {np.shape(observations)}"
            )
        if not np.isfinite(obs).all():
            bad = np.flatnonzero(~np.isfinite(obs).all(1)).tolist()
            raise ValueError(f"observations hold NaN or inf values in rows {bad[:10]}")
        g = self._resolve_guidance(guidance)
        if isinstance(guidance, Guidance) and (candidates or self.hp["candidates"]) == 1:
            raise ValueError(
                "a swapped guidance chooses among candidate actions, but this agent samples one "
                "per state (candidates=1), so the guidance would be ignored: pass candidates > 1"
            )
        x = torch.as_tensor(obs, device=self.device).unsqueeze(0)
        actions = self.policy.act(x, g, generator, candidates, stats)[0].cpu().numpy()
        return actions[0] if single else actions

    def save(self, path: str | Path, compact: bool = False) -> Path:
        """Save the agent. ``compact``: only what acting needs, the diffusion model's EMA copy and
        the guidance's target networks (what scores candidates) and value network, in float16
        (about a fifth of the full file, small enough to commit); a compact agent acts and swaps
        guidance like the full one, to float16 precision, but cannot train on: its live weights,
        online critics and training results are not kept."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        g = self._guidance
        policy_state, guidance_state = self.policy.state_dict(), g.state_dict()
        results = self.results
        if compact:
            policy_state = _half(self.policy, policy_state, lambda k: not k.startswith("model."))
            # the guidance scores with its target copies (as the references do): the online
            # networks that have one are dropped instead
            children = {name for name, _ in g.named_children()}
            guidance_state = _half(
                g, guidance_state, lambda k: f"{k.split('.')[0]}_target" not in children
            )
            results = {k: v for k, v in self.results.items() if k in ("seed", "spec")}
        torch.save(
            {
                "format": FORMAT_VERSION,
                "compact": compact,
                "algo": self.algo,
                "hp": self.hp,
                "info": self.info.to_dict(),
                "policy": policy_state,
                "results": results,
                "guidance": {
                    "kind": g.kind,
                    "ensemble": 1,
                    "hp": g.hp,
                    "info": g.info.to_dict(),
                    "frozen": g.frozen,
                    "compact": compact,
                    "state": guidance_state,
                },
            },
            path,
        )
        return path

    def __repr__(self) -> str:
        return f"Agent(algo={self.algo!r}, task={self.task!r}, dataset={self.info.dataset!r}, guidance={self._guidance.kind!r})"


def _half(module: torch.nn.Module, state: dict, keep) -> dict:
    """The entries of ``state`` whose key passes ``keep``, parameters cast to float16 (buffers,
    such as the diffusion schedule and the observation statistics, stay as they are)."""
    params = {name for name, _ in module.named_parameters()}
    return {k: v.half() if k in params else v for k, v in state.items() if keep(k)}


def load(path: str | Path, device: str = "cpu") -> Agent:
    """Load an agent saved by ``Agent.save`` (full or compact)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no saved agent there")
    try:
        blob = torch.load(path, map_location=resolve_device(device), weights_only=False)
    except Exception as exc:  # torch raises several types for a truncated or foreign file
        raise ValueError(
            f"{path}: not a readable saved agent (truncated or corrupt?): {exc}"
        ) from exc
    if not isinstance(blob, dict) or blob.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: not an mdpt_lib agent file of format {FORMAT_VERSION}")
    policy = DiffusionPolicy(1, DataInfo.from_dict(blob["info"]), blob["hp"], blob["algo"])
    policy = policy.to(device)
    state = blob["policy"]
    if blob.get("compact"):  # the live weights were not kept: they start as the EMA copy
        state = {**state, **{"model." + k[4:]: v for k, v in state.items() if k.startswith("ema.")}}
    policy.load_state_dict(state)
    guidance = load_guidance(path, device)
    return Agent(policy, guidance, blob["algo"], blob["results"])


def _resolve_data(dataset, task: str | None) -> tuple[dict, str, str, str | None]:
    """(transitions, task, dataset name, level) for a registry id or a dict of arrays."""
    from mdpt_lib.data.load import load_dataset
    from mdpt_lib.data.registry import get_dataset_spec

    if isinstance(dataset, str):
        spec = get_dataset_spec(dataset)
        return load_dataset(dataset), spec.task, spec.id, spec.level
    if not isinstance(dataset, dict):
        raise TypeError(
            f"dataset must be a registry id or a dict of arrays, got {type(dataset).__name__}"
        )
    # a dict needs no task: sizes come from its arrays; the task (evaluation, normalised scores)
    # is only known when given
    data = load_dataset(dataset, task=task)
    return (
        data,
        get_task(task).name if task is not None else None,
        f"dict:{fingerprint(data)}",
        None,
    )


def make_trainer(
    dataset,
    algo: str = "idql",
    mode: str | None = None,
    steps: int = 10_000,
    seed: int | list[int] = 0,
    guidance: Guidance | None = None,
    guidance_steps: int | None = None,
    guidance_from: int | None = None,
    unfreeze_guidance_at: int = 0,
    task: str | None = None,
    device: str = "cpu",
    eval_every: int = 0,
    eval_episodes: int = 10,
    eval_unguided: bool = False,
    eval_max_steps: int = MAX_EPISODE_STEPS,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 5000,
    **hparams,
) -> Trainer:
    """Everything ``fit`` sets up, without training: a ``Trainer`` (benchmarks step it directly)."""
    if guidance is not None and not isinstance(guidance, Guidance):
        raise TypeError(
            f"guidance= takes a trained guidance module (another agent's .guidance), got "
            f"{guidance!r}; to choose the kind of critic an algorithm trains, pass critic='iql' "
            "or critic='double_q'"
        )
    seeds = [seed] if isinstance(seed, int) else list(seed)
    if not seeds or not all(isinstance(s, int) for s in seeds):
        raise ValueError(f"seed must be an int or a non-empty list of ints, got {seed!r}")
    if not isinstance(steps, numbers.Integral) or steps <= 0:
        raise ValueError(f"steps must be a positive number of gradient steps, got {steps!r}")
    mode_obj = get_mode(mode or ("guidance_first" if guidance is not None else "joint"))
    if guidance is not None and mode_obj.guidance_trains:
        raise ValueError(
            f"a given guidance is used frozen; mode={mode_obj.name!r} would train it: "
            "use mode='guidance_first' (or leave mode out)"
        )
    if guidance_from is None:
        guidance_from = int(mode_obj.enters_at * steps)
    if mode_obj.enters_at > 0 and not 0 < guidance_from < steps:
        raise ValueError(f"{mode_obj.name} needs 0 < guidance_from < steps, got {guidance_from}")
    if unfreeze_guidance_at and (mode_obj.guidance_trains or not 0 < unfreeze_guidance_at < steps):
        raise ValueError(
            "unfreeze_guidance_at=K resumes a frozen guidance's training at diffusion step K: it "
            f"needs a mode that freezes it (guidance_first) and 0 < K < steps, got "
            f"mode={mode_obj.name!r}, K={unfreeze_guidance_at}"
        )
    device_t = resolve_device(device)
    data, task, name, level = _resolve_data(dataset, task)
    hp = get_algorithm(algo).hparams(task, level, **hparams)
    offline = OfflineData(data, task, name, hp.reward_scale, device_t, gamma=hp.gamma)
    E, hp_dict = len(seeds), hp.to_dict()

    # each member is initialised from its own seed, as if trained alone
    policies, guidances = [], []
    for s in seeds:
        torch.manual_seed(s)
        policies.append(DiffusionPolicy(1, offline.info, hp_dict, algo))
        if guidance is None:
            guidances.append(make_guidance(hp.critic, 1, offline.info, hp_dict))
    policy = stack(policies).to(device_t)
    if guidance is not None:
        guidance.check_compatible(offline.info)
        g = stack([guidance] * E).to(device_t).freeze()
    else:
        g = stack(guidances).to(device_t)
        if mode_obj.random_init:
            g.freeze()
    g_steps = guidance_steps if guidance_steps is not None else steps
    g_steps = g_steps if mode_obj.pretrain and guidance is None else 0
    spec = RunSpec(
        algo,
        mode_obj.name,
        steps,
        int(g_steps),
        int(guidance_from),
        seeds,
        name,
        hp_dict,
        eval_every,
        eval_episodes,
        unfreeze_at=int(unfreeze_guidance_at),
    )

    def evaluate_members(policy_e, guidance_e, step):
        from mdpt_lib.evaluation import evaluate

        rows = []
        for k, s in enumerate(seeds):
            agent = Agent(member(policy_e, k), member(guidance_e, k), algo)
            for inference in ("guided", "unguided") if eval_unguided else ("guided",):
                res = evaluate(
                    agent,
                    episodes=eval_episodes,
                    seed=10_000 * (s + 1) + step,
                    guidance=None if inference == "guided" else False,
                    max_steps=eval_max_steps,
                )
                rows.append(
                    {
                        "step": step,
                        "seed": s,
                        "inference": inference,
                        "mean_score": res.mean_score,
                        **res.to_dict(),
                    }
                )
        return rows

    return Trainer(
        spec,
        mode_obj,
        offline,
        policy,
        g,
        checkpoint,
        checkpoint_every,
        evaluate_members if eval_every else None,
    )


def fit(
    dataset,
    algo: str = "idql",
    mode: str | None = None,
    steps: int = 10_000,
    seed: int | list[int] = 0,
    guidance: Guidance | None = None,
    progress: bool = True,
    **kwargs,
) -> Agent | list[Agent]:
    """Train a diffusion policy with its guidance on ``dataset``; return the agent (one per seed).

    - ``dataset``: a registry id (``mdpt_lib.data.DATASETS``) or a dict of D4RL-convention arrays
      of any observation and action sizes (actions in [-1, 1]); ``task=`` names the environment
      of such data when it is one of ``mdpt_lib.envs.TASKS`` (needed only to evaluate it).
    - ``algo``: "idql", "dql" or "cfg" (the literal classifier-free variant).
    - ``mode``: see ``mdpt_lib.modes`` (default "joint", or "guidance_first" when ``guidance`` is
      given: a given guidance is used frozen and stage 1 is skipped).
    - ``steps``: diffusion-model gradient steps; ``guidance_steps=``: stage-1 steps of
      guidance_first (default ``steps``); ``guidance_from=``: step at which the guidance enters the
      actor's loss (default: the mode's, half-way for delayed_guidance);
      ``unfreeze_guidance_at=``: stage-2 step at which guidance_first's frozen guidance trains again
      (the paper code's variant; 0 = frozen throughout).
    - ``seed``: an int, or a list of seeds trained together in one process (one agent per seed).
    - ``eval_every=``: evaluate every member every that many steps (``eval_episodes=`` episodes,
      cut at ``eval_max_steps=``; with ``eval_unguided=True`` also without guidance at inference),
      stored in ``agent.results["evals"]``; ``checkpoint=``: a file to save to and resume from
      (every ``checkpoint_every=`` steps); ``device=``: "cpu" (default) or "cuda".
    - any other keyword: a hyperparameter of ``mdpt_lib.config.HParams`` overriding the default.
    """
    trainer = make_trainer(dataset, algo, mode, steps, seed, guidance, **kwargs)
    results = trainer.run(progress=progress)
    agents = []
    for k, s in enumerate(trainer.spec.seeds):
        res = {
            "spec": trainer.spec.__dict__,
            "seed": s,
            "measure": results["measure"],
            "resumed": results.get("resumed", []),
            "wall_seconds": results["wall_seconds"],  # training and evaluations, all sessions
            "eval_seconds": results.get("eval_seconds", 0.0),
            "checkpoint_seconds": results.get("checkpoint_seconds", 0.0),
            "log": results["log"],
            "evals": [r for r in results["evals"] if r["seed"] == s],
        }
        agents.append(
            Agent(member(trainer.policy, k), member(trainer.guidance, k).freeze(), algo, res)
        )
    return agents[0] if isinstance(seed, int) else agents
