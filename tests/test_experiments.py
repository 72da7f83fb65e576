"""The experiment grid runner: jobs write their own result files, finished jobs are skipped."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from mdpt_lib.experiments.grid import (
    EXPERIMENTS,
    RESULTS,
    Job,
    jobs,
    load_job_agents,
    load_results,
    run_job,
)
from mdpt_lib.experiments.precomputed import command, precomputed


def test_grids_cover_the_protocol():
    grid = jobs("guidance_first", "full")
    assert len({j.id for j in grid}) == len(grid)
    assert {j.mode for j in grid} == {"joint", "guidance_first"}
    assert {j.dataset for j in grid} >= {"bullet-hopper-medium-v0", "bullet-walker2d-expert-v0"}
    assert all(len(j.seeds) == 1 for j in grid)
    # transfer swaps guidance between seeds: its jobs hold at least two
    assert all(len(j.seeds) >= 2 for j in jobs("transfer", "full"))


def test_necessity_grid_skips_only_the_run_that_would_repeat_another():
    cells = {(j.algo, j.mode) for j in jobs("necessity", "long", ["hopper"], ["medium-replay"], 3)}
    assert {m for a, m in cells if a == "dql"} == {
        "joint",
        "no_guidance",
        "delayed_guidance",
        "random_guidance",
    }
    # IDQL's actor never sees its guidance: delayed_guidance would train the no_guidance run again
    assert {m for a, m in cells if a == "idql"} == {"joint", "no_guidance", "random_guidance"}


def test_the_learning_grid_holds_every_condition_the_findings_need_beside_its_joint_runs():
    grid = jobs("learning", "learn", ["hopper"], ["medium-replay"], 3)
    cells = [(j.algo, j.mode) for j in grid]
    assert {m for _, m in cells[:2]} == {"joint"}  # the benchmark's runs come first
    assert {m for a, m in cells if a == "dql"} == {
        "joint",
        "guidance_first",
        "no_guidance",
        "delayed_guidance",
        "random_guidance",
    }
    # IDQL's actor never sees its guidance: its random guidance is read from its joint agents
    assert {m for a, m in cells if a == "idql"} == {"joint", "guidance_first"}
    # the joint runs keep the ids of the benchmark's committed files: none is trained twice
    assert "bullet-hopper-medium-replay-v0__dql__joint__seeds0-1-2__learn" in {j.id for j in grid}
    only = jobs("learning", "learn", ["hopper"], ["medium-replay"], 3, modes=("guidance_first",))
    assert {(j.algo, j.mode) for j in only} == {
        ("idql", "guidance_first"),
        ("dql", "guidance_first"),
        ("cfg", "guidance_first"),  # the classifier-free extension, on the tasks it runs on
    }
    with pytest.raises(ValueError, match="no condition"):
        jobs("learning", "learn", modes=("guidance-first",))


def test_the_classifier_free_variant_runs_guidance_first_on_hopper_beside_its_own_joint(
    tmp_path, monkeypatch
):
    from mdpt_lib.experiments import protocol
    from mdpt_lib.experiments.learning import findings_commands

    hopper = " ".join(findings_commands(["hopper"], ["guidance_first"]))
    assert "--algos idql cfg --modes guidance_first" not in hopper  # cfg needs its joint runs too
    assert any(
        "cfg" in c and "--modes joint guidance_first" in c
        for c in findings_commands(["hopper"], ["guidance_first"])
    )
    assert "cfg" not in " ".join(findings_commands(["halfcheetah"], ["guidance_first"]))
    assert "cfg" not in " ".join(findings_commands(["hopper"], ["no_guidance"]))
    cells = protocol.cells()
    cfg = cells[cells.algo == "cfg"]
    assert set(cfg["mode"]) == {"joint", "guidance_first"} and set(cfg.findings) == {
        "guidance_first"
    }

    # a quick cfg job: guided (the mixed conditional sample) and unguided (the unconditioned
    # model) along training, and no selection rules to vary at the end (one sample per state)
    monkeypatch.setenv("MDPT_DATA_DIR", str(tmp_path / "cache"))
    job = Job("learning", "bullet-hopper-medium-replay-v0", "cfg", "guidance_first", (0,), "quick")
    result = json.loads(run_job(job, tmp_path).read_text())
    assert {r["inference"] for r in result["curve"]} == {"guided", "unguided"}
    assert result["selection_variants"] == []
    # the data's content, not only its file name, is recorded (builds differ between machines)
    assert len(result["provenance"]["data"]["sha256"]) == 16
    assert result["provenance"]["data"]["mean_return"] == pytest.approx(
        result["dataset_level"]["mean_return"]
    )


def test_a_seed_held_by_any_result_file_is_not_trained_again(tmp_path):
    from dataclasses import asdict

    from mdpt_lib.experiments.grid import remaining

    def write(job):
        (tmp_path / f"{job.id}.json").write_text(json.dumps({"job": asdict(job)}))

    d = "bullet-hopper-medium-replay-v0"
    write(Job("learning", d, "idql", "joint", (0,), "learn"))
    write(Job("learning", d, "idql", "joint", (1,), "learn"))
    write(Job("learning", d, "dql", "joint", (0, 1, 2), "learn"))
    grid = jobs("learning", "learn", ["hopper"], ["medium-replay"], 3, ("idql", "dql"), ("joint",))
    todo = {j.id for j in remaining(grid, tmp_path)}
    assert todo == {
        f"{d}__idql__joint__seeds2__learn",  # seeds 0 and 1 ran one per job
        f"{d}__idql__joint__seeds3-4__learn",
        f"{d}__dql__joint__seeds3-4__learn",
    }
    # --seeds cuts the groups to the seeds asked for
    assert {j.id for j in remaining(grid, tmp_path, seeds=[4])} == {
        f"{d}__idql__joint__seeds4__learn",
        f"{d}__dql__joint__seeds4__learn",
    }
    # another scale's files do not count
    write(Job("learning", d, "dql", "joint", (3, 4), "learn_gn4"))
    assert f"{d}__dql__joint__seeds3-4__learn" in {j.id for j in remaining(grid, tmp_path)}


def test_a_job_writes_its_result_once(tmp_path, monkeypatch):
    monkeypatch.setenv("MDPT_DATA_DIR", str(tmp_path / "cache"))
    job = Job(
        "guidance_first", "bullet-hopper-medium-replay-v0", "dql", "guidance_first", (0,), "quick"
    )
    path = run_job(job, tmp_path)
    result = json.loads(path.read_text())
    assert result["job"]["mode"] == "guidance_first"
    assert result["curve"] and {"step", "seed", "score", "distance"} <= set(result["curve"][0])
    assert all(np.isfinite(r["distance"]) for r in result["curve"])  # hopper reports its base
    assert result["measure"]["guidance_steps"] > 0 and result["wall_seconds"] > 0
    assert 0 < result["train_wall_seconds"] <= result["wall_seconds"]
    assert result["provenance"]["packages"]["torch"]
    stamp = path.stat().st_mtime_ns
    assert run_job(job, tmp_path) == path and path.stat().st_mtime_ns == stamp  # skipped
    assert not list((tmp_path / "cache" / "experiments").glob("*.ckpt")), "checkpoint removed"
    (agent,) = load_job_agents(job.id)  # the trained agent stays on this machine for analyses
    assert agent.algo == "dql" and agent.results["seed"] == 0

    pre = precomputed("guidance_first", "hopper-bullet-mixed-v0", folder=tmp_path)  # an alias
    assert pre.source == "precomputed (quick scale)"
    assert set(pre.curves["dataset"]) == {job.dataset} and len(pre.costs) == 1
    assert pre.commands == [command(job)] and command(job) in pre.describe()
    missing = precomputed("guidance_first", "bullet-hopper-medium-v0", folder=tmp_path)
    assert missing.empty and "make them with:" in missing.describe()
    assert "--levels medium --seeds-per-job 3" in missing.describe()

    # the build a job trained on is recorded; a later build of other snapshots is pointed out
    assert pre.data_files == pre.current_data_files == [result["provenance"]["data_file"]]
    assert "snapshots changed" not in pre.describe()
    result["provenance"]["data_file"] = "hopper-mixed-seed0-0badf00d.hdf5"
    path.write_text(json.dumps(result))
    changed = precomputed("guidance_first", job.dataset, folder=tmp_path).describe()
    assert "data: hopper-mixed-seed0-0badf00d.hdf5" in changed
    assert "the behaviour snapshots changed since" in changed
    del result["provenance"]["data_file"]
    path.write_text(json.dumps(result))
    unknown = precomputed("guidance_first", job.dataset, folder=tmp_path).describe()
    assert "data: not recorded" in unknown and "snapshots changed" not in unknown


def _regenerated_ids(cmd: str) -> list[str]:
    """The job ids the runner's command line ``cmd`` would run."""
    words = cmd.split()
    opt = {w[2:]: words[i + 1] for i, w in enumerate(words) if w.startswith("--")}
    exp = words[words.index("run") + 1]
    grid = jobs(
        exp,
        opt["scale"],
        [opt["tasks"]],
        [opt["levels"]],
        int(opt["seeds-per-job"]),
        family=opt.get("family", "d4rl"),
    )
    return [j.id for j in grid]


