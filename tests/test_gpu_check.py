"""The prepared GPU check runs end to end on the CPU (its dry run), so it is ready when a GPU is."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_dry_run_on_cpu():
    out = subprocess.run(
        [sys.executable, "benchmarks/gpu_check.py", "--device", "cpu", "--dry-run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "GEMM" in out.stdout and "passed" in out.stdout
    rows = [line.split() for line in out.stdout.splitlines() if line.startswith(("dql", "idql"))]
    assert [r[0] for r in rows] == ["dql", "idql"] and all(float(r[2]) > 0 for r in rows)
