"""Hooks for running Nengo's own test suite (see tests/nengo_suite/)."""

import json

import nengo



def reference_simulator(request):  # pylint: disable=unused-argument
    """nengo.Simulator, loaded through ``nengo_simloader`` (which passes the request).

    Going through the loader (rather than ``nengo_simulator = nengo.Simulator``) makes
    nengo's plugin select exactly the backend test set it selects for nengo_mpi, with the
    same test ids and so the same seeds: the two runs are comparable test for test.
    """
    return nengo.Simulator


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


if __name__ == "__main__":
    import sys

    summary = summarise_split_log(sys.argv[1])
    unsplit = summary.pop("not_split_tests")
    fallbacks = summary.pop("fallback_classes")
    print(json.dumps(summary, indent=1))
    print("classes run through Python (number of tests):")
    for name, count in fallbacks.items():
        print(f"   {name}: {count}")
    print(f"{len(unsplit)} tests with a model left in one component:")
    for test in unsplit:
        print("  ", test)