def test_committed_results_say_how_to_regenerate_them():
    assert load_results("learning", RESULTS / "learning"), "results/ holds a grid"
    for experiment in EXPERIMENTS:
        for r in load_results(experiment, RESULTS / experiment):
            job = Job(**{**r["job"], "seeds": tuple(r["job"]["seeds"])})
            assert job.id in _regenerated_ids(command(job)), job.id
            assert r["provenance"]["git_commit"] and r["wall_seconds"] > 0


def test_ray_runner_runs_and_resumes(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "mdpt_lib.experiments",
        "run",
        "transfer",
        "--scale",
        "quick",
        "--tasks",
        "hopper",
        "--levels",
        "medium-replay",
        "--out",
        str(tmp_path),
        "--cpus",
        "1",
    ]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    files = list(tmp_path.glob("*.json"))
    assert len(files) == 1
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
    assert "0 to run" in again.stdout
    log = (tmp_path / "grid.log").read_text()
    assert "start: python -m mdpt_lib.experiments run transfer" in log
    assert "finished" in log and "grid complete" in log


def test_verdict_reads_the_intervals():
    from mdpt_lib.experiments.guidance_first import verdict
    from mdpt_lib.stats import summarize

    apart = summarize({"DQL joint": [1.0, 2, 3, 2], "DQL guidance_first": [10.0, 11, 12, 11]})
    assert verdict(apart, "dql").startswith("guidance-first scored higher")
    assert "do not overlap" in verdict(apart, "dql")
    close = summarize({"IDQL joint": [1.0, 9, 5, 4], "IDQL guidance_first": [2.0, 8, 3, 5]})
    assert verdict(close, "idql").startswith("joint training scored higher")
    assert "overlap, so" in verdict(close, "idql")
    same = summarize({"DQL joint": [1.0, 2, 3], "DQL guidance_first": [3.0, 2, 1]})
    assert verdict(same, "dql").startswith("both schedules scored the same")


