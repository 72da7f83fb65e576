"""Soft Actor-Critic, CleanRL style, for the behaviour policies that generate the bullet datasets.

The recipe is d4rl-pybullet's, as its code ran when its datasets were made (June 2020): 256-256 ReLU
actor and twin critics, Adam lr 1e-3 (its default until August 2020, then 3e-4), batch 100, gamma 0.99,
Polyak tau 0.005, one gradient update per environment step, learned temperature starting at 1 with
target entropy ``-act_dim``, log-std clamped to [-20, 2]. Actions are ``tanh`` of a Gaussian; the
deterministic action is ``tanh(mean)``.

Losses (``d`` = terminal, never a time-out):
    critic:      (Q_i(s,a) - [r + gamma (1-d) (min_j Q'_j(s',a') - alpha log pi(a'|s'))])^2,  a' ~ pi(s')
    actor:       alpha log pi(a~|s) - min_j Q_j(s, a~),                                       a~ ~ pi(s)
    temperature: -log(alpha) (log pi(a~|s) + target_entropy)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mdpt_lib.data.policies import LOG_STD_MAX, LOG_STD_MIN
from mdpt_lib.nets import EnsembleMLP


@dataclass
class SACConfig:
    hidden: int = 256
    lr: float = 1e-3  # d4rl-pybullet's when its datasets were made; 3e-4 made our first snapshots
    batch_size: int = 100
    gamma: float = 0.99
    tau: float = 0.005
    learning_starts: int = 1000  # steps of the initial actor before the first update
    buffer_size: int = 2_000_000


class Actor(nn.Module):
    """Tanh-Gaussian policy: obs (B, obs_dim) -> action (B, act_dim) in [-1, 1]."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.fc1 = nn.Linear(obs_dim, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.mean = nn.Linear(hidden, act_dim)
        self.log_std = nn.Linear(hidden, act_dim)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.fc2(F.relu(self.fc1(obs))))
        return self.mean(h), self.log_std(h).clamp(LOG_STD_MIN, LOG_STD_MAX)

    def sample(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reparameterised sample and its log-probability (B,) under the tanh-squashed Gaussian."""
        mean, log_std = self(obs)
        std = log_std.exp()
        pre_tanh = mean + std * torch.randn_like(mean)
        action = torch.tanh(pre_tanh)
        gauss = -0.5 * ((pre_tanh - mean) / std) ** 2 - log_std - 0.5 * np.log(2 * np.pi)
        # log |d tanh(u)/du| = log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)), stable form
        log_det = 2 * (np.log(2) - pre_tanh - F.softplus(-2 * pre_tanh))
        log_prob = (gauss - log_det).sum(-1)
        return action, log_prob

    def to_numpy(self) -> dict[str, np.ndarray]:
        """Weights as float32 arrays laid out for ``x @ W + b`` (see ``policies.NumpyActor``)."""
        out = {}
        for name in ("fc1", "fc2", "mean", "log_std"):
            layer = getattr(self, name)
            out[f"{name}.W"] = layer.weight.detach().cpu().numpy().T.astype(np.float32).copy()
            out[f"{name}.b"] = layer.bias.detach().cpu().numpy().astype(np.float32).copy()
        return out


class ReplayBuffer:
    """Transitions in preallocated numpy arrays, in insertion order (the order is the dataset's)."""

    def __init__(self, obs_dim: int, act_dim: int, size: int) -> None:
        self.obs = np.zeros((size, obs_dim), np.float32)
        self.next_obs = np.zeros((size, obs_dim), np.float32)
        self.actions = np.zeros((size, act_dim), np.float32)
        self.rewards = np.zeros(size, np.float32)
        self.terminals = np.zeros(size, bool)
        self.timeouts = np.zeros(size, bool)
        self.n = 0

    def add(self, obs, action, reward, next_obs, terminal, timeout) -> None:
        i = self.n
        if i >= len(self.rewards):
            raise RuntimeError(f"replay buffer full ({i} transitions); raise SACConfig.buffer_size")
        self.obs[i], self.actions[i], self.rewards[i] = obs, action, reward
        self.next_obs[i], self.terminals[i], self.timeouts[i] = next_obs, terminal, timeout
        self.n += 1

    def sample(self, rng: np.random.Generator, batch: int) -> tuple[torch.Tensor, ...]:
        idx = rng.integers(0, self.n, size=batch)
        return tuple(
            torch.from_numpy(a[idx]).float()
            for a in (self.obs, self.actions, self.rewards, self.next_obs, self.terminals)
        )

    def state(self) -> dict[str, np.ndarray]:
        """The filled part, as D4RL-convention arrays (copies)."""
        n = self.n
        return {
            "observations": self.obs[:n].copy(),
            "actions": self.actions[:n].copy(),
            "rewards": self.rewards[:n].copy(),
            "next_observations": self.next_obs[:n].copy(),
            "terminals": self.terminals[:n].copy(),
            "timeouts": self.timeouts[:n].copy(),
        }

    def load(self, arrays: dict[str, np.ndarray]) -> None:
        n = len(arrays["rewards"])
        self.obs[:n], self.actions[:n] = arrays["observations"], arrays["actions"]
        self.rewards[:n], self.next_obs[:n] = arrays["rewards"], arrays["next_observations"]
        self.terminals[:n], self.timeouts[:n] = arrays["terminals"], arrays["timeouts"]
        self.n = n


class SAC:
    """Actor, twin critics with targets, temperature, and their optimisers."""

    def __init__(self, obs_dim: int, act_dim: int, cfg: SACConfig, seed: int) -> None:
        torch.manual_seed(seed)
        self.cfg = cfg
        self.actor = Actor(obs_dim, act_dim, cfg.hidden)
        self.critic = EnsembleMLP(2, obs_dim + act_dim, 1, cfg.hidden)
        self.critic_target = EnsembleMLP(2, obs_dim + act_dim, 1, cfg.hidden)
        self.critic_target.load_state_dict(self.critic.state_dict())
        self.critic_target.requires_grad_(False)
        self.log_alpha = torch.zeros((), requires_grad=True)
        self.target_entropy = -float(act_dim)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg.lr)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.lr)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=cfg.lr)

    @torch.no_grad()
    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        x = torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0)
        if deterministic:
            return torch.tanh(self.actor(x)[0])[0].numpy()
        return self.actor.sample(x)[0][0].numpy()

    def update(self, obs, actions, rewards, next_obs, terminals) -> dict[str, float]:
        alpha = self.log_alpha.exp().detach()
        with torch.no_grad():
            next_a, next_logp = self.actor.sample(next_obs)
            q_next = self.critic_target(torch.cat([next_obs, next_a], -1)).min(0).values.squeeze(-1)
            target = rewards + self.cfg.gamma * (1 - terminals) * (q_next - alpha * next_logp)
        q = self.critic(torch.cat([obs, actions], -1)).squeeze(-1)  # (2, B)
        critic_loss = F.mse_loss(q, target.expand_as(q)) * 2  # sum over the two critics
        self.critic_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_opt.step()

        new_a, logp = self.actor.sample(obs)
        self.critic.requires_grad_(False)
        q_pi = self.critic(torch.cat([obs, new_a], -1)).min(0).values.squeeze(-1)
        self.critic.requires_grad_(True)
        actor_loss = (alpha * logp - q_pi).mean()
        self.actor_opt.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.actor_opt.step()

        alpha_loss = -(self.log_alpha * (logp.detach() + self.target_entropy)).mean()
        self.alpha_opt.zero_grad(set_to_none=True)
        alpha_loss.backward()
        self.alpha_opt.step()

        with torch.no_grad():
            for p, tp in zip(
                self.critic.parameters(), self.critic_target.parameters(), strict=True
            ):
                tp.lerp_(p, self.cfg.tau)
        return {"critic_loss": critic_loss.item(), "alpha": alpha.item()}

    def state_dict(self) -> dict:
        return {
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "critic_target": self.critic_target.state_dict(),
            "log_alpha": self.log_alpha.detach().clone(),
            "actor_opt": self.actor_opt.state_dict(),
            "critic_opt": self.critic_opt.state_dict(),
            "alpha_opt": self.alpha_opt.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        self.critic_target.load_state_dict(state["critic_target"])
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
        self.alpha_opt.load_state_dict(state["alpha_opt"])
