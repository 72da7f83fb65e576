"""The one training loop. The mode (``mdpt_lib.modes``) is data; every condition runs through here.

    stage 1 (guidance_first only): the guidance trains alone for ``guidance_steps``, then freezes
    stage 2: for each of ``steps`` diffusion steps:
                 if the guidance trains:   one guidance step (TD / IQL losses)
                 one actor step, with the guidance in its loss if the mode says so at this step

Several seeds train together as one ensemble (every tensor has a leading member dimension), so one
Python-level step serves all of them; each member draws its random numbers from its own generator
(``mdpt_lib.rng``), so its numbers are those of its seed trained alone. A checkpoint holds everything the next step depends on
(weights, optimisers, counters, random generators), so a resumed run gives the same numbers as an
uninterrupted one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from mdpt_lib.guidance.base import Guidance
from mdpt_lib.measure import COUNTS, PeakMemory, StepTimer, training_state_bytes
from mdpt_lib.modes import Mode
from mdpt_lib.nets import mish_in_use, use_fast_mish_for
from mdpt_lib.policy import DiffusionPolicy
from mdpt_lib.replay import OfflineData
from mdpt_lib.rng import MemberRNG


@dataclass
class RunSpec:
    """Everything that defines a run (its fingerprint decides whether a checkpoint can resume it)."""

    algo: str
    mode: str
    steps: int
    guidance_steps: int
    guidance_from: int
    seeds: list[int]
    dataset: str
    hp: dict
    eval_every: int = 0
    eval_episodes: int = 10
    log_every: int = 100
    unfreeze_at: int = 0  # stage-2 step at which a frozen guidance resumes training (0 = never)

    def fingerprint(self) -> str:
        return hashlib.sha1(
            json.dumps(self.__dict__, sort_keys=True, default=str).encode()
        ).hexdigest()[:16]


@contextlib.contextmanager
def no_param_grads(module: torch.nn.Module) -> Iterator[None]:
    """Let gradients flow through ``module`` to its inputs without computing its parameters' grads."""
    flags = [(p, p.requires_grad) for p in module.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


class Trainer:
    """Runs one ``RunSpec`` on ``data`` with an ensemble ``policy`` and ``guidance`` (one member per seed)."""

    def __init__(
        self,
        spec: RunSpec,
        mode: Mode,
        data: OfflineData,
        policy: DiffusionPolicy,
        guidance: Guidance,
        checkpoint: str | Path | None = None,
        checkpoint_every: int = 5000,
        evaluate: Callable[[DiffusionPolicy, Guidance, int], list[dict]] | None = None,
    ) -> None:
        self.spec, self.mode, self.data = spec, mode, data
        self.policy, self.guidance = policy, guidance
        self.E = len(spec.seeds)
        self.hp = spec.hp
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.checkpoint_every = checkpoint_every
        self.evaluate = evaluate
        self.rng = MemberRNG(spec.seeds, data.device)
        self.stage, self.step = (1 if mode.pretrain and spec.guidance_steps > 0 else 2), 0
        self.results: dict = {"log": [], "evals": [], "measure": {}}
        self._timers = {1: StepTimer(), 2: StepTimer()}
        self._peaks = {1: 0, 2: 0}
        policy.setup_training(spec.steps)
        if not guidance.frozen:
            total = spec.guidance_steps if mode.pretrain else spec.steps
            guidance.setup_training(total, self.hp["critic_lr"])

    # --- one step of each kind -----------------------------------------------------------------
    def guidance_step(self) -> dict:
        """Stage 1: one gradient step of the guidance alone."""
        batch = self.data.sample(self.hp["batch_size"], self.rng)
        with self._precision():
            return self._guidance_step(batch)

    def diffusion_step(self) -> dict:
        """Stage 2: a guidance step if it still trains, then one step of the diffusion actor."""
        batch = self.data.sample(self.hp["batch_size"], self.rng)
        if self.spec.unfreeze_at and self.step == self.spec.unfreeze_at and self.guidance.frozen:
            # the paper code's variant: the pretrained critic trains again for the remaining steps
            self.guidance.unfreeze()
            self.guidance.setup_training(self.spec.steps - self.step, self.hp["critic_lr"])
        unfrozen = self.spec.unfreeze_at and self.step >= self.spec.unfreeze_at
        trains = (self.mode.guidance_trains or unfrozen) and not self.guidance.frozen
        with self._precision():
            logs = self._guidance_step(batch) if trains else {}
            return logs | self._actor_step(batch)

    def _precision(self) -> contextlib.AbstractContextManager:
        """bfloat16 autocast of the step's matrix products when ``precision="bf16"``, else nothing."""
        bf16 = self.hp.get("precision", "fp32") == "bf16"
        return torch.autocast(self.data.device.type, dtype=torch.bfloat16, enabled=bf16)

    def _guidance_step(self, batch: dict) -> dict:
        next_actions = None
        if self.guidance.needs_next_actions:
            # a' ~ pi_ema(s') at the training noise scale (x_T ~ N(0, td_noise_scale^2))
            next_actions = self.policy.sample(
                batch["next_obs"], 1, init_noise_scale=self.hp["td_noise_scale"], rng=self.rng
            )[:, :, 0]
        logs = self.guidance.update(batch, next_actions, self.hp["lr_decay"], self.hp["grad_clip"])
        logs["mc_return"] = batch["mc_return"].mean().item()
        if (self.step + 1) % self.spec.log_every == 0:  # per seed, at logged steps (a diagnostic)
            with torch.no_grad():
                q = self.guidance.q_values(batch["obs"], batch["actions"]).mean((1, 2))
            logs["q_data_by_seed"] = q.tolist()
            logs["mc_return_by_seed"] = batch["mc_return"].mean(1).tolist()
        return logs

    def _actor_step(self, batch: dict) -> dict:
        use = self.mode.in_actor_loss and self.step >= self.spec.guidance_from
        # at logged steps, also the size of each loss term's gradient (a diagnostic)
        measure = (self.step + 1) % self.spec.log_every == 0
        with no_param_grads(self.guidance):
            return self.policy.update(batch, self.guidance if use else None, self.rng, measure)

    # --- the loop ------------------------------------------------------------------------------
    def run(self, progress: bool = True) -> dict:
        # the C++ Mish only where its build pays (MDPT_MISH=auto); recorded with the measurements
        use_fast_mish_for(self.spec.steps + self.spec.guidance_steps)
        self._maybe_resume()
        self._clock = time.perf_counter()
        if self.stage == 1:
            self._run_stage(1, self.spec.guidance_steps, self.guidance_step, progress)
            self.guidance.freeze()
            self.stage, self.step = 2, 0
            self._save()
        if self.stage == 2:
            self._run_stage(2, self.spec.steps, self.diffusion_step, progress)
            self.stage = 3
            self._save()
        self.results["measure"] = self._measurements()
        self._tick()
        return self.results

    def _run_stage(self, stage: int, total: int, step: Callable[[], dict], progress: bool) -> None:
        """Steps of one stage (1: the guidance alone, 2: diffusion) from ``self.step`` to ``total``."""
        desc = "guidance (stage 1)" if stage == 1 else "diffusion (stage 2)"
        with (
            tqdm(
                total=total, initial=self.step, desc=desc, disable=not progress, mininterval=1
            ) as bar,
            PeakMemory(self.data.device) as mem,
        ):
            while self.step < total:
                with self._timers[stage].step(self.step):
                    logs = step()
                self.step += 1
                self._after_step(logs, bar, mem)
        self._peaks[stage] = max(self._peaks[stage], mem.peak_bytes)

    def _tick(self) -> None:
        """Add the time since the last tick to ``results["wall_seconds"]`` (summed over sessions)."""
        now = time.perf_counter()
        self.results["wall_seconds"] = self.results.get("wall_seconds", 0.0) + now - self._clock
        self._clock = now

    def _after_step(self, logs: dict, bar: tqdm, mem: PeakMemory) -> None:
        bar.update(1)
        COUNTS["train_steps"] += self.E
        if self.step % self.spec.log_every == 0:
            self.results["log"].append({"stage": self.stage, "step": self.step, **logs})
            scalars = {k: v for k, v in logs.items() if isinstance(v, float)}
            bar.set_postfix({k: f"{v:.3g}" for k, v in scalars.items()}, refresh=False)
        if (
            self.stage == 2
            and self.evaluate
            and self.spec.eval_every
            and (self.step % self.spec.eval_every == 0 or self.step == self.spec.steps)
        ):
            start = time.perf_counter()
            with mem.paused(), torch.random.fork_rng():
                for row in self.evaluate(self.policy, self.guidance, self.step):
                    self.results["evals"].append(row)
            self._add_seconds("eval_seconds", start)
        if self.checkpoint and self.step % self.checkpoint_every == 0:
            start = time.perf_counter()
            with mem.paused():
                self._save()
            self._add_seconds("checkpoint_seconds", start)

    def _add_seconds(self, key: str, start: float) -> None:
        """Add the time since ``start`` to ``results[key]`` (where a job's wall time goes)."""
        self.results[key] = self.results.get(key, 0.0) + time.perf_counter() - start

    # --- measurements --------------------------------------------------------------------------
    def _measurements(self) -> dict:
        mb = 1 / 2**20
        g_trained = self.mode.guidance_trains and not self.mode.random_init
        policy_trained = [self.policy.model]
        policy_used = [self.policy.ema]
        guidance_nets = [
            m for name, m in self.guidance.named_children() if not name.endswith("target")
        ]
        guidance_targets = [
            m for name, m in self.guidance.named_children() if name.endswith("target")
        ]
        out = {
            "seeds_in_process": self.E,
            "device": str(self.data.device),
            "diffusion_steps": self.spec.steps,
            "guidance_steps": self.spec.guidance_steps if self.mode.pretrain else 0,
            "diffusion_step_seconds": self._timers[2].per_step(),
            "mish": mish_in_use() if self.data.device.type == "cpu" else "aten",
            "stage2_peak_mb": self._peaks[2] * mb,
            "stage2_train_state_mb": training_state_bytes(
                policy_trained + (guidance_nets if g_trained else []),
                policy_used + guidance_targets + ([] if g_trained else guidance_nets),
            )
            * mb,
        }
        if self.mode.pretrain:
            out |= {
                "guidance_step_seconds": self._timers[1].per_step(),
                "stage1_peak_mb": self._peaks[1] * mb,
                "stage1_train_state_mb": training_state_bytes(
                    guidance_nets,
                    guidance_targets
                    + ([self.policy.ema] if self.guidance.needs_next_actions else []),
                )
                * mb,
            }
        return out

    # --- checkpoints ---------------------------------------------------------------------------
    def _state(self) -> dict:
        return {
            "fingerprint": self.spec.fingerprint(),
            "stage": self.stage,
            "step": self.step,
            "policy": self.policy.state_dict(),
            "policy_opt": self.policy.optimizer.state_dict(),
            "policy_updates": self.policy.updates,
            "guidance": self.guidance.state_dict(),
            "guidance_frozen": self.guidance.frozen,
            "guidance_opts": [o.state_dict() for o in self.guidance.optimizers],
            "guidance_updates": getattr(self.guidance, "updates", 0),
            "generators": self.rng.get_state(),
            "torch_rng": torch.get_rng_state(),
            "results": self.results,
            "timers": {k: (t.seconds, t.steps) for k, t in self._timers.items()},
            "peaks": self._peaks,
        }

    def _save(self) -> None:
        if not self.checkpoint:
            return
        self.checkpoint.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.checkpoint.with_name(self.checkpoint.name + ".tmp")
        self._tick()
        torch.save(self._state(), tmp)
        os.replace(tmp, self.checkpoint)

    def _maybe_resume(self) -> None:
        if not (self.checkpoint and self.checkpoint.exists()):
            return
        state = torch.load(self.checkpoint, weights_only=False)
        if state["fingerprint"] != self.spec.fingerprint():
            raise ValueError(
                f"checkpoint {self.checkpoint} belongs to another run configuration: delete it, or "
                "pass another checkpoint path, to start this run"
            )
        self.stage, self.step = state["stage"], state["step"]
        self.policy.load_state_dict(state["policy"])
        self.policy.optimizer.load_state_dict(state["policy_opt"])
        self.policy.updates = state["policy_updates"]
        self.guidance.load_state_dict(state["guidance"])
        if state["guidance_frozen"]:
            self.guidance.freeze()
        else:
            if self.guidance.frozen or not self.guidance.optimizers:  # unfrozen since the start
                self.guidance.unfreeze()
                self.guidance.setup_training(
                    self.spec.steps - self.spec.unfreeze_at, self.hp["critic_lr"]
                )
            for opt, s in zip(self.guidance.optimizers, state["guidance_opts"], strict=True):
                opt.load_state_dict(s)
            self.guidance.updates = state["guidance_updates"]
        self.rng.set_state(state["generators"])
        torch.set_rng_state(state["torch_rng"])
        self.results = state["results"]
        # where this run continued from a checkpoint (result files show their interruptions)
        # (and the wall time recorded up to it: the work of the sessions before this one)
        self.results.setdefault("resumed", []).append(
            {
                "stage": self.stage,
                "step": self.step,
                "wall_seconds": self.results.get("wall_seconds", 0.0),
            }
        )
        for k, (seconds, steps) in state["timers"].items():
            self._timers[k].seconds, self._timers[k].steps = seconds, steps
        self._peaks = state["peaks"]


def seconds_before_this_session(results: dict) -> float:
    """Wall seconds a resumed run had recorded at its last checkpoint, in earlier sessions (0 for a
    run that never resumed): a job's total time is this plus the time of the session that ends it."""
    resumed = results.get("resumed") or []
    return resumed[-1].get("wall_seconds", 0.0) if resumed else 0.0