def test_idql_actor_training_ignores_the_guidance_condition():
    """The reason the grid skips IDQL's delayed_guidance: its no_guidance actor equals joint's."""
    import mdpt_lib
    from tests.bandit import bandit

    small = {
        "progress": False,
        "task": "hopper",
        "hidden": 32,
        "critic_hidden": 32,
        "batch_size": 64,
        "candidates": 4,
    }
    actors = {
        mode: mdpt_lib.fit(
            bandit(n=300), algo="idql", mode=mode, steps=20, seed=0, **small
        ).policy.state_dict()
        for mode in ("joint", "no_guidance")
    }
    for name, weight in actors["joint"].items():
        torch.testing.assert_close(weight, actors["no_guidance"][name], rtol=0, atol=0, msg=name)


def test_learning_bar_needs_the_guided_interval_above_both_levels():
    import pandas as pd

    from mdpt_lib.experiments.learning import learning_table, step_table, verdicts

    rows = []
    for step, guided, unguided in ((1000, [5, 6, 7], [5, 6, 7]), (2000, [30, 32, 35], [8, 9, 10])):
        for seed in range(3):
            for inference, x in (("guided", guided), ("unguided", unguided)):
                rows.append(
                    {
                        "dataset": "d",
                        "algo": "dql",
                        "step": step,
                        "seed": seed,
                        "inference": inference,
                        "score": float(x[seed]),
                        "data_score": 6.8,
                    }
                )
    steps = step_table(pd.DataFrame(rows))
    assert steps.clears.tolist() == [False, True]  # step 1000 sits at the data's level
    table = learning_table(steps)
    assert table.clears_from.iloc[0] == 2000 and table.first_clear.iloc[0] == 2000
    assert "clears the bar from 2,000 steps" in verdicts(table)[0]
    # one seed gives no interval, hence no verdict
    one = step_table(pd.DataFrame(rows).query("seed == 0"))
    assert "one seed so far" in verdicts(learning_table(one))[0]
    # a guided interval that reaches down to the unguided IQM does not clear it
    low = pd.DataFrame(rows).assign(score=lambda d: d.score.where(d.step == 1000, 9.0))
    assert not step_table(low).clears.any()
    # seeds from two builds of the data: the bar is the higher build's level, whatever the row order
    builds = pd.DataFrame(rows).assign(data_score=lambda d: d.seed.map({0: 6.8, 1: 31.0, 2: 6.8}))
    assert step_table(builds).data_score.tolist() == [31.0, 31.0]
    assert step_table(builds).clears.tolist() == [False, False]


