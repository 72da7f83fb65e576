"""The decisive protocol's bill, on synthetic result files and kept agents."""

import json

import pytest

from mdpt_lib.experiments import protocol
from mdpt_lib.experiments.grid import load_results

HOPPER = "bullet-hopper-medium-replay-v0"


def write(folder, algo, scale, mode, seed, wall):
    if mode == "joint":  # with a curve that learns
        return write_curve(folder, algo, scale, seed, guided=60.0, wall=wall)
    job = {"dataset": HOPPER, "algo": algo, "mode": mode, "seeds": [seed], "scale": scale}
    name = f"{HOPPER}__{algo}__{mode}__seeds{seed}__{scale}.json"
    (folder / name).write_text(json.dumps({"job": job, "wall_seconds": wall}))


def test_the_bill_counts_seeds_agents_and_the_measured_cost(tmp_path):
    results, agents = tmp_path / "learning", tmp_path / "agents"
    results.mkdir(), agents.mkdir()
    for seed in range(5):
        write(results, "idql", "learn_60k", "joint", seed, wall=3600.0)
    write(results, "idql", "learn_60k", "guidance_first", 0, wall=7200.0)
    write(
        results, "idql", "learn_60k", "guidance_first", 9, wall=7200.0
    )  # beyond the protocol's seeds
    write(results, "dql", "learn_eta05", "joint", 0, wall=1800.0)
    for seed in (3, 4):
        (agents / f"{HOPPER}__idql__joint__seeds{seed}__learn_60k__seed{seed}.pt").write_bytes(b"")

    table = protocol.progress(results, agents, critic_folder=tmp_path / "none").set_index(
        ["dataset", "algo", "scale", "mode"]
    )
    joint = table.loc[(HOPPER, "idql", "learn_60k", "joint")]
    assert joint.seeds_done == [0, 1, 2, 3, 4] and joint.seeds_left == []
    assert joint.agents_kept == [3, 4] and joint.agents_to_retrain == [0, 1, 2]
    assert joint.core_h_left == pytest.approx(3 * 1.0)  # three agents to train again, 1 h each
    assert "transfer" in joint.findings and joint.command == ""

    gf = table.loc[(HOPPER, "idql", "learn_60k", "guidance_first")]
    assert gf.seeds_done == [0] and gf.seeds_left == [1, 2, 3, 4]
    assert gf.core_h_left == pytest.approx(4 * 2.0)
    assert gf.command.endswith("--modes guidance_first --seeds-per-job 1 --seeds 1 2 3 4 --cpus 1")

    # no file of the mode: the mean over the files of the same algorithm and scale stands in
    random = table.loc[(HOPPER, "dql", "learn_eta05", "random_guidance")]
    assert random.seeds_left == [0, 1, 2, 3, 4] and random.core_h_per_seed == pytest.approx(0.5)
    # no file of the algorithm: any algorithm's in the mode, in proportion to the diffusion steps
    # (Diffusion-QL's half-hour at 30k counts as an hour at the classifier-free variant's 60k)
    cfg = table.loc[(HOPPER, "cfg", "learn_60k", "joint")]
    assert cfg.core_h_per_seed == pytest.approx(1.0)
    assert (HOPPER, "idql", "learn_60k", "random_guidance") not in table.index  # read at inference
    summary = protocol.summary(table.reset_index())
    assert (
        f"1 of {len(table)} protocol cells" in summary
        and "4 agents are to be trained again" in summary
    )


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


def test_a_longer_stage_one_shares_the_joint_runs_and_is_costed_from_measured_steps(tmp_path):
    from mdpt_lib.experiments.learning import findings_commands
    from mdpt_lib.experiments.scales import get_scale, joint_shared

    assert joint_shared("learn_s1_90k", "learn")  # joint training has no stage 1
    assert not joint_shared("learn_eta05_sarsa", "learn_eta05")  # its joint critic differs too
    cheetah = "bullet-halfcheetah-medium-replay-v0"
    cells = protocol.cells()
    s1 = cells[(cells.dataset == cheetah) & (cells.scale == "learn_s1_90k")]
    assert set(s1.algo) == {"idql", "dql"} and set(s1["mode"]) == {"guidance_first"}
    variant = [c for c in findings_commands(["halfcheetah"], ["guidance_first"], variants=True)]
    assert any("--scale learn_s1_90k" in c and "--modes guidance_first" in c for c in variant)
    assert not any("--scale learn_s1_90k" in c and "joint" in c for c in variant)

    # no run at the longer stage 1 yet: the 30k-stage-1 run with 60k more critic steps at its pace
    results = tmp_path / "learning"
    results.mkdir()
    job = {
        "dataset": cheetah,
        "algo": "dql",
        "mode": "guidance_first",
        "seeds": [0],
        "scale": "learn",
    }
    measure = {"guidance_steps": 30_000, "guidance_step_seconds": 0.02}
    (results / "gf.json").write_text(
        json.dumps({"job": job, "wall_seconds": 3600.0, "measure": measure})
    )
    table = protocol.progress(results, tmp_path, critic_folder=tmp_path / "none").set_index(
        ["dataset", "algo", "scale", "mode"]
    )
    extra = (get_scale("learn_s1_90k").guidance_steps - 30_000) * 0.02 / 3600
    row = table.loc[(cheetah, "dql", "learn_s1_90k", "guidance_first")]
    assert row.core_h_per_seed == pytest.approx(1.0 + extra)


