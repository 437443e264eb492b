"""Ctrl-C during a native run: the engine checks for signals between steps (it holds
Python's interpreter lock while it runs, so Python itself cannot), raises nengo's usual
KeyboardInterrupt in one process, and ends every rank under ``mpirun``.

A run that is not interrupted would last minutes; each test waits seconds.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from nengo_mpi import _engine

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "scripts", "long_run.py")
MPIRUN = os.path.join(os.path.dirname(sys.executable), "mpirun")


def _default_sigint():
    # A shell starts background jobs with SIGINT ignored, and Python keeps an ignored
    # SIGINT ignored (no KeyboardInterrupt): the child must get the disposition a user's
    # terminal gives, however this test suite was started.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(cmd, timeout=30):
    """Start ``cmd``, send it SIGINT a moment after it says "running" (it is then inside
    the engine's run), and return its exit code and output (TimeoutExpired if it is
    still running ``timeout`` seconds later)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, preexec_fn=_default_sigint)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.strip() == "running":
                break
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, "".join(lines) + out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_ctrl_c_stops_a_native_run_in_one_process():
    """KeyboardInterrupt within the run; the simulator holds the steps it completed and
    runs on."""
    code, out = _interrupt([sys.executable, SCRIPT, "--catch"])
    assert code == 0, out
    steps = int(out.split("interrupted at step ")[1].split(",")[0])
    assert 0 < steps < 10**8
    assert f"ran on to step {steps + 10}" in out


@pytest.mark.skipif(not (_engine.config["mpi"] and os.path.exists(MPIRUN)),
                    reason="needs the engine built with MPI and the environment's mpirun")
def test_ctrl_c_ends_every_rank_under_mpirun():
    """mpirun passes SIGINT to every rank; the job ends within seconds (a rank that
    raises KeyboardInterrupt ends the MPI job). Without the engine's check this held
    too on this machine, through MPI's waits returning on the signal; with it, a rank
    that computes without waiting stops as well."""
    code, out = _interrupt([MPIRUN, "-np", "2", sys.executable, "-m", "nengo_mpi",
                            SCRIPT])
    assert code != 0, out
    assert "KeyboardInterrupt" in out
