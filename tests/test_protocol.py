"""The decisive protocol's bill, on synthetic result files and kept agents."""

import json

import pytest

from mdpt_lib.experiments import protocol

HOPPER = "bullet-hopper-medium-replay-v0"


def write(folder, algo, scale, mode, seed, wall):
    job = {"dataset": HOPPER, "algo": algo, "mode": mode, "seeds": [seed], "scale": scale}
    name = f"{HOPPER}__{algo}__{mode}__seeds{seed}__{scale}.json"
    (folder / name).write_text(json.dumps({"job": job, "wall_seconds": wall}))


def test_the_bill_counts_seeds_agents_and_the_measured_cost(tmp_path):
    results, agents = tmp_path / "learning", tmp_path / "agents"
    results.mkdir(), agents.mkdir()
    for seed in range(5):
        write(results, "idql", "learn", "joint", seed, wall=3600.0)
    write(results, "idql", "learn", "guidance_first", 0, wall=7200.0)
    write(results, "idql", "learn", "guidance_first", 9, wall=7200.0)  # beyond the protocol's seeds
    write(results, "dql", "learn_eta05", "joint", 0, wall=1800.0)
    for seed in (3, 4):
        (agents / f"{HOPPER}__idql__joint__seeds{seed}__learn__seed{seed}.pt").write_bytes(b"")

    table = protocol.progress(results, agents).set_index(["dataset", "algo", "scale", "mode"])
    joint = table.loc[(HOPPER, "idql", "learn", "joint")]
    assert joint.seeds_done == [0, 1, 2, 3, 4] and joint.seeds_left == []
    assert joint.agents_kept == [3, 4] and joint.agents_to_retrain == [0, 1, 2]
    assert joint.core_h_left == pytest.approx(3 * 1.0)  # three agents to train again, 1 h each
    assert "transfer" in joint.findings and joint.command == ""

    gf = table.loc[(HOPPER, "idql", "learn", "guidance_first")]
    assert gf.seeds_done == [0] and gf.seeds_left == [1, 2, 3, 4]
    assert gf.core_h_left == pytest.approx(4 * 2.0)
    assert gf.command.endswith("--modes guidance_first --seeds-per-job 1 --seeds 1 2 3 4 --cpus 1")

    # no file of the mode: the mean over the files of the same algorithm and scale stands in
    random = table.loc[(HOPPER, "dql", "learn_eta05", "random_guidance")]
    assert random.seeds_left == [0, 1, 2, 3, 4] and random.core_h_per_seed == pytest.approx(0.5)
    assert (HOPPER, "idql", "learn", "random_guidance") not in table.index  # read at inference
    summary = protocol.summary(table.reset_index())
    assert f"1 of {len(table)} protocol cells" in summary and "4 joint agents" in summary


def test_every_finding_task_and_condition_is_a_cell():
    cells = protocol.cells()
    halfcheetah = cells[cells.dataset == "bullet-halfcheetah-medium-replay-v0"]
    assert set(halfcheetah["mode"]) == {"joint", "guidance_first"}  # guidance-first only there
    hopper = cells[cells.dataset == HOPPER]
    assert {"no_guidance", "delayed_guidance", "random_guidance", "guidance_first"} <= set(
        hopper["mode"]
    )
    assert not cells.duplicated(["dataset", "algo", "scale", "mode"]).any()


def test_job_times_replaces_the_readme_table_and_names_the_cpu(tmp_path):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "scripts" / "job_times.py"
    spec = importlib.util.spec_from_file_location("job_times", path)
    job_times = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job_times)
    assert job_times.short_cpu("AMD EPYC (family 26, model 2; avx2 avx512f)") == "AMD EPYC f26 m2"
    assert job_times.short_cpu("Intel(R) Xeon(R) Processor (family 6, model 167; amx_bf16)") == (
        "Intel Xeon f6 m167"
    )
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n\n{job_times.HEADER}\n|---|\n| old row |\n\nafter\n")
    job_times.write([job_times.HEADER, "|---|", "| new row |"], readme)
    assert readme.read_text() == f"before\n\n{job_times.HEADER}\n|---|\n| new row |\n\nafter\n"


def test_one_builder_writes_every_runner_command():
    from mdpt_lib.experiments.grid import run_command
    from mdpt_lib.experiments.precomputed import command

    full = run_command("learning", "learn", "hopper", "medium-replay", "dql", "joint", 1, [3, 4], 1)
    assert full == (
        "python -m mdpt_lib.experiments run learning --scale learn --tasks hopper "
        "--levels medium-replay --algos dql --modes joint --seeds-per-job 1 --seeds 3 4 --cpus 1"
    )
    # unset options are left to the runner's defaults, lists become words
    assert run_command("necessity", "book", ["hopper", "walker2d"], ("medium",)) == (
        "python -m mdpt_lib.experiments run necessity --scale book --tasks hopper walker2d "
        "--levels medium"
    )
    job = {"experiment": "learning", "dataset": "bullet-hopper-medium-replay-v0", "algo": "dql"}
    job |= {"mode": "joint", "seeds": [0, 1], "scale": "learn"}
    assert command(job).endswith("--levels medium-replay --seeds-per-job 2")