def test_guidance_first_of_a_jointly_run_extension_is_costed_with_its_stage_one(tmp_path):
    # the classifier-free variant has joint runs only; its stage 1 trains IDQL's critic, whose
    # measured pace (IDQL's own guidance-first run) prices the 60k critic steps it adds
    results = tmp_path / "learning"
    results.mkdir()
    write_curve(results, "cfg", "learn_60k", 0, guided=60.0, wall=2000.0)
    job = {"dataset": HOPPER, "algo": "idql", "mode": "guidance_first", "seeds": [0]}
    measure = {"guidance_steps": 60_000, "guidance_step_seconds": 0.02}
    body = {"job": job | {"scale": "learn_60k"}, "wall_seconds": 5000.0, "measure": measure}
    (results / "idql_gf.json").write_text(json.dumps(body))
    table = protocol.progress(results, tmp_path, critic_folder=tmp_path / "none").set_index(
        ["dataset", "algo", "scale", "mode"]
    )
    row = table.loc[(HOPPER, "cfg", "learn_60k", "guidance_first")]
    assert row.core_h_per_seed == pytest.approx((2000.0 + 60_000 * 0.02) / 3600)
    assert table.loc[(HOPPER, "cfg", "learn_60k", "joint")].core_h_per_seed == pytest.approx(
        2000.0 / 3600
    )


def test_a_scale_with_a_stage_one_length_trains_guidance_first_for_it(monkeypatch):
    from dataclasses import replace

    from mdpt_lib.experiments import curves
    from mdpt_lib.experiments.scales import get_scale

    seen = []
    monkeypatch.setattr(curves.Run, "fit", lambda self, algo, **kw: seen.append(kw) or [])
    scale = replace(get_scale("quick"), guidance_steps=77)
    run = curves.Run(HOPPER, [0], 10, scale)
    curves.train_with_curve(run, "idql", "guidance_first")
    curves.train_with_curve(run, "idql", "joint")
    assert seen[0]["guidance_steps"] == 77 and "guidance_steps" not in seen[1]


def test_a_cell_whose_stage_one_critic_did_not_settle_gives_way_to_a_longer_stage_one(tmp_path):
    cheetah = "bullet-halfcheetah-medium-replay-v0"
    for algo in ("dql", "idql"):
        for seed in (0, 1):
            job = {"dataset": cheetah, "algo": algo, "mode": "guidance_first", "seeds": [seed]}
            # dql's critic still falls by 10 per 10k critic steps at the end; idql's is flat
            log = [
                {"stage": 1, "step": s, "q_mean": -s / 1000 if algo == "dql" else 20.0}
                for s in range(1000, 30_001, 1000)
            ]
            name = f"{cheetah}__{algo}__guidance_first__seeds{seed}__learn.json"
            body = {"job": job | {"scale": "learn"}, "wall_seconds": 3600.0, "log": log}
            (tmp_path / name).write_text(json.dumps(body))
    table = protocol.progress(tmp_path, tmp_path, critic_folder=tmp_path / "none").set_index(
        ["dataset", "algo", "scale", "mode"]
    )
    moving = table.loc[(cheetah, "dql", "learn", "guidance_first")]
    assert moving.stage1 == "not settled" and moving.superseded_by == "learn_s1_90k"
    assert moving.seeds_left == [] and moving.core_h_left == 0 and moving.command == ""
    steady = table.loc[(cheetah, "idql", "learn", "guidance_first")]
    assert (
        steady.stage1 == "settled" and steady.superseded_by == "" and steady.seeds_left == [2, 3, 4]
    )
    longer = table.loc[(cheetah, "dql", "learn_s1_90k", "guidance_first")]
    assert longer.stage1 == "" and longer.seeds_left == [0, 1, 2, 3, 4]
    assert "1 more superseded by a longer stage 1" in protocol.summary(table.reset_index())


