"""A record of how each Simulator was split and what ran through Python.

Used to report on runs of Nengo's own test suite (see tests/nengo_suite/): with
``NENGO_MPI_SPLIT_LOG`` set, every `nengo_mpi.Simulator` built from a network appends one
JSON line to that file.
"""

import json
import os

from ..lower.fallback import fallback_name

#: Where `record_split` appends one JSON line per Simulator built.
SPLIT_LOG_ENV = "NENGO_MPI_SPLIT_LOG"


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
            "fallbacks": fallback_classes(sim),
            "build": ("rank 0" if not sim.distributed_build
                      else "halo" if sim.halo_build else "whole"),
        }) + "\n")


def fallback_classes(sim):
    """Names of the classes whose operators run through Python in ``sim``."""
    # pylint: disable=protected-access
    return sorted({op if isinstance(op, str) else fallback_name(op)
                   for op in sim._fallbacks})


def summarise_split_log(path):
    """Counts over a split log: how many Simulators had >= 2 objects, how many of
    those had their objects on >= 2 components, and how many were built on every rank
    (as halos, or each rank the whole structure)."""
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    multi = [r for r in rows if r["objects"] >= 2]
    split = [r for r in multi if r["used"] >= 2]
    fallbacks = {}
    for r in rows:
        for name in r.get("fallbacks", ()):
            fallbacks.setdefault(name, set()).add(r["test"])
    return {
        "fallback_classes": {k: len(v) for k, v in sorted(fallbacks.items())},
        "simulators": len(rows),
        "with_2_or_more_objects": len(multi),
        "split_over_2_or_more_components": len(split),
        "built_on_every_rank": sum(1 for r in rows if r.get("build") in ("halo", "whole")),
        "built_as_halos": sum(1 for r in rows if r.get("build") == "halo"),
        "not_split_tests": sorted({r["test"] for r in multi if r["used"] < 2}),
    }
