"""Committed results of longer runs (``results/<experiment>/``), ready to show beside a live run.

The notebooks run each experiment small enough to execute while the book builds. What the grid
runner (``python -m mdpt_lib.experiments``) made at a larger scale is committed under ``results/``;
:func:`precomputed` reads it back as the same tidy rows the live run produces, with a ``source``
label and the command that regenerates each job, so a table never mixes the two silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mdpt_lib.data.build import spec_file
from mdpt_lib.data.registry import get_dataset_spec
from mdpt_lib.experiments.grid import RESULTS, Job, load_results, run_command
from mdpt_lib.experiments.scales import get_scale

UNRECORDED = "not recorded"
"""The build of results made before job files recorded it."""


def command(job: Job | dict) -> str:
    """The command that (re)generates ``job``'s result file (it runs the job's whole dataset cell)."""
    job = Job(**{**job, "seeds": tuple(job["seeds"])}) if isinstance(job, dict) else job
    spec = get_dataset_spec(job.dataset)
    return run_command(
        job.experiment,
        job.scale,
        spec.task,
        spec.id_level,
        seeds_per_job=len(job.seeds),
        family=spec.family,
    )


@dataclass
class Precomputed:
    """The committed results of one experiment, optionally for one dataset."""

    experiment: str
    curves: pd.DataFrame  # one row per (algo, mode, dataset, seed, step, inference), as live runs
    costs: pd.DataFrame  # one row per job: its measured costs
    commands: list[str] = field(default_factory=list)
    commits: list[str] = field(default_factory=list)
    scales: dict[str, dict] = field(default_factory=dict)  # name -> the scale's fields, as run
    data_files: list[str] = field(default_factory=list)  # the builds the jobs trained on
    current_data_files: list[str] = field(default_factory=list)  # today's builds of those ids

    @property
    def empty(self) -> bool:
        return self.curves.empty

    @property
    def source(self) -> str:
        """The label every precomputed row carries, e.g. ``precomputed (long scale)``."""
        scales = sorted(set(self.curves["scale"])) if not self.empty else []
        return f"precomputed ({', '.join(scales)} scale)" if scales else "precomputed"

    def describe(self) -> str:
        if self.empty:
            lines = [f"no committed {self.experiment} results for this selection"]
            if self.commands:  # what would make them
                lines += ["make them with:", *(f"  {c}" for c in self.commands)]
            return "\n".join(lines)
        datasets = sorted(set(self.curves["dataset"]))
        seeds = self.curves.groupby(["algo", "mode"])["seed"].nunique().min()
        return "\n".join(
            [
                f"{self.source}: {len(self.costs)} jobs of {self.experiment} on {', '.join(datasets)}, "
                f"{seeds} seeds per condition, made at commit(s) {', '.join(self.commits)}",
                *(
                    f"{name} scale: {s['steps']} diffusion steps, {s['evaluations']} evaluations "
                    f"of {s['episodes']} episodes per seed, overrides {s['overrides'] or 'none'}"
                    for name, s in self.scales.items()
                ),
                *self._data_lines(),
                "regenerate with:",
                *(f"  {c}" for c in self.commands),
            ]
        )

    def _data_lines(self) -> list[str]:
        """Which builds the jobs trained on, and whether today's build of the data differs."""
        today = ", ".join(self.current_data_files)
        recorded = set(self.data_files) - {UNRECORDED}
        lines = [f"data: {', '.join(self.data_files)}"]
        if recorded - set(self.current_data_files):
            lines.append(f"today's build is {today}: the behaviour snapshots changed since")
        elif UNRECORDED in self.data_files:
            lines.append(f"today's build is {today}")
        return lines


def precomputed(
    experiment: str, dataset: str | None = None, folder: Path | None = None
) -> Precomputed:
    """Read the committed results of ``experiment`` (from ``results/`` by default).

    Only experiments with learning curves (``necessity``, ``guidance_first``) have ``curves``;
    ``dataset`` (a registry id) keeps the jobs trained on that data, under any of its names.
    """
    names = get_dataset_spec(dataset).aliases if dataset else None
    curves, costs, commands, commits, scales = [], [], [], [], {}
    data_files, current = set(), set()
    for r in load_results(experiment, folder or RESULTS / experiment):
        job = r["job"]
        if "curve" not in r or (names and job["dataset"] not in names):
            continue
        label = {"dataset": job["dataset"], "scale": job["scale"]}
        curves.append(pd.DataFrame(r["curve"]).assign(**label))
        scales[job["scale"]] = r["scale"]
        costs.append({"algo": job["algo"], "mode": job["mode"], **label, **r["measure"]})
        commands.append(command(job))
        commits.append(r["provenance"]["git_commit"][:10])
        data_files.add(r["provenance"].get("data_file", UNRECORDED))
        current.add(spec_file(job["dataset"], rows=r["scale"]["rows"]).name)
    frame = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()
    if not curves and dataset:  # nothing committed: the command that would make it, at `long`
        seeds = tuple(range(get_scale("long").seeds))
        commands = [command(Job(experiment, dataset, "", "", seeds, "long"))]
    return Precomputed(
        experiment,
        frame,
        pd.DataFrame(costs),
        sorted(set(commands)),
        sorted(set(commits)),
        scales,
        sorted(data_files),
        sorted(current),
    )
