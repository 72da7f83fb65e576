"""The committed replay-buffer snapshot's format (``mixed.npz``): D4RL-convention transitions with
``next_observations`` kept only at episode ends, where it is not the next row's observation."""

from __future__ import annotations

import numpy as np


def compress_buffer(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Drop ``next_observations`` wherever it equals the next row's observation (inside an episode).

    The last row is marked a time-out when it is neither terminal nor one already: a buffer cut
    mid-episode ends in a truncation, as D4RL marks it.
    """
    arrays = dict(arrays)
    timeouts = arrays["timeouts"].copy()
    if not (arrays["terminals"][-1] or timeouts[-1]):
        timeouts[-1] = True
    arrays["timeouts"] = timeouts
    ends = arrays["terminals"] | timeouts
    next_obs = arrays.pop("next_observations")
    arrays["end_next_observations"] = next_obs[ends]
    return arrays


def expand_buffer(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Inverse of ``compress_buffer``: rebuild ``next_observations``."""
    out = {k: v for k, v in arrays.items() if k != "end_next_observations"}
    ends = out["terminals"] | out["timeouts"]
    next_obs = np.empty_like(out["observations"])
    next_obs[:-1] = out["observations"][1:]
    next_obs[ends] = arrays["end_next_observations"]
    out["next_observations"] = next_obs
    return out
