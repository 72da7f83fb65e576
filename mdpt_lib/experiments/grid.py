"""Experiment grids as independent jobs, each writing its own result file.

A job is one cell of an experiment's protocol (dataset x algorithm x condition x group of seeds).
``run_job`` trains it, writes ``<out>/<job id>.json`` atomically (config, seeds, scores at every
evaluation, wall time, costs, git commit, package versions) and returns the path; a job whose file
exists is finished and is skipped, so an interrupted grid loses at most the jobs in flight.
``python -m mdpt_lib.experiments`` runs a grid through Ray.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, replace
from importlib import metadata
from pathlib import Path

from mdpt_lib.data.paths import RESULTS, cache_dir
from mdpt_lib.data.registry import dataset_id
from mdpt_lib.experiments.scales import get_scale
from mdpt_lib.provenance import git_commit, utc_stamp

EXPERIMENTS = ("necessity", "guidance_first", "transfer", "learning")
PAPER_TASKS = ("hopper", "halfcheetah", "walker2d")
PAPER_LEVELS = ("medium", "medium-replay", "medium-expert", "expert")
PACKAGES = ("torch", "numpy", "gymnasium", "pybullet", "pybullet_envs_gymnasium", "mdpt_lib")


@dataclass(frozen=True)
class Job:
    experiment: str
    dataset: str  # registry id
    algo: str  # "idql" | "dql" | "both" (transfer trains both)
    mode: str  # a training mode, or "all" for transfer
    seeds: tuple[int, ...]
    scale: str

    @property
    def cell(self) -> tuple[str, str, str, str, str]:
        """What the job trains apart from its seeds: files of one cell pool their seeds."""
        return (self.experiment, self.dataset, self.algo, self.mode, self.scale)

    @property
    def id(self) -> str:
        seeds = "-".join(map(str, self.seeds))
        return f"{self.dataset}__{self.algo}__{self.mode}__seeds{seeds}__{self.scale}"


def jobs(
    experiment: str,
    scale: str,
    tasks=PAPER_TASKS,
    levels=PAPER_LEVELS,
    seeds_per_job: int = 1,
    algos: tuple[str, ...] | None = None,
    modes: tuple[str, ...] | None = None,
    family: str = "d4rl",
) -> list[Job]:
    """The protocol of ``experiment`` at ``scale`` as a list of jobs (``scale.seeds`` seeds each cell).

    ``algos`` and ``modes`` keep only the cells of those algorithms and conditions (default: all);
    ``family`` names the datasets: D4RL's ids (the paper's) or d4rl-pybullet's.
    """
    from mdpt_lib.algos import PAPER_ALGOS
    from mdpt_lib.experiments import guidance_first, learning, necessity

    sc = get_scale(scale)
    if experiment not in EXPERIMENTS:
        raise ValueError(
            f"unknown experiment {experiment!r}: valid ones are {', '.join(EXPERIMENTS)}"
        )
    # transfer swaps guidance between the seeds of one job: all of a cell's seeds train together
    size = sc.seeds if experiment == "transfer" else seeds_per_job
    groups = [tuple(range(i, min(i + size, sc.seeds))) for i in range(0, sc.seeds, size)]
    cells = {
        "necessity": necessity.grid_cells(),
        "guidance_first": [(a, m) for a in PAPER_ALGOS for m in guidance_first.MODES],
        "transfer": [("both", "all")],
        "learning": learning.grid_cells(),
    }[experiment]
    unknown = sorted(set(modes or ()) - {m for _, m in cells})
    if unknown:
        raise ValueError(
            f"{experiment} has no condition {unknown}: its conditions are "
            f"{', '.join(dict.fromkeys(m for _, m in cells))}"
        )
    # seeds vary slowest: a partly run grid holds every condition for its first seeds
    return [
        Job(experiment, dataset_id(t, lv, family), a, m, g, scale)
        for g in groups
        for t in tasks
        for lv in levels
        for a, m in cells
        if (algos is None or a in algos) and (modes is None or m in modes)
    ]


def covered_seeds(out: Path) -> dict[tuple, set[int]]:
    """Per job ``cell``, the seeds that some result file in ``out`` already holds."""
    covered: dict[tuple, set[int]] = {}
    for path in Path(out).glob("*.json"):
        job = json.loads(path.read_text())["job"]
        covered.setdefault(Job(**{**job, "seeds": ()}).cell, set()).update(job["seeds"])
    return covered


def remaining(
    grid: list[Job], out: Path, seeds: list[int] | None = None, covered: dict | None = None
) -> list[Job]:
    """The jobs of ``grid`` still to run, each cut to the seeds no result file in ``out`` holds yet
    (``covered``: ``covered_seeds(out)``, read once by a caller that asks many times) and to
    ``seeds``, if given: a seed trained in a job of another grouping (``--seeds-per-job``) is not
    trained again. Transfer jobs swap guidance between their seeds, so they run whole."""
    covered = covered_seeds(out) if covered is None else covered
    todo = []
    for j in grid:
        if j.experiment == "transfer":
            if not (Path(out) / f"{j.id}.json").exists() and (
                seeds is None or set(j.seeds) & set(seeds)
            ):
                todo.append(j)
            continue
        done = covered.get(j.cell, set())
        left = tuple(s for s in j.seeds if s not in done and (seeds is None or s in seeds))
        if left:
            todo.append(replace(j, seeds=left))
    return todo


def run_command(
    experiment: str,
    scale: str,
    tasks: str | list[str],
    levels: str | list[str],
    algos: str | list[str] = (),
    modes: str | list[str] = (),
    seeds_per_job: int | None = None,
    seeds: list[int] = (),
    cpus: int | None = None,
    family: str = "d4rl",
) -> str:
    """The ``python -m mdpt_lib.experiments run`` command line that trains these cells (empty
    ``algos`` / ``modes`` / ``seeds``: the runner's defaults, all of them)."""

    def words(v: str | list) -> str:
        return v if isinstance(v, str) else " ".join(map(str, v))

    parts = [
        f"python -m mdpt_lib.experiments run {experiment} --scale {scale}",
        f"--tasks {words(tasks)} --levels {words(levels)}",
    ]
    parts += [f"--family {family}"] if family != "d4rl" else []
    parts += [f"--algos {words(algos)}"] if algos else []
    parts += [f"--modes {words(modes)}"] if modes else []
    parts += [f"--seeds-per-job {seeds_per_job}"] if seeds_per_job else []
    parts += [f"--seeds {words(seeds)}"] if seeds else []
    parts += [f"--cpus {cpus}"] if cpus else []
    return " ".join(parts)


def write_result(path: Path, result: dict) -> None:
    """Write a result file atomically (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    os.replace(tmp, path)


def dataset_level(dataset: str, data: dict | None = None) -> dict:
    """The data's own level: mean undiscounted episode return and its normalised score (``data``:
    the dataset's arrays when already loaded)."""
    from mdpt_lib.data.load import load_dataset
    from mdpt_lib.data.registry import get_dataset_spec
    from mdpt_lib.envs import normalized_score
    from mdpt_lib.replay import episode_returns

    returns = episode_returns(data if data is not None else load_dataset(dataset))
    task = get_dataset_spec(dataset).task
    return {
        "episodes": len(returns),
        "mean_return": float(returns.mean()),
        "mean_score": float(normalized_score(task, returns.mean())),
    }


WIDE_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
"""CPU flags that decide matmul speed (and whether bf16 pays), recorded with every timing."""


def cpu_model() -> str:
    """The CPU's model name with family/model numbers and its wide-vector flags (``/proc/cpuinfo``).

    A virtual machine often reports only "AMD EPYC": the family (25 = Zen 3/4, 26 = Zen 5) and the
    flags tell the kinds apart.
    """
    try:
        info: dict[str, str] = {}
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
            if not line.strip():
                break
        flags = [f for f in WIDE_FLAGS if f in info.get("flags", "").split()]
        return (
            f"{info.get('model name', 'unknown')} (family {info.get('cpu family', '?')}, model "
            f"{info.get('model', '?')}; {' '.join(flags) or 'no avx2'})"
        )
    except OSError:
        return platform.processor() or "unknown"


def gemm_gflops(n: int = 512, seconds: float = 0.5) -> float:
    """This process's fp32 matmul throughput (its torch threads) in GFLOP/s: the ceiling that a
    job's speed is a share of, measured in the same run."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        reps += 1
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e9


def provenance() -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "git_commit": git_commit(),
        "packages": versions,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "written": utc_stamp(),
    }


def run_job(job: Job, out: Path, device: str = "cpu", threads: int = 1) -> Path:
    """Train one job and write its result file (skipped when the file exists)."""
    import torch

    from mdpt_lib.data.build import spec_file
    from mdpt_lib.data.load import data_fingerprint, load_dataset
    from mdpt_lib.experiments import transfer
    from mdpt_lib.experiments.curves import Run, train_with_curve
    from mdpt_lib.train import seconds_before_this_session

    path = Path(out) / f"{job.id}.json"
    if path.exists():
        return path
    torch.set_num_threads(threads)
    sc = get_scale(job.scale)
    origin = provenance()  # the commit the job starts from
    origin["gemm_fp32_gflops"] = gemm_gflops()  # this worker's ceiling, at the job's start
    start = time.perf_counter()
    seeds = list(job.seeds)
    # the build's name carries a digest of the behaviour snapshots it is made from
    origin["data_file"] = spec_file(job.dataset, rows=sc.rows).name
    # ... but not its content: rolled-out data differs between the machines that build it
    data = load_dataset(job.dataset, verbose=False)
    origin["data"] = data_fingerprint(data)
    level = dataset_level(job.dataset, data)
    del data  # training loads its own copy
    result: dict = {"job": asdict(job), "scale": asdict(sc)}
    earlier = 0.0  # wall seconds of earlier sessions, for a job resumed from a checkpoint
    request = Run(job.dataset, seeds, sc.steps, sc, device, progress=False)
    if job.experiment == "transfer":
        df = transfer.run(request)
        result["episodes"] = df.to_dict(orient="records")
    else:
        # a checkpoint in the cache lets an interrupted job continue mid-way in a later run
        ckpt = cache_dir() / "experiments" / f"{job.experiment}__{job.id}.ckpt"
        agents, curve = train_with_curve(
            request,
            job.algo,
            job.mode,
            eval_unguided=job.experiment in ("necessity", "learning"),
            checkpoint=ckpt,
            checkpoint_every=1000,
        )
        result["curve"] = curve.to_dict(orient="records")
        # the trained agents, for analyses after the job (diagnostics, swaps): in the cache, not
        # committed (``load_job_agents``)
        for agent in agents:
            agent.save(agents_dir() / f"{job.id}__seed{agent.results['seed']}.pt")
        # training losses and critic values every log_every steps (critic diagnostics)
        result["log"] = agents[0].results["log"]
        result["measure"] = agents[0].results["measure"]
        result["resumed"] = agents[0].results["resumed"]  # (stage, step) of each continuation
        result["train_wall_seconds"] = agents[0].results["wall_seconds"]  # over all sessions
        earlier = seconds_before_this_session(agents[0].results)
        result["eval_wall_seconds"] = agents[0].results.get("eval_seconds", 0.0)
        result["checkpoint_wall_seconds"] = agents[0].results.get("checkpoint_seconds", 0.0)
        result["dataset_level"] = level
        if job.experiment == "learning" and trained_guidance(job.mode):
            from mdpt_lib.experiments.learning import evaluate_variants

            result["selection_variants"] = evaluate_variants(agents, sc.steps, sc.episodes)
    # all sessions: the earlier ones' recorded time (a resumed job) plus this one's
    result["session_wall_seconds"] = time.perf_counter() - start
    result["wall_seconds"] = result["session_wall_seconds"] + earlier
    result["provenance"] = {**origin, "written": utc_stamp()}
    write_result(path, result)
    if job.experiment != "transfer":
        ckpt.unlink(missing_ok=True)  # the result file now stands for the finished job
    return path


def trained_guidance(mode: str) -> bool:
    """Does ``mode`` end with a trained guidance (its selection rules are worth comparing)?"""
    from mdpt_lib.modes import get_mode

    return not get_mode(mode).random_init


def agents_dir() -> Path:
    """Where finished jobs leave their trained agents (``$MDPT_DATA_DIR/agents``)."""
    return cache_dir() / "agents"


KEPT_AGENTS = RESULTS / "agents"
"""Compact copies (float16, acting only) of trained agents, committed so that analyses after the
job (the transfer study's swaps) run on any machine (``python -m mdpt_lib.experiments keep``)."""


def load_job_agents(job_id: str, folders: tuple[Path, ...] | None = None) -> list:
    """The trained agents of a finished job (one per seed, in seed order): the full ones this
    machine's cache holds, else the compact copies committed under ``results/agents``."""
    from mdpt_lib.agent import load

    folders = folders or (agents_dir(), KEPT_AGENTS)
    for folder in folders:
        paths = sorted(Path(folder).glob(f"{job_id}__seed*.pt"))
        if paths:
            return [load(p) for p in paths]
    raise FileNotFoundError(
        f"no trained agents of {job_id} in {' or '.join(map(str, folders))}: full agents stay "
        "on the machine that ran the job (keep them with `python -m mdpt_lib.experiments keep`); "
        "else rerun the job (delete its result file)"
    )


def load_cell_agents(
    dataset: str,
    algo: str,
    mode: str,
    scale: str,
    seeds,
    folders: tuple[Path, ...] | None = None,
    missing_ok: bool = False,
) -> list:
    """The trained agents of one condition (``dataset``, ``algo``, ``mode``, ``scale``) for
    ``seeds``, in that order, whichever jobs trained them (full agents of the cache first, then the
    copies kept under ``results/agents``); a seed with no agent anywhere is an error that says so,
    unless ``missing_ok`` (then only the seeds found are returned)."""
    from mdpt_lib.agent import load

    folders = folders or (agents_dir(), KEPT_AGENTS)
    agents, missing = [], []
    for seed in seeds:
        pattern = f"{dataset}__{algo}__{mode}__seeds*__{scale}__seed{seed}.pt"
        paths = [p for folder in folders for p in sorted(Path(folder).glob(pattern))]
        if paths:
            agents.append(load(paths[0]))
        else:
            missing.append(seed)
    if missing and not missing_ok:
        raise FileNotFoundError(
            f"no trained agent of {algo} {mode} on {dataset} at scale {scale} for seeds {missing} "
            f"in {' or '.join(map(str, folders))}: train them (python -m mdpt_lib.experiments run "
            "learning ...) on this machine, or keep them where they were trained "
            "(python -m mdpt_lib.experiments keep ...) and commit results/agents"
        )
    return agents


def keep_agents(job_id: str, source: Path | None = None, target: Path | None = None) -> list[Path]:
    """Save compact copies of a finished job's cached agents in ``target`` (``results/agents``);
    agents already kept are left as they are. Returns the paths written."""
    from mdpt_lib.agent import load

    target = Path(target or KEPT_AGENTS)
    written = []
    for path in sorted(Path(source or agents_dir()).glob(f"{job_id}__seed*.pt")):
        kept = target / path.name
        if not kept.exists():
            load(path).save(kept, compact=True)
            written.append(kept)
    return written


def load_results(experiment: str, folder: Path | None = None) -> list[dict]:
    """Every finished job's result of ``experiment`` (from ``results/`` by default)."""
    folder = Path(folder or RESULTS / experiment)
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
