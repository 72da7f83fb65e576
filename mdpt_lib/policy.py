"""The diffusion policy: a DDPM of actions given states, its EMA sampling copy, training and acting.

The actor's loss is its algorithm's (``mdpt_lib.algos``: IDQL's behaviour cloning, Diffusion-QL's
behaviour cloning plus Q term, the classifier-free variant's labelled behaviour cloning).
Acting: draw N candidates per state from the EMA model, score them with a guidance, and keep
the argmax of the score (``selection="argmax"``, IDQL's authors) or one drawn from
softmax(beta * score) (``selection="softmax"``; beta and score are the guidance's); without
guidance, the first candidate.

Randomness in training comes from per-member generators (``mdpt_lib.rng``): member k of an
ensemble trains exactly as its seed would alone.
"""

from __future__ import annotations

import copy

import torch
from torch.nn import functional as F

from mdpt_lib.algos import get_algorithm
from mdpt_lib.diffusion import DiffusionModel, cosine_lr
from mdpt_lib.ensemble import EnsembleModule, clip_grad_norm_per_member
from mdpt_lib.guidance.base import Guidance
from mdpt_lib.replay import DataInfo
from mdpt_lib.rng import MemberRNG


def selection_probabilities(scores: torch.Tensor, beta: float) -> torch.Tensor:
    """softmax(beta * scores) over the last axis (the candidates): (..., N) -> (..., N)."""
    return F.softmax(beta * scores, dim=-1)


class SelectionStats:
    """Running means of what candidate selection did: effective candidates and score spread.

    The effective number of candidates of a state is 1 / sum_i p_i^2 for p = softmax(beta * score)
    over its N candidates (N when p is uniform, 1 when one candidate takes all the mass); it is
    measured at the guidance's ``select_beta`` whichever rule picks the action.
    """

    def __init__(self) -> None:
        self.states, self.eff_sum, self.spread_sum = 0, 0.0, 0.0

    def add(self, probs: torch.Tensor, scores: torch.Tensor) -> None:
        """probs, scores: (states, N)."""
        self.states += probs.shape[0]
        self.eff_sum += (1 / probs.pow(2).sum(-1)).sum().item()
        self.spread_sum += (scores.max(-1).values - scores.min(-1).values).sum().item()

    def to_dict(self) -> dict:
        n = max(self.states, 1)
        return {"eff_candidates": self.eff_sum / n, "score_spread": self.spread_sum / n}


