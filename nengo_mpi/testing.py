"""Hooks for running Nengo's own test suite (see tests/nengo_suite/)."""

import json
import os

import nengo

#: Where `record_split` appends one JSON line per Simulator built.
SPLIT_LOG_ENV = "NENGO_MPI_SPLIT_LOG"


def reference_simulator(request):  # pylint: disable=unused-argument
    """nengo.Simulator, loaded through ``nengo_simloader`` (which passes the request).

    Going through the loader (rather than ``nengo_simulator = nengo.Simulator``) makes
    nengo's plugin select exactly the backend test set it selects for nengo_mpi, with the
    same test ids and so the same seeds: the two runs are comparable test for test.
    """
    return nengo.Simulator


def record_split(sim):
    """Append how ``sim``'s model was split to the file named by ``NENGO_MPI_SPLIT_LOG``.

    Called by every `nengo_mpi.Simulator` built from a network; does nothing unless the
    variable is set. Each line holds the running test (pytest's PYTEST_CURRENT_TEST),
    the number of objects (ensembles and nodes) and the number of components that
    received at least one of them, so a run of nengo's suite can report how many models
    really were split (``python -m nengo_mpi.testing <log>`` summarises it).
    """
    log = os.environ.get(SPLIT_LOG_ENV)
    if not log:
        return
    test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
    with open(log, "a", encoding="utf-8") as f:
        f.write(json.dumps({
            "test": test,
            "objects": len(sim.assignments),
            "components": sim.n_components,
            "used": len(set(sim.assignments.values())),
        }) + "\n")


def summarise_split_log(path):
    """Counts over a split log: how many Simulators had >= 2 objects, and how many of
    those had their objects on >= 2 components."""
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    multi = [r for r in rows if r["objects"] >= 2]
    split = [r for r in multi if r["used"] >= 2]
    return {
        "simulators": len(rows),
        "with_2_or_more_objects": len(multi),
        "split_over_2_or_more_components": len(split),
        "not_split_tests": sorted({r["test"] for r in multi if r["used"] < 2}),
    }


if __name__ == "__main__":
    import sys

    summary = summarise_split_log(sys.argv[1])
    unsplit = summary.pop("not_split_tests")
    print(json.dumps(summary, indent=1))
    print(f"{len(unsplit)} tests with a model left in one component:")
    for test in unsplit:
        print("  ", test)
