"""One end-to-end measurement: construct, run and close a Simulator; prints one JSON line.

Usage: e2e_run.py MODEL BACKEND [--seconds S] [--cache cold|warm --cache-dir DIR]
                  [--construct-only] [--profile]          (BACKEND: nengo, nengo_mpi)

Used by ``end_to_end.py``, one fresh process per measurement, so the times are those a
user's script sees after its imports. Under ``mpirun -np N python -m nengo_mpi`` the
nengo_mpi backend splits the model into N components, one per rank (rank 0 runs this
script).

Cache states: *cold* disables nengo's decoder cache, as Nengo's notebooks do; *warm*
points it at ``--cache-dir``, which the caller has filled by constructing the same model
once (``--construct-only``).
"""

import argparse
import cProfile
import json
import os
import resource
import sys
import time

import nengo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import MODELS  # noqa: E402  pylint: disable=wrong-import-position


def peak_rss_mib(who=resource.RUSAGE_SELF):
    """Peak resident set size in MiB (Linux reports KiB) of this process, or with
    ``RUSAGE_CHILDREN`` of the largest of its terminated, waited-for children."""
    return resource.getrusage(who).ru_maxrss / 1024.0


def set_cache(state, path):
    """Configure nengo's decoder cache for this process (before any Simulator)."""
    if state == "cold":
        nengo.rc["decoder_cache"]["enabled"] = "False"
    else:
        if not path:
            raise SystemExit("e2e_run.py: --cache warm needs --cache-dir")
        nengo.rc["decoder_cache"]["enabled"] = "True"
        nengo.rc["decoder_cache"]["path"] = path


def make_simulator(backend, net):
    """Construct the simulator; returns it and the number of ranks it runs on."""
    if backend == "nengo":
        return nengo.Simulator(net, progress_bar=False), 1
    import nengo_mpi  # pylint: disable=import-outside-toplevel
    from nengo_mpi.runtime import session  # pylint: disable=import-outside-toplevel

    s = session.active()
    ranks = 1 if s is None else s.size
    return nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(ranks),
                               progress_bar=False), ranks


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("backend", choices=["nengo", "nengo_mpi"])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--cache", choices=["cold", "warm"], default="cold")
    parser.add_argument("--cache-dir")
    parser.add_argument("--construct-only", action="store_true",
                        help="construct and close only (fills a warm cache)")
    parser.add_argument("--profile", action="store_true",
                        help="profile the construction; print stages, not JSON")
    args = parser.parse_args()

    set_cache(args.cache, args.cache_dir)
    if args.backend == "nengo_mpi":
        # Imported before the clock starts, as a user's script imports it at the top.
        # pylint: disable-next=import-outside-toplevel,unused-import
        import nengo_mpi  # noqa: F401
    net = MODELS[args.model]()
    rss_before = peak_rss_mib()
    children_before = peak_rss_mib(resource.RUSAGE_CHILDREN)

    profile = cProfile.Profile() if args.profile else None
    t0 = time.perf_counter()
    if profile is not None:
        profile.enable()
    sim, ranks = make_simulator(args.backend, net)
    if profile is not None:
        profile.disable()
    t1 = time.perf_counter()
    # Read now: the peaks so far are those of construction (and of the imports before).
    rss_self = peak_rss_mib()
    rss_children = peak_rss_mib(resource.RUSAGE_CHILDREN)
    rank_rss = ([entry["peak_rss_mib"] for entry in sim.timing()]
                if args.backend == "nengo_mpi" else [rss_self])

    if profile is not None:
        from build_profile import report  # pylint: disable=import-outside-toplevel

        sim.close()
        print(f"{args.model} on {args.backend} ({ranks} rank(s)), decoder cache "
              f"{args.cache}: construction {t1 - t0:.3f} s under cProfile\n")
        print(report(profile))
        return

    t2 = time.perf_counter()  # after the reads above, which cost an exchange of ranks
    if not args.construct_only:
        sim.run(args.seconds)
    t3 = time.perf_counter()
    sim.close()
    t4 = time.perf_counter()
    print(json.dumps({
        "model": args.model, "backend": args.backend, "ranks": ranks, "cache": args.cache,
        "seconds": 0.0 if args.construct_only else args.seconds,
        "neurons": sum(e.n_neurons for e in net.all_ensembles),
        "construct_s": t1 - t0, "run_s": t3 - t2, "close_s": t4 - t3,
        "rss_before_mib": rss_before,
        "rank_rss_mib": rank_rss,
        "peak_rss_mib": max(rank_rss + [rss_self]),
        # Children (e.g. worker processes) ended and waited for before each point.
        "children_rss_before_mib": children_before,
        "children_rss_mib": rss_children,
        "children_rss_after_close_mib": peak_rss_mib(resource.RUSAGE_CHILDREN),
    }))


if __name__ == "__main__":
    main()