def test_final_policies_are_also_scored_under_the_references_inference_rules():
    import numpy as np
    import torch

    from mdpt_lib.agent import fit
    from mdpt_lib.experiments.learning import evaluate_variants, inference_variants, live_weights

    agent = fit(
        "bullet-hopper-medium-replay-v0",
        algo="dql",
        steps=3,
        progress=False,
        hidden=16,
        critic_hidden=16,
        batch_size=8,
        candidates=4,
    )
    variants = inference_variants(agent)
    # official Diffusion-QL: softmax over the raw (unscaled) min-Q, from the live weights
    assert variants["softmax_official_dql_live"] == ("softmax", 1 / agent.info.reward_scale, True)
    live = live_weights(agent)
    obs = np.zeros((2, 15), np.float32)
    ema_w = next(agent.policy.ema.parameters())
    live_w = next(live.policy.ema.parameters())
    # the EMA copy stays at its initialisation before step 1,000; the live weights have moved
    assert not torch.equal(ema_w, live_w)
    assert torch.equal(live_w, next(agent.policy.model.parameters()))
    assert live.act(obs).shape == (2, 3)
    rows = evaluate_variants([agent], step=3, episodes=1)
    assert {r["inference"] for r in rows} == set(variants)
    assert all(np.isfinite(r["score"]) for r in rows)