def test_an_algorithm_whose_stage_one_is_another_s_trains_the_same_critic():
    from mdpt_lib.config import hparams
    from mdpt_lib.experiments.scales import STAGE1_AS, findings_scale, get_scale

    critic = ["critic", "critic_hidden", "critic_layers", "critic_lr", "critic_tau", "expectile"]
    critic += ["gamma", "batch_size", "reward_scale", "pretrain_form"]
    for algo, like in STAGE1_AS.items():
        for task in ("hopper", "halfcheetah"):
            a, b = (
                hparams(x, task, "medium-replay").to_dict()
                | get_scale(findings_scale(task, x)).hparams(x)
                for x in (algo, like)
            )
            assert {k: a[k] for k in critic} == {k: b[k] for k in critic}, (algo, task)


def test_a_cell_without_runs_reads_the_stage_one_of_the_algorithm_whose_critic_it_trains(tmp_path):
    for seed in (0, 1):
        job = {"dataset": HOPPER, "algo": "idql", "mode": "guidance_first", "seeds": [seed]}
        log = [{"stage": 1, "step": s, "q_mean": s / 1000} for s in range(1000, 60_001, 1000)]
        body = {"job": job | {"scale": "learn_60k"}, "wall_seconds": 3600.0, "log": log}
        (tmp_path / f"{HOPPER}__idql__guidance_first__seeds{seed}__learn_60k.json").write_text(
            json.dumps(body)
        )
    table = protocol.progress(tmp_path, tmp_path, critic_folder=tmp_path / "none").set_index(
        ["dataset", "algo", "scale", "mode"]
    )
    for algo in ("idql", "cfg"):
        assert table.loc[(HOPPER, algo, "learn_60k", "guidance_first")].stage1 == "not settled"
    assert table.loc[(HOPPER, "cfg", "learn_60k", "joint")].stage1 == ""


def test_a_longer_stage_one_of_a_variant_is_compared_with_that_variant_s_joint_runs(monkeypatch):
    from dataclasses import replace

    from mdpt_lib.experiments import scales
    from mdpt_lib.experiments.learning import findings_commands

    long = replace(scales.SCALES["learn_eta05_sarsa"], name="sarsa_long", guidance_steps=90_000)
    monkeypatch.setitem(scales.SCALES, "sarsa_long", long)
    variants = (*scales.FINDINGS_VARIANTS[("hopper", "dql")], "sarsa_long")
    monkeypatch.setitem(scales.FINDINGS_VARIANTS, ("hopper", "dql"), variants)
    assert scales.joint_runs_of("hopper", "dql", "sarsa_long") == "learn_eta05_sarsa"
    assert scales.joint_runs_of("hopper", "dql", "learn_eta05_sarsa") == "learn_eta05_sarsa"
    assert scales.joint_runs_of("hopper", "dql", "learn_eta05") == "learn_eta05"
    cells = protocol.cells()
    dql = cells[(cells.dataset == HOPPER) & (cells.algo == "dql")]
    assert set(dql[dql.scale == "sarsa_long"]["mode"]) == {"guidance_first"}  # no joint twice
    commands = findings_commands(["hopper"], ["guidance_first"], variants=True)
    long_runs = [c for c in commands if "--scale sarsa_long" in c]
    assert len(long_runs) == 1 and long_runs[0].endswith("--modes guidance_first")


def test_the_mismatched_guidance_is_a_critic_trained_alone_and_kept(tmp_path):
    from mdpt_lib.experiments.critic_settling import GUIDANCE_ALONE, kept_path
    from mdpt_lib.experiments.scales import findings_scale, get_scale

    random_data = "bullet-hopper-random-v0"
    scale = findings_scale("hopper", "idql")
    critic, agents = tmp_path / "critic", tmp_path / "agents"
    critic.mkdir(), agents.mkdir()
    steps = get_scale(scale).steps
    for seed, guidance_steps in ((0, steps), (1, 2 * steps)):  # seed 1: a settling check, not it
        job = {"dataset": random_data, "algo": "idql", "mode": "guidance_first", "seeds": [seed]}
        job |= {"scale": scale, "guidance_steps": guidance_steps}
        body = {"job": job, "wall_seconds": 1800.0 * guidance_steps / steps}
        (critic / f"{seed}.json").write_text(json.dumps(body))
    kept_path(random_data, "idql", scale, 0, agents).write_bytes(b"")
    table = protocol.progress(tmp_path, agents, critic_folder=critic)
    row = table.set_index(["dataset", "algo", "scale", "mode"]).loc[
        (random_data, "idql", scale, GUIDANCE_ALONE)
    ]
    assert row.seeds_done == [0] and row.agents_kept == [0] and row.agents_to_retrain == []
    assert row.core_h_per_seed == pytest.approx(0.5)  # half an hour per seed, at either length
    assert row.command.startswith("python -m mdpt_lib.experiments.critic_settling")
    assert row.command.endswith(f"--steps {steps} --scale {scale} --keep --seeds 1 2 3 4")


