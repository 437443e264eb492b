"""``python -m nengo_mpi`` under the real launcher: results, exit codes and faults.

Each case checks that every rank exits (non-zero on failure) within seconds, with a
message that says which rank failed and why.
"""

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from nengo_mpi import _engine

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SCRIPTS = os.path.join(HERE, "scripts")
BIN = os.path.dirname(sys.executable)
MPIRUN = os.path.join(BIN, "mpirun")

pytestmark = pytest.mark.skipif(
    not (_engine.config["mpi"] and os.path.exists(MPIRUN)),
    reason="needs the engine built with MPI and the environment's mpirun",
)


def launch(n, *args, env=None, timeout=120):
    """Run ``mpirun -np n python -m nengo_mpi args`` from tests/scripts."""
    full_env = dict(os.environ, PYTHONPATH=SCRIPTS, **(env or {}))
    start = time.monotonic()
    proc = subprocess.run(
        [MPIRUN, "-np", str(n), sys.executable, "-m", "nengo_mpi", *args],
        cwd=SCRIPTS, env=full_env, capture_output=True, text=True, timeout=timeout,
    )
    return proc, time.monotonic() - start


def test_seed_example_on_two_ranks():
    proc, _ = launch(2, os.path.join(ROOT, "examples", "sine_squared.py"), "--time", "0.5")
    assert proc.returncode == 0, proc.stderr
    assert "RMSE" in proc.stdout


@pytest.mark.parametrize("n", [2, 3])
def test_n_ranks_is_the_jobs_size(n, tmp_path):
    script = tmp_path / "ranks.py"
    script.write_text("import nengo_mpi\nprint('ranks:', nengo_mpi.n_ranks())\n")
    proc, _ = launch(n, str(script))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ranks:", str(n)]  # printed by rank 0 alone


def test_probe_files_identical_at_1_2_3_ranks(tmp_path):
    """The real launch path: one script, three rank counts, the same bytes."""
    outputs = []
    for n in (1, 2, 3):
        out = tmp_path / f"probes{n}.npz"
        proc, _ = launch(n, "save_probes.py", str(out), "3")
        assert proc.returncode == 0, proc.stderr
        outputs.append(np.load(out))
    for other in outputs[1:]:
        assert sorted(other.files) == sorted(outputs[0].files)
        for key in outputs[0].files:
            assert np.array_equal(outputs[0][key], other[key]), key


def test_module_form(tmp_path):
    """``python -m nengo_mpi -m module args`` runs the module as __main__ with its args."""
    out = tmp_path / "probes.npz"
    proc, _ = launch(2, "-m", "save_probes", str(out), "2")
    assert proc.returncode == 0, proc.stderr
    assert len(np.load(out).files) == 3


def test_exception_in_script_ends_every_rank():
    proc, seconds = launch(2, "fault_script.py", "raise-before")
    assert proc.returncode != 0
    assert "rank 0 of 2 failed: RuntimeError: deliberate failure" in proc.stderr
    assert seconds < 30


def test_exception_in_node_function_mid_run_ends_every_rank():
    proc, seconds = launch(2, "fault_script.py", "raise-in-node")
    assert proc.returncode != 0
    assert "rank 0 of 2 failed: ValueError: deliberate failure inside a Node" in proc.stderr
    assert seconds < 30


def test_killed_worker_ends_every_rank():
    """Rank 1 SIGKILLs itself mid-run while rank 0 waits for its messages."""
    proc, seconds = launch(2, "fault_script.py", "kill-worker")
    assert proc.returncode != 0
    assert seconds < 30
    # The launcher names the dead process's pid; our start-up line maps pids to ranks.
    pid_line = next(line for line in proc.stderr.splitlines() if "ranks (rank 0: pid" in line)
    rank1_pid = pid_line.split("rank 1: pid ")[1].rstrip(")")
    assert f"PID {rank1_pid}" in proc.stdout + proc.stderr
    assert "signal 9" in proc.stdout + proc.stderr


def test_launcher_family_mismatch_is_explained():
    """A launcher that reports N processes to an MPI that sees a job of 1."""
    env = dict(os.environ, PYTHONPATH=SCRIPTS, PMI_SIZE="2")
    proc = subprocess.run(
        [sys.executable, "-m", "nengo_mpi", "fault_script.py", "ok"],
        cwd=SCRIPTS, env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 3
    assert "MPI reports a job of 1" in proc.stderr
    assert proc.stderr.startswith("nengo_mpi: wrong launcher.")


def test_version_and_usage():
    proc = subprocess.run([sys.executable, "-m", "nengo_mpi", "--version"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "nengo_mpi" in proc.stdout and "MPICH" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "nengo_mpi"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "usage" in proc.stdout


def test_timing_report(tmp_path):
    """``--timing``: rank 0 prints a table per simulator with one row per rank."""
    out = tmp_path / "probes.npz"
    proc, _ = launch(2, "--timing", "save_probes.py", str(out), "2")
    assert proc.returncode == 0, proc.stderr
    assert len(np.load(out).files) == 3  # the script ran as usual
    lines = proc.stderr.splitlines()
    title = next(i for i, line in enumerate(lines) if line.startswith("nengo_mpi timing"))
    assert lines[title].endswith("300 steps on 2 rank(s)")
    rows = [line.split() for line in lines[title + 3:title + 5]]
    assert [row[0] for row in rows] == ["0", "1"]
    # MB sent by one rank = MB received by the other, and something did cross.
    assert rows[0][8] == rows[1][9] and rows[1][8] == rows[0][9]
    assert float(rows[0][8]) + float(rows[1][8]) > 0
    assert lines[title + 5].startswith("load imbalance (max compute / mean compute - 1): ")
    assert "timing" not in proc.stdout