def test_decisive_swaps_run_on_kept_agents_of_any_grouping(tmp_path):
    """The transfer study loads each seed's joint agents (each algorithm at its findings scale)
    from wherever they were kept, trains nothing, and names the seeds it lacks."""
    from mdpt_lib.agent import fit
    from mdpt_lib.experiments.critic_settling import kept_path
    from mdpt_lib.experiments.grid import load_cell_agents
    from mdpt_lib.experiments.scales import findings_scale, get_scale
    from mdpt_lib.experiments.transfer import (
        decisive_swaps,
        iqr_change_over_seeds,
        mismatch_command,
        per_seed,
    )

    ds = "bullet-hopper-medium-replay-v0"
    small = {"hidden": 32, "critic_hidden": 32, "batch_size": 32, "candidates": 4}
    for algo in ("dql", "idql"):
        scale = findings_scale("hopper", algo)
        agents = fit(ds, algo=algo, steps=3, seed=[0, 1], progress=False, **small)
        for a in agents:  # seed 0 trained alone, seed 1 in a group: both must be found
            group = "seeds0" if a.results["seed"] == 0 else "seeds1-2"
            a.save(
                tmp_path / f"{ds}__{algo}__joint__{group}__{scale}__seed{a.results['seed']}.pt",
                compact=True,
            )
    rows = decisive_swaps(ds, seeds=[0, 1], episodes=1, max_steps=5, folders=(tmp_path,))
    assert set(rows.seed) == {0, 1}
    assert "DQL policy + IDQL guidance" in set(rows.method)
    for algo in ("DQL", "IDQL"):  # finding 1's random guidance at inference, on every seed
        assert set(rows[rows.method == f"{algo} + untrained guidance"].seed) == {0, 1}
    assert len(per_seed(rows)) == rows.groupby(["method", "seed"]).ngroups
    assert set(iqr_change_over_seeds(rows, "dql")) >= {"own_iqr", "swapped_iqr", "change"}
    # a guidance trained alone on another dataset of the task joins IDQL's swaps by seed
    mismatch = "IDQL + guidance from random data"
    scale = findings_scale("hopper", "idql")
    assert mismatch not in set(rows.method)
    assert mismatch_command(ds, [1]).endswith(
        f"--dataset bullet-hopper-random-v0 --algo idql --steps {get_scale(scale).steps} "
        f"--scale {scale} --keep --seeds 1"
    )
    other = fit(ds, algo="idql", steps=3, seed=1, progress=False, **small)  # stands in for one
    other.save(kept_path("bullet-hopper-random-v0", "idql", scale, 1, tmp_path), compact=True)
    rows = decisive_swaps(ds, seeds=[0, 1], episodes=1, max_steps=5, folders=(tmp_path,))
    assert set(rows[rows.method == mismatch].seed) == {1}
    with pytest.raises(FileNotFoundError, match=r"seeds \[2\]"):
        load_cell_agents(ds, "dql", "joint", "learn_eta05", [0, 2], folders=(tmp_path,))
    # seeds one algorithm lacks: each uses its own; the cross-algorithm swaps only shared seeds
    scale = findings_scale("hopper", "dql")
    extra = fit(ds, algo="dql", steps=3, seed=2, progress=False, **small)
    extra.save(tmp_path / f"{ds}__dql__joint__seeds2__{scale}__seed2.pt", compact=True)
    with pytest.raises(FileNotFoundError, match=r"seeds \[2\]"):
        decisive_swaps(ds, seeds=[0, 1, 2], episodes=1, max_steps=5, folders=(tmp_path,))
    rows = decisive_swaps(
        ds, seeds=[0, 1, 2], episodes=1, max_steps=5, folders=(tmp_path,), missing_ok=True
    )
    assert set(rows[rows.policy == "dql"].seed) == {0, 1, 2}
    assert set(rows[rows.method == "DQL policy + IDQL guidance"].seed) == {0, 1}
    assert set(rows[rows.policy == "idql"].seed) == {0, 1}


def test_swap_verdicts_follow_the_intervals():
    """Tight scores under a swapped guidance reproduce the IQR claim; a borrowed guidance as good
    as the stronger native reproduces the cross-algorithm claim, a far worse one refutes it."""
    import numpy as np
    import pandas as pd

    from mdpt_lib.experiments.transfer import swap_verdicts

    rng = np.random.default_rng(0)
    # own guidance: episodes alternate +-20 around the level (a wide IQR, exact per-seed means)
    level = {
        "DQL (own guidance)": (60, 20, 0),
        "DQL + another seed's guidance": (60, 0, 1),
        "IDQL (own guidance)": (40, 20, 0),
        "IDQL + another seed's guidance": (40, 0, 1),
        "DQL policy + IDQL guidance": (60, 0, 1),
        "IDQL policy + DQL guidance": (10, 0, 1),
    }
    rows = [
        {
            "method": m,
            "policy": m.split()[0].lower(),
            "seed": s,
            "episode": e,
            "score": mu + swing * (-1) ** e + noise * rng.standard_normal(),
        }
        for m, (mu, swing, noise) in level.items()
        for s in range(5)
        for e in range(10)
    ]
    v = swap_verdicts(pd.DataFrame(rows), reps=500).set_index(["claim", "policy"]).verdict
    assert v[("double_guidance_iqr", "dql")] == "reproduced"
    assert v[("double_guidance_iqr", "idql")] == "reproduced"
    # each seed's episodes vary by +-20 under its own guidance, by about 1 under another seed's
    table = swap_verdicts(pd.DataFrame(rows), reps=500).set_index(["claim", "policy"])
    variance = table.loc[("seed_swap_variance", "dql")]
    assert variance.verdict == "reproduced" and variance.change < -0.99
    assert variance.change_ci[1] < 0 and variance.seeds == 5
    # the other way round (the swapped guidance the noisy one) refutes it
    flipped = pd.DataFrame(rows).replace(
        {
            "DQL (own guidance)": "DQL + another seed's guidance",
            "DQL + another seed's guidance": "DQL (own guidance)",
        }
    )
    again = swap_verdicts(flipped, reps=500).set_index(["claim", "policy"])
    assert again.loc[("seed_swap_variance", "dql")].verdict == "refuted"
    assert (
        v[("cross_algorithm", "DQL policy + IDQL guidance vs DQL (own guidance)")] == "reproduced"
    )
    assert v[("cross_algorithm", "IDQL policy + DQL guidance vs DQL (own guidance)")] == "refuted"
    # on fewer seeds than the protocol's five the same verdict is marked provisional
    two = pd.DataFrame(rows).query("seed < 2")
    v2 = swap_verdicts(two, reps=500).set_index(["claim", "policy"]).verdict
    assert v2[("cross_algorithm", "IDQL policy + DQL guidance vs DQL (own guidance)")] == (
        "refuted (provisional: 2 of 5 seeds)"
    )
    assert "mismatch" not in {c for c, _ in v.index}  # no mismatched guidance was evaluated

    # a guidance from another dataset: far worse reproduces the paper's limit, as good refutes it
    def with_mismatch(level):
        extra = [
            {**r, "method": "IDQL + guidance from random data", "score": r["score"] - 40 + level}
            for r in rows
            if r["method"] == "IDQL (own guidance)"
        ]
        table = swap_verdicts(pd.DataFrame(rows + extra), reps=500)
        return table.set_index("claim").loc["mismatch"]

    worse, same = with_mismatch(5.0), with_mismatch(40.0)
    assert worse.verdict == "reproduced" and worse.change_ci[1] < 0 and worse.seeds == 5
    assert same.verdict == "refuted" and abs(same.change) < 1e-9


