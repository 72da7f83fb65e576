"""The bullet datasets: registry of ids (both families), local building, loading.

from mdpt_lib.data import DATASETS, load_dataset
data = load_dataset("bullet-hopper-medium-replay-v0")
"""

from mdpt_lib.data.registry import (
    DATASETS,
    LEVELS,
    UnknownDatasetError,
    dataset_id,
    get_dataset_spec,
)

__all__ = [
    "DATASETS",
    "LEVELS",
    "UnknownDatasetError",
    "dataset_id",
    "get_dataset_spec",
    "load_dataset",
]


def __getattr__(name: str):
    if name == "load_dataset":  # imports h5py: loaded on first use
        from mdpt_lib.data.load import load_dataset

        return load_dataset
    raise AttributeError(f"module 'mdpt_lib.data' has no attribute {name!r}")
