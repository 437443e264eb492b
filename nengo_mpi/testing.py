"""Hooks for running Nengo's own test suite (see tests/nengo_suite/)."""

import json
import os

import nengo

from .simulator import Simulator

#: Where `split_simulator` appends one JSON line per Simulator it builds.
SPLIT_LOG_ENV = "NENGO_MPI_SPLIT_LOG"


def reference_simulator(request):  # pylint: disable=unused-argument
    """nengo.Simulator, loaded through ``nengo_simloader`` (which passes the request).

    Going through the loader (rather than ``nengo_simulator = nengo.Simulator``) makes
    nengo's plugin select exactly the backend test set it selects for nengo_mpi, with the
    same test ids and so the same seeds: the two runs are comparable test for test.
    """
    return nengo.Simulator


class SplitSimulator(Simulator):
    """nengo_mpi.Simulator that records how each model was split (see `split_simulator`).

    A module-level class, so that nengo's tests can pickle its simulators.
    """

    #: The id of the test being run (set by `split_simulator`; tests run one at a time).
    test_id = None

    def __init__(self, network, *args, **kwargs):
        super().__init__(network, *args, **kwargs)
        log = os.environ.get(SPLIT_LOG_ENV)
        if log and network is not None:
            with open(log, "a", encoding="utf-8") as f:
                f.write(json.dumps({
                    "test": self.test_id,
                    "objects": len(self.assignments),
                    "components": self.n_components,
                    "used": len(set(self.assignments.values())),
                }) + "\n")


def split_simulator(request):
    """`SplitSimulator`, loaded through ``nengo_simloader`` for each test.

    The default partitioner already splits into as many components as the job has
    ranks. With ``NENGO_MPI_SPLIT_LOG`` set, every Simulator appends a line to that file:
    the test id, the number of objects (ensembles and nodes) and the number of
    components that received at least one of them, so a run can report how many models
    really were split (``python -m nengo_mpi.testing <log>`` summarises it).
    """
    SplitSimulator.test_id = request.node.nodeid
    return SplitSimulator


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
