"""Time one backend on one model; prints one JSON line. Used by run.py, also under mpirun.

Usage: one_run.py MODEL BACKEND SECONDS [--bits 32] [--profile] [--no-cache]
(BACKEND: nengo, nengo_mpi)

Under ``mpirun -np N python -m nengo_mpi`` the nengo_mpi backend splits the model into
N components, one per rank; in a plain process it uses one component.
"""

import argparse
import json
import os
import resource
import sys
import time

import nengo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import MODELS  # noqa: E402  pylint: disable=wrong-import-position


def peak_rss_mib():
    """This process's peak resident set size in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("backend", choices=["nengo", "nengo_mpi"])
    parser.add_argument("seconds", type=float)
    parser.add_argument("--bits", choices=["32", "64"], default="64")
    parser.add_argument("--profile", action="store_true",
                        help="after the timed run, profile 0.2 s more by operator kind")
    parser.add_argument("--no-cache", action="store_true",
                        help="turn nengo's decoder cache off (every build solves)")
    args = parser.parse_args()

    nengo.rc["precision"]["bits"] = args.bits
    if args.no_cache:
        nengo.rc["decoder_cache"]["enabled"] = "False"
    net = MODELS[args.model]()
    n_neurons = sum(e.n_neurons for e in net.all_ensembles)
    t0 = time.perf_counter()
    if args.backend == "nengo":
        sim = nengo.Simulator(net, progress_bar=False)
        ranks = 1
        rank_rss = []
        timing = None
    else:
        import nengo_mpi  # pylint: disable=import-outside-toplevel
        from nengo_mpi.runtime import session  # pylint: disable=import-outside-toplevel

        s = session.active()
        ranks = 1 if s is None else s.size
        sim = nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(ranks),
                                  progress_bar=False)
    t1 = time.perf_counter()
    with sim:
        sim.run(args.seconds)
        t2 = time.perf_counter()
        timed_steps = sim.n_steps  # the profile below runs more steps, untimed
        profile = None
        if args.backend == "nengo_mpi":
            timing = sim.timing()
            rank_rss = [r["peak_rss_mib"] for r in timing]
            if args.profile:
                # Untimed: the profile's clock reads slow many small operators.
                sim.profile_ops()
                steps = sim.n_steps
                sim.run(0.2)
                steps = sim.n_steps - steps
                profile = {kind: (v["seconds"] / steps, v["ops"])
                           for kind, v in sim.timing()[0]["ops"].items()}
    print(json.dumps({
        "model": args.model, "backend": args.backend, "ranks": ranks, "bits": args.bits,
        "neurons": n_neurons, "build_s": t1 - t0, "run_s": t2 - t1, "steps": timed_steps,
        "peak_rss_mib": max([peak_rss_mib()] + rank_rss),
        "total_rss_mib": peak_rss_mib() + sum(rank_rss[1:]), "timing": timing,
        "profile": profile,
        "build": (None if args.backend != "nengo_mpi" else "rank 0" if not
                  sim.distributed_build else "halo" if sim.halo_build else "whole"),
    }))


if __name__ == "__main__":
    main()