def test_untrained_guidance_reads_what_the_trained_guidance_adds_at_inference():
    """A policy that falls under an untrained guidance needed its trained one; one that scores
    the same did not; on two seeds the reading is marked provisional."""
    import pandas as pd

    from mdpt_lib.experiments.transfer import untrained_guidance

    level = {
        "DQL (own guidance)": 60.0,
        "DQL + untrained guidance": 20.0,
        "IDQL (own guidance)": 40.0,
        "IDQL + untrained guidance": 40.0,
        "IDQL + another seed's guidance": 10.0,  # other swaps are ignored
    }
    rows = pd.DataFrame(
        [
            {
                "method": m,
                "policy": m.split()[0].lower(),
                "seed": s,
                "episode": e,
                "score": mu + s + 0.5 * e,
            }
            for m, mu in level.items()
            for s in range(5)
            for e in range(4)
        ]
    )
    t = untrained_guidance(rows, reps=500).set_index("policy")
    assert t.loc["dql", "reading"] == "needed" and t.loc["dql", "change_ci"][1] < 0
    assert t.loc["idql", "reading"] == "not needed" and abs(t.loc["idql", "change"]) < 1e-9
    assert t.loc["dql", "seeds"] == 5
    two = untrained_guidance(rows[rows.seed < 2], reps=500).set_index("policy")
    assert two.loc["dql", "reading"] == "needed (provisional: 2 of 5 seeds)"
    assert untrained_guidance(rows[~rows.method.str.contains("untrained")]).empty


def test_committed_swaps_are_found_by_dataset_or_their_command_given(tmp_path):
    import json

    from mdpt_lib.experiments.transfer import load_swaps, swaps_command

    ds = "bullet-hopper-medium-replay-v0"
    assert load_swaps(ds, tmp_path) is None
    assert swaps_command(ds).startswith(
        "python -m mdpt_lib.experiments swaps learning --tasks hopper --levels medium-replay"
    )
    (tmp_path / f"{ds}.json").write_text(json.dumps({"dataset": ds, "seeds": [0, 1], "rows": []}))
    assert load_swaps(ds, tmp_path)["seeds"] == [0, 1]