class DiffusionPolicy(EnsembleModule):
    extra_attributes = ("info",)

    def __init__(self, ensemble: int, info: DataInfo, hp: dict, algo: str) -> None:
        super().__init__()
        self.init_args = {"ensemble": ensemble, "info": info, "hp": hp, "algo": algo}
        self.info, self.hp = info, hp
        self.algorithm = get_algorithm(algo)
        self.register_buffer("obs_mean", torch.as_tensor(info.obs_mean))
        self.register_buffer("obs_std", torch.as_tensor(info.obs_std))
        self.model = DiffusionModel(
            ensemble,
            info.obs_dim,
            info.act_dim,
            hp["net"],
            hp["hidden"],
            hp["dropout"],
            hp["T"],
            hp["beta_min"],
            hp["beta_max"],
            conditional=self.algorithm.conditional(hp),
        )
        self.ema = copy.deepcopy(self.model).requires_grad_(False)

    def normalize(self, obs: torch.Tensor) -> torch.Tensor:
        return (obs - self.obs_mean) / self.obs_std

    # --- training ------------------------------------------------------------------------------
    def setup_training(self, total_steps: int) -> None:
        decay = self.hp.get("actor_weight_decay", 0.0)
        params = self.model.parameters()
        if decay > 0:
            self.optimizer = torch.optim.AdamW(params, lr=self.hp["lr"], weight_decay=decay)
        else:
            self.optimizer = torch.optim.Adam(params, lr=self.hp["lr"])
        self.total_steps, self.updates = total_steps, 0

    def loss(
        self, batch: dict, guidance: Guidance | None, rng: MemberRNG | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None, dict]:
        """Actor loss terms per member, as the algorithm writes them (``mdpt_lib.algos``):
        (L_bc (E,), the guidance's term (E,) or None, logs); ``guidance=None``: none in the loss."""
        return self.algorithm.actor_loss(self, batch, guidance, rng)

    def update(
        self,
        batch: dict,
        guidance: Guidance | None = None,
        rng: MemberRNG | None = None,
        measure: bool = False,
    ) -> dict:
        """One gradient step of the diffusion model, then the EMA copy.

        ``measure``: also log the gradient norm of each loss term (``grad_bc``, ``grad_q``: mean
        over members), to see whether the Q term moves the actor at all.
        """
        if self.hp["lr_decay"]:
            for group in self.optimizer.param_groups:
                group["lr"] = self.hp["lr"] * cosine_lr(self.updates, self.total_steps)
        bc, q_term, logs = self.loss(batch, guidance, rng)
        loss = bc.sum() if q_term is None else (bc + q_term).sum()
        if measure and q_term is not None:
            logs |= self._term_grad_norms(bc, q_term)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.hp["grad_clip"] > 0:
            params = list(self.model.parameters())
            clip_grad_norm_per_member(params, self.ensemble, self.hp["grad_clip"])
        self.optimizer.step()
        self.updates += 1
        self._update_ema()
        return logs

    def _term_grad_norms(self, bc: torch.Tensor, q_term: torch.Tensor) -> dict:
        """Per-member gradient norms of L_bc and eta * L_q over the actor's weights, averaged."""
        params = list(self.model.parameters())
        out = {}
        for name, term in (("grad_bc", bc), ("grad_q", q_term)):
            grads = torch.autograd.grad(term.sum(), params, retain_graph=True, allow_unused=True)
            sq = sum(g.reshape(self.ensemble, -1).pow(2).sum(1) for g in grads if g is not None)
            out[name] = sq.sqrt().mean().item()
        return out

    @torch.no_grad()
    def _update_ema(self) -> None:
        """EMA of the weights: it stays at the initialisation before ``actor_ema_start`` (as in
        official Diffusion-QL and CleanDiffuser), then moves every ``actor_ema_every`` updates.

        ``actor_ema_copy_before_start`` (ours, for short demonstration runs) copies the live weights
        before the start instead. With ``actor_ema_warmup`` the decay ramps up as
        min(decay, (1 + k) / (10 + k)) over the k-th EMA update (ours): IDQL's 0.9999 would otherwise
        keep the EMA near the random initialisation for the first ~10k steps.
        """
        if self.updates < self.hp["actor_ema_start"]:
            if self.hp["actor_ema_copy_before_start"]:
                self.ema.load_state_dict(self.model.state_dict())
        elif self.updates % self.hp["actor_ema_every"] == 0:
            decay = self.hp["actor_ema"]
            if self.hp["actor_ema_warmup"]:
                k = (self.updates - self.hp["actor_ema_start"]) // self.hp["actor_ema_every"]
                decay = min(decay, (1 + k) / (10 + k))
            for p, ep in zip(self.model.parameters(), self.ema.parameters(), strict=True):
                ep.lerp_(p, 1 - decay)

    # --- sampling ------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(
        self,
        obs: torch.Tensor,
        n: int = 1,
        cfg_weight: float | None = None,
        init_noise_scale: float | None = None,
        rng: MemberRNG | None = None,
    ) -> torch.Tensor:
        """Candidates: raw obs (E, B, obs) -> actions (E, B, n, act).

        ``cfg_weight`` (default: the trained one) mixes label-conditioned and unconditioned noise
        predictions of a classifier-free model; 0 samples the unconditioned model.
        ``init_noise_scale`` (default: the inference one, ``hp["init_noise_scale"]``) scales x_T.
        """
        E, B, D = obs.shape
        s = self.normalize(obs).unsqueeze(2).expand(E, B, n, D).reshape(E, B * n, D)
        model = self.ema
        model.eval()
        w = self.hp["cfg_weight"] if cfg_weight is None else cfg_weight
        scale = self.hp["init_noise_scale"] if init_noise_scale is None else init_noise_scale
        a = model.sample(s, scale, w, rng=rng)
        model.train()
        return a.view(E, B, n, -1)

    @torch.no_grad()
    def act(
        self,
        obs: torch.Tensor,
        guidance: Guidance | None,
        generator: torch.Generator | None = None,
        candidates: int | None = None,
        stats: SelectionStats | None = None,
    ) -> torch.Tensor:
        """Chosen actions: raw obs (E, B, obs) -> (E, B, act), ``candidates`` per state.

        ``guidance=None`` means no guidance at inference: one plain sample (and, for a
        classifier-free model, the unconditioned one). The rule (``selection``) and temperature
        (``select_beta``) are the guidance's hyperparameters; ``stats`` collects what selection did.
        """
        bf16 = self.hp.get("inference_precision", "fp32") == "bf16"
        autocast = torch.autocast(obs.device.type, dtype=torch.bfloat16, enabled=bf16)
        if guidance is None:
            with autocast:
                return self.sample(obs, 1, cfg_weight=0.0)[:, :, 0].float()
        n = candidates or self.hp["candidates"]
        with autocast:
            cand = self.sample(obs, n).float()  # (E, B, n, act)
        if n == 1:
            return cand[:, :, 0]
        E, B, _, A = cand.shape
        obs_rep = obs.unsqueeze(2).expand(E, B, n, obs.shape[-1]).reshape(E, B * n, -1)
        scores = guidance.score(obs_rep, cand.reshape(E, B * n, A)).view(E * B, n)
        probs = selection_probabilities(scores, guidance.hp["select_beta"])
        if stats is not None:
            stats.add(probs, scores)
        rule = guidance.hp.get("selection", "softmax")
        if rule == "argmax":
            idx = scores.argmax(-1).view(E, B)
        else:
            idx = torch.multinomial(probs, 1, generator=generator).view(E, B)
        return torch.gather(cand, 2, idx[..., None, None].expand(E, B, 1, A)).squeeze(2)
