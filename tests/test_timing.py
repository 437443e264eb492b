"""Simulator.timing(), operator profiles and ``python -m nengo_mpi --timing`` in one
process (tests/mpi/test_timing_across_ranks.py and tests/test_cli.py cover MPI)."""

import os
import subprocess
import sys
import time

import pytest
from nengo.exceptions import SimulatorClosed

import nengo_mpi
from nengo_mpi.__main__ import parse
from nengo_mpi.runtime import timing

import models

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def make_sim(n_components=2):
    """The seed example; at 2 components, its ensembles apart (the Node with a)."""
    net = models.sine_squared()
    by_label = {obj.label: obj for obj in net.all_ensembles}
    assignments = {by_label["a"]: 0, by_label["b"]: 1} if n_components == 2 else None
    return nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(n_components),
                               assignments=assignments, progress_bar=False)


def test_timing_entry_for_one_process():
    with make_sim() as sim:
        (before,) = sim.timing()
        assert before["steps"] == 0 and before["compute_s"] == 0
        start = time.perf_counter()
        sim.run_steps(200)
        wall = time.perf_counter() - start
        (entry,) = sim.timing()
    assert set(timing.KEYS) <= set(entry)
    assert "ops" not in entry  # only after profile_ops
    assert entry["rank"] == 0
    assert entry["components"] == [0, 1]  # both components run here
    assert entry["steps"] == 200
    assert 0 < entry["compute_s"] < wall
    # Nothing crosses ranks in one process: channels are local copies (compute).
    assert entry["wait_s"] == entry["exchange_s"] == 0
    assert entry["bytes_sent"] == entry["bytes_received"] == 0
    assert entry["bytes_sent_to"] == entry["bytes_received_from"] == [0]
    assert entry["messages_sent"] == entry["messages_received"] == 0
    assert entry["blocked_waits"] == 0
    assert entry["peak_rss_mib"] > 0


def test_timing_accumulates_across_runs_and_resets():
    with make_sim(1) as sim:
        sim.run_steps(50)
        first = sim.timing()[0]
        sim.reset()
        sim.run_steps(30)
        second = sim.timing()[0]
    assert second["steps"] == 80
    assert second["compute_s"] > first["compute_s"]


def test_timing_is_kept_when_closed():
    sim = make_sim()
    sim.run_steps(20)
    sim.close()
    (entry,) = sim.timing()
    assert entry["steps"] == 20 and entry["compute_s"] > 0
    entry["steps"] = -1  # a copy: the kept record does not change
    assert sim.timing()[0]["steps"] == 20


def test_timing_of_simulator_closed_before_running():
    sim = make_sim()
    sim.close()
    with pytest.raises(SimulatorClosed):
        sim.timing()
    with pytest.raises(SimulatorClosed):
        sim.profile_ops()


def test_profile_ops_times_each_kind():
    with make_sim() as sim:
        sim.run_steps(10)
        sim.profile_ops()
        sim.run_steps(100)
        sim.profile_ops(False)
        sim.run_steps(10)
        (entry,) = sim.timing()
        engine = sim._runtime.host.engine
        per_op = engine.op_seconds(), engine.op_calls()
    ops = entry["ops"]
    # The seed example: two LIF ensembles, their encoders and decoders, a Python Node.
    assert ops["LIF"]["calls"] == 2 * 100 and ops["LIF"]["ops"] == 2
    assert ops["Python"]["calls"] == 100  # the sine Node, through the fallback
    for kind in ops.values():
        assert kind["calls"] % 100 == 0
        assert kind["seconds"] >= 0
    profiled = sum(kind["seconds"] for kind in ops.values())
    assert 0 < profiled < entry["compute_s"]
    # The same times per op (by engine handle), which benchmarks/scaling.py uses.
    assert sum(per_op[0]) == pytest.approx(profiled)
    assert set(per_op[1]) == {100}


def test_report_table_and_imbalance():
    entries = [
        dict(rank=r, components=[r], steps=10, compute_s=c, wait_s=0.5, exchange_s=0.25,
             bytes_sent=2_000_000, bytes_received=1_000_000, messages_sent=3,
             messages_received=4)
        for r, c in enumerate([1.0, 3.0])
    ]
    assert timing.load_imbalance(entries) == pytest.approx(0.5)
    text = timing.format_report(entries, title="T")
    lines = text.splitlines()
    assert lines[0] == "T: 10 steps on 2 rank(s)"
    row = lines[3].split()
    # rank, components, compute, wait, exchange, their shares, MB sent/received, msgs
    assert row == ["0", "0", "1.0000", "0.5000", "0.2500", "57.1%", "28.6%", "14.3%",
                   "2.000", "1.000", "7"]
    assert lines[-1].endswith("- 1): 50.0%")
    idle = [dict(entries[0], compute_s=0.0, wait_s=0.0, exchange_s=0.0)]
    assert timing.load_imbalance(idle) is None
    assert timing.format_report(idle).endswith("n/a")


def test_parse_timing_option():
    assert parse(["--timing", "s.py", "--timing"]) == (
        "script", "s.py", ["--timing"], {"timing": True})
    assert parse(["-m", "mod", "x"]) == ("module", "mod", ["x"], {"timing": False})
    assert parse(["--timing", "-m", "mod"])[3] == {"timing": True}


def test_cli_timing_report_without_mpirun(tmp_path):
    """A plain run (no launcher) reports every simulator: one closed, one left open."""
    script = tmp_path / "two_sims.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {HERE!r})\n"
        "import models, nengo_mpi\n"
        "net = models.sine_squared()\n"
        "with nengo_mpi.Simulator(net, progress_bar=False) as sim:\n"
        "    sim.run_steps(30)\n"
        "open_sim = nengo_mpi.Simulator(net, progress_bar=False)\n"
        "open_sim.run_steps(40)\n"
        "nengo_mpi.Simulator(net, progress_bar=False).close()\n"
        "print('done')\n"
    )
    env = {k: v for k, v in os.environ.items()
           if k not in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "SLURM_NTASKS")}
    proc = subprocess.run([sys.executable, "-m", "nengo_mpi", "--timing", str(script)],
                          capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"
    err = proc.stderr
    assert "nengo_mpi timing, simulator 1" in err and "30 steps on 1 rank(s)" in err
    assert "nengo_mpi timing, simulator 2" in err and "40 steps on 1 rank(s)" in err
    assert "1 simulator(s) ran no steps" in err
    assert err.count("load imbalance") == 2