def test_swaps_on_agents_of_a_superseded_scale_decide_nothing():
    import pandas as pd

    from mdpt_lib.experiments.transfer import (
        agent_scales,
        at_findings_scales,
        load_swaps,
        superseded_scales,
        swap_verdicts,
    )

    ds = "bullet-hopper-medium-replay-v0"
    current = {"dataset": ds, "scales": agent_scales(ds)}
    policies = ["idql", "dql", "DQL policy + IDQL guidance vs DQL (own guidance)"]
    table = pd.DataFrame({"policy": policies, "verdict": ["reproduced", "refuted", "reproduced"]})
    assert superseded_scales(current) == {}
    assert at_findings_scales(table, current).equals(table)
    old = current | {"scales": current["scales"] | {"idql": "learn"}}
    assert superseded_scales(old) == {"idql": ("learn", agent_scales(ds)["idql"])}
    marked = at_findings_scales(table, old).verdict
    # the rows that read IDQL's agents decide nothing; Diffusion-QL's own row stands
    assert marked[0] == (
        f"undecided: IDQL's agents at `learn`, not at `{agent_scales(ds)['idql']}` "
        "(these swaps alone: reproduced)"
    )
    assert marked[1] == "refuted" and marked[2].startswith("undecided: IDQL's agents")
    # the committed swaps say which agents they ran on
    record = load_swaps(ds)
    if record is not None:
        verdicts = at_findings_scales(swap_verdicts(pd.DataFrame(record["rows"]), reps=200), record)
        stale = superseded_scales(record)
        reads_idql = verdicts.policy.str.upper().str.contains(r"\bIDQL\b")
        if "idql" in stale:
            assert verdicts[reads_idql].verdict.str.startswith("undecided").all()


def test_the_committed_hopper_swaps_run_on_five_decisive_agents_of_each_algorithm():
    import pandas as pd

    from mdpt_lib.experiments.transfer import (
        load_swaps,
        superseded_scales,
        swap_verdicts,
        untrained_guidance,
    )

    record = load_swaps("bullet-hopper-medium-replay-v0")
    assert superseded_scales(record) == {}  # the agents of today's findings scales
    assert record["seeds_per_algo"] == {"dql": [0, 1, 2, 3, 4], "idql": [0, 1, 2, 3, 4]}
    rows = pd.DataFrame(record["rows"])
    verdicts = swap_verdicts(rows, reps=300).set_index("claim")
    # a critic of other data (random actions) ruins IDQL's policies: the paper's limit
    mismatch = verdicts.loc["mismatch"]
    assert mismatch.seeds == 5 and mismatch.change < -0.9 and mismatch.verdict == "reproduced"
    # and every policy needs a trained critic
    assert (untrained_guidance(rows, reps=300).reading == "needed").all()


def test_the_critic_check_reads_the_data_return_from_the_log_without_the_dataset(monkeypatch):
    from mdpt_lib.experiments import learning

    def no_data(dataset, gamma=0.99):
        raise AssertionError(f"critic_check loaded {dataset}")

    monkeypatch.setattr(learning, "data_mc_return", no_data)
    log = [
        {"stage": 2, "step": s, "q_mean": q, "mc_return": 60.0 + d}
        for s, q, d in [(100, 1.0, -1.0), (200, 70.0, 1.0), (300, 6e3, 0.0)]
    ]
    job = {"dataset": "bullet-halfcheetah-medium-v0", "algo": "dql", "scale": "learn"}
    row = learning.critic_check([{"job": job, "log": log}]).iloc[0]
    assert row.data_return == 60.0  # the mean of the batches' returns
    assert row.q_passes_data_return_at == 200
    assert row.final_q_over_data_return == 100.0
    # a file from before the batches' returns were logged still needs the data
    old = [{k: v for k, v in r.items() if k != "mc_return"} for r in log]
    with pytest.raises(AssertionError, match="loaded bullet-halfcheetah-medium-v0"):
        learning.critic_check([{"job": job, "log": old}])


def test_the_critic_path_reads_each_step_from_the_last_log_row_at_or_before_it():
    from mdpt_lib.experiments import learning

    log = [
        {"step": s, "q_mean": q, "q_pi": 2 * q, "mc_return": 50.0}
        for s, q in [(100, 5.0), (250, 50.0), (400, 5e4)]
    ]
    job = {"dataset": "x", "algo": "dql", "scale": "learn", "seeds": [3]}
    path = learning.critic_path(
        [{"job": job, "log": log}, {"job": job, "log": []}], steps=(200, 400)
    )
    assert path.step.tolist() == [100, 400] and path.seeds.tolist() == ["3", "3"]
    assert path["Q / return"].tolist() == [0.1, 1000.0]
    assert (path["Q of the policy's actions / Q of the data's"] == 2.0).all()
    idql = [{k: v for k, v in row.items() if k != "q_pi"} for row in log]
    path = learning.critic_path([{"job": {**job, "algo": "idql"}, "log": idql}], steps=(400,))
    assert path.algo.tolist() == ["idql"]
    assert np.isnan(path["Q of the policy's actions / Q of the data's"].iloc[0])


