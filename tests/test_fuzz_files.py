"""The fast subset of the fuzz campaign (``make fuzz`` runs 10,000 cases; see
fuzz/README.md): mutated model files, checkpoints and probe files each end in a clear
error, a run, or a refusal to unpickle; never a crash, a hang or a memory blow-up.

``NENGO_MPI_FUZZ_CASES`` sets how many cases run (default 300; the sanitizer job runs
fewer, each being slower there)."""

import os
import signal
import sys
import time

import numpy as np
import pytest

from nengo_mpi import _engine

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# pylint: disable=wrong-import-position
from fuzz import campaign, runner, seeds  # noqa: E402

N_CASES = int(os.environ.get("NENGO_MPI_FUZZ_CASES", "300"))
MPIRUN = os.path.join(os.path.dirname(sys.executable), "mpirun")


@pytest.fixture(name="setup", scope="module")
def fixture_setup(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("fuzz"))
    paths = seeds.make_seeds(os.path.join(workdir, "seeds"))
    targets = campaign.Targets(paths, workdir)
    growth = campaign.unmutated_growth(paths, targets, workdir)
    return workdir, paths, targets, growth


def describe(cases):
    return "\n".join(f"case {c.index} ({c.kind}, {c.mutation[0]}: "
                     f"{c.result.get('description')}): {c.result['outcome']}: "
                     f"{c.result['detail']}" for c in cases)


def test_mutated_files_end_in_an_error_a_run_or_a_refusal(setup):
    workdir, paths, targets, growth = setup
    # Seed 7 is not the full campaign's (0): the subset adds cases, not a repeat.
    cases = campaign.make_cases(paths, targets, N_CASES, seed=7)
    runner.run_cases(cases, workdir, timeout=30.0,
                     memory_budget_mib=campaign.memory_budget(paths, growth))
    bad = [c for c in cases if c.result["outcome"] not in runner.GOOD]
    assert not bad, describe(bad)
    outcomes = {c.result["outcome"] for c in cases}
    kinds = {c.kind for c in cases}
    # The subset reaches every kind of file and both ways of being stopped.
    assert kinds == set(campaign.KIND_WEIGHTS), kinds
    assert {"error", "refused"} <= outcomes, outcomes


@pytest.mark.skipif(not (_engine.config["mpi"] and os.path.exists(MPIRUN)),
                    reason="needs the engine built with MPI and the environment's mpirun")
def test_every_rank_ends_with_the_same_verdict(setup):
    workdir, paths, targets, _ = setup
    results = campaign.run_mpi_cases(4, paths, 7, workdir, MPIRUN, targets)
    bad = [r for r in results if r["outcome"] in runner.BAD]
    assert not bad, bad
    assert all(r["seconds"] < 30 for r in results), results


# -- the harness sees what it must -----------------------------------------------------

def _case(target, index=0):
    return runner.Case(index, "model", __file__, ("none", lambda p, rng: "unchanged"),
                       target, [0])


def _segfault(path, workdir):
    os.kill(os.getpid(), signal.SIGSEGV)


def _sleep(path, workdir):
    time.sleep(60)


def _allocate(path, workdir):
    block = np.ones(64 << 20, dtype=np.uint8)  # 64 MiB, touched
    return "same", str(block.sum())


def _raise_key_error(path, workdir):
    raise KeyError("a field nobody validated")


def test_the_harness_reports_crashes_hangs_memory_and_unclear_errors(tmp_path):
    cases = [_case(_segfault, 0), _case(_sleep, 1), _case(_allocate, 2),
             _case(_raise_key_error, 3)]
    runner.run_cases(cases, str(tmp_path), timeout=2.0,
                     memory_budget_mib=lambda case: 16)
    outcomes = [c.result["outcome"] for c in cases]
    # Under AddressSanitizer memory is not measured (see runner.run_cases), and ASan
    # turns the segfault into its report and an abort.
    memory = "same" if runner.sanitized() else "memory"
    assert outcomes == ["crash", "hang", memory, "unclear"], [c.result for c in cases]
    assert "SEGV" in cases[0].result["detail"]
    assert cases[1].result["seconds"] < 10
