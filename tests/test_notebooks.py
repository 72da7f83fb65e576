"""The notebooks: parameters checked in seconds, quick runs executed through papermill."""

import time
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from mdpt_lib.notebook import ParameterError, validate_params

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
GOOD = {"env": "hopper", "dataset": "medium-replay", "seeds": 2, "steps": 10, "quick": True}


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"env": "cheetah"}, ["env", "halfcheetah", "walker2d"]),
        ({"dataset": "medium-plus"}, ["dataset", "medium-replay", "expert"]),
        ({"seeds": "three"}, ["seeds", "positive whole number"]),
        ({"steps": 0}, ["steps", "positive whole number"]),
        ({"steps": 2.5}, ["steps"]),
        ({"quick": "yes"}, ["quick", "True or False"]),
        ({"device": "tpu"}, ["device", "cpu"]),
    ],
)
def test_bad_parameters_name_the_parameter_and_the_valid_values(change, names):
    with pytest.raises(ParameterError) as err:
        validate_params(**{**GOOD, **change})
    for name in names:
        assert name in str(err.value)


def test_good_parameters_are_normalised():
    p = validate_params(**{**GOOD, "env": "HalfCheetah", "dataset": "mixed"})
    assert p.env == "halfcheetah" and p.seeds == [0, 1]
    assert p.dataset_id == "bullet-halfcheetah-medium-replay-v0"


def test_committed_notebooks_carry_no_outputs():
    assert NOTEBOOKS, "no notebooks found"
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert "papermill" not in nb.metadata, path.name
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: one cell tagged 'parameters'"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_bad_parameter_fails_fast_with_a_clear_message(path, tmp_path):
    start = time.perf_counter()
    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(
            str(path),
            str(tmp_path / "out.ipynb"),
            parameters={"env": "cheetah"},
            cwd=str(ROOT),
            progress_bar=False,
            kernel_name="python3",
        )
    assert "ParameterError" in str(err.value) and "halfcheetah" in str(err.value)
    assert time.perf_counter() - start < 60, "validation must fail before any training starts"


def _outputs(nb) -> tuple[set[str], list[dict]]:
    glued, outputs = set(), []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            outputs.append(out)
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                glued.add(name)
    return glued, outputs


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_quick_run(path, tmp_path):
    out = tmp_path / path.name
    pm.execute_notebook(
        str(path),
        str(out),
        parameters={"quick": True},
        cwd=str(ROOT),
        progress_bar=False,
        kernel_name="python3",
    )
    nb = nbformat.read(out, as_version=4)
    glued, outputs = _outputs(nb)
    text = "".join(
        o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in outputs
    )
    assert any("image/png" in o.get("data", {}) for o in outputs), "a figure is drawn"
    assert "wall time" in text and "environment steps" in text, "the run summary is printed"
    expected = {
        # the committed decisive runs, summarised from their files above the live run
        "02_guidance_first": {"decisive_summary", "gfdt_figure"},
        "03_transfer": {
            "idql_iqr_change",
            "dql_iqr_change",
            "cross_dql_with_iql",
            "cross_idql_with_dql",
            "mismatch_iqm",
            "transfer_figure",
        },
    }
    assert expected.get(path.stem, set()) <= glued, glued
    if path.stem == "01_guidance_necessity":  # hopper's decisive runs are committed: the verdict
        assert "Finding 1 on bullet-hopper-medium-replay-v0:" in text
    if path.stem == "02_guidance_first":  # hopper's decisive runs are committed: their verdicts
        markdown = "".join(str(o.get("data", {}).get("text/markdown", "")) for o in outputs)
        assert "against joint (`learn_eta05`)" in markdown and "Diffusion steps to 90%" in markdown
    if path.stem == "03_transfer":
        from mdpt_lib.algos import PAPER_ALGOS

        for algo in PAPER_ALGOS:  # every method appears in the printed results table
            assert f"{algo.upper()} (own guidance)" in text
        assert "guidance from random data" in text