def test_a_longer_run_is_read_beside_the_base_run_of_its_seeds():
    from mdpt_lib.experiments import learning

    def result(scale, seeds, steps, level):
        job = {"dataset": "x", "algo": "idql", "mode": "joint", "scale": scale, "seeds": seeds}
        curve = [
            {"seed": s, "step": t, "inference": inf, "score": level + s + (inf == "guided") * 10}
            for s in seeds
            for t in steps
            for inf in ("guided", "unguided")
        ]
        log = [{"step": t, "q_mean": t / 100, "mc_return": 10.0} for t in steps]
        return {"job": job, "curve": curve, "log": log}

    base = result("learn", [0, 1, 2], (1000, 2000), 1.0)
    long = result("learn_60k", [1], (1000, 2000, 3000, 4000), 5.0)
    other = result("learn", [1], (1000, 2000), 9.0)
    other["job"] = {**other["job"], "algo": "dql"}  # another algorithm: not its base
    table = learning.longer_run([base, other, long], "learn_60k")
    assert set(table.index.get_level_values("scale")) == {"learn", "learn_60k"}
    assert table.loc[("learn", 2000), "guided"] == 12.0  # seed 1 of the base run only
    assert table.loc[("learn_60k", 4000), "unguided"] == 6.0
    assert table.loc[("learn_60k", 3000), "critic Q / data's return"] == 3.0
    assert learning.longer_run([base], "learn_60k").empty


def test_critic_settling_logs_stage_one_and_reads_how_far_it_moved(tmp_path):
    import pandas as pd

    import mdpt_lib
    from mdpt_lib.experiments import critic_settling as cs
    from mdpt_lib.experiments.scales import findings_scale

    path = cs.run("bullet-hopper-medium-replay-v0", "idql", 500, seed=0, out=tmp_path)
    scale = findings_scale("hopper", "idql")  # the findings scale's hyperparameters, by default
    assert path.name == f"bullet-hopper-medium-replay-v0__idql__{scale}__stage1-500__seed0.json"
    frame = cs.load(tmp_path)
    assert frame.step.tolist() == [500] and frame.algo.tolist() == ["idql"]
    assert cs.run("bullet-hopper-medium-replay-v0", "idql", 500, seed=0, out=tmp_path) == path
    # the agent of a finished run is gone: keeping it asks for the run again, it never fakes one
    with pytest.raises(FileExistsError, match="move that file away"):
        cs.run(
            "bullet-hopper-medium-replay-v0",
            "idql",
            500,
            0,
            out=tmp_path,
            keep=True,
            agents=tmp_path,
        )
    # kept where the transfer study finds a guidance trained alone, its critic trained
    cs.run(
        "bullet-hopper-medium-replay-v0", "idql", 200, 1, out=tmp_path, keep=True, agents=tmp_path
    )
    kept = cs.kept_path("bullet-hopper-medium-replay-v0", "idql", scale, 1, tmp_path)
    agent = mdpt_lib.load(kept)
    assert agent.results["seed"] == 1 and agent.guidance is not None

    steps = range(0, 40_001, 10_000)  # rising 1 per 1k steps to 30k, then flat
    rows = [
        {"dataset": "d", "algo": "dql", "scale": "s", "seed": 0, "step": s}
        | {"q_mean": min(s, 30_000) / 1000, "mc_return": 5.0, "q_loss": 0.1}
        for s in steps
    ]
    table = cs.settling(pd.DataFrame(rows)).iloc[0]
    assert table.q_at_30k == 30 and table.moved_before_30k == 10
    assert table.end_step == 40_000 and table.q_end == 30 and table.moved_before_end == 0
    assert table.settled_by == 40_000  # the first window end after which it stays put