def write_curve(folder, algo, scale, seed, guided, unguided=5.0, data=10.0, wall=3600.0):
    """A joint run whose guided / unguided scores are constant over five checkpoints."""
    curve = [
        {"algo": algo, "mode": "joint", "seed": seed, "step": step, "inference": inf, "score": s}
        for step in range(1000, 6000, 1000)
        for inf, s in (("guided", guided + seed), ("unguided", unguided))
    ]
    job = {"dataset": HOPPER, "algo": algo, "mode": "joint", "seeds": [seed], "scale": scale}
    name = f"{HOPPER}__{algo}__joint__seeds{seed}__{scale}.json"
    result = {"job": job, "wall_seconds": wall, "curve": curve}
    result["dataset_level"] = {"mean_score": data}
    (folder / name).write_text(json.dumps(result))


def test_a_method_not_seen_to_learn_gets_probe_seeds_first(tmp_path):
    results = tmp_path / "learning"
    results.mkdir()
    write_curve(results, "cfg", "learn_60k", 0, guided=60.0)  # one seed: not known yet
    for seed in range(2):  # learns: guided far above the data and the unguided sample
        write_curve(results, "idql", "learn_60k", seed, guided=60.0)
    for seed in range(2):  # at the data's level: does not learn
        write_curve(results, "dql", "learn_eta05", seed, guided=9.0)

    status = protocol.learning_status(load_results("learning", results))
    assert status == {
        (HOPPER, "idql", "learn_60k"): "yes",
        (HOPPER, "dql", "learn_eta05"): "no",
    }

    table = protocol.progress(results, tmp_path / "agents", critic_folder=tmp_path / "none")
    table = table.set_index(["dataset", "algo", "scale", "mode"])
    cfg = table.loc[(HOPPER, "cfg", "learn_60k", "joint")]
    assert cfg.joint_learns == "not yet" and cfg.command.endswith("--seeds 1 --cpus 1")
    assert cfg.waiting and cfg.core_h_left == pytest.approx(4 * 1.0)  # the bill counts all
    cfg_gf = table.loc[(HOPPER, "cfg", "learn_60k", "guidance_first")]
    assert cfg_gf.command == "" and cfg_gf.seeds_left == [0, 1, 2, 3, 4] and cfg_gf.waiting
    idql_gf = table.loc[(HOPPER, "idql", "learn_60k", "guidance_first")]
    assert idql_gf.joint_learns == "yes" and idql_gf.waiting == "" and idql_gf.command
    dql = table.loc[(HOPPER, "dql", "learn_eta05", "no_guidance")]
    assert dql.joint_learns == "no" and dql.command == "" and "diagnose" in dql.waiting


def test_a_session_plan_fills_each_core_in_the_findings_order_and_keeps_transfer_agents():
    import pandas as pd

    def cell(algo, scale, mode, findings, now, core_h, retrain=()):
        return {
            "dataset": HOPPER,
            "algo": algo,
            "scale": scale,
            "mode": mode,
            "findings": findings,
            "seeds_now": list(now),
            "agents_to_retrain": list(retrain),
            "core_h_per_seed": core_h,
        }

    table = pd.DataFrame(
        [
            cell("idql", "learn_60k", "joint", "guidance_first, transfer", [2, 3, 4], 1.4, [0]),
            cell("dql", "learn_eta05_sarsa_s1_90k", "guidance_first", "guidance_first", [2], 0.7),
            cell("idql", "learn_60k", "guidance_alone", "transfer", [1, 2], 0.4),
        ]
    )
    jobs = protocol.single_jobs(table)
    assert list(jobs.seed) == [2, 3, 4, 0, 2, 1, 2]
    joint = jobs[jobs["mode"] == "joint"]
    assert joint.command.str.contains("&& python -m mdpt_lib.experiments keep learning").all()
    retrain = joint[joint.seed == 0].command.item()
    assert '--seeds 0 --cpus 1 --out "$(mktemp -d)" && python -m' in retrain
    assert "critic_settling" in jobs.command.iloc[-1] and "--keep --seeds 2" in jobs.command.iloc[-1]

    plan = protocol.session_plan(table, cores=2, hours=2.0)
    # 1.4 h each of seeds 2 and 3, then nothing of 1.4 h fits; the 0.4-h critics fill in
    assert plan.groupby("core").core_h.sum().tolist() == pytest.approx([1.8, 1.8])
    assert plan[plan.core == 1].seed.tolist() == [2, 1] and plan.end_h.max() <= 2.0
    assert set(plan["mode"]) == {"joint", "guidance_alone"}
    # one core of an hour: the 0.7-h job, and no 0.4-h job after it
    assert protocol.session_plan(table, cores=1, hours=1.0)["mode"].tolist() == ["guidance_first"]
