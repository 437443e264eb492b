"""Time one backend on one model; prints one JSON line. Used by run.py, also under mpirun.

Usage: one_run.py MODEL BACKEND SECONDS   (BACKEND: nengo, nengo_mpi)
"""

import json
import os
import sys
import time

import nengo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import MODELS  # noqa: E402  pylint: disable=wrong-import-position


def main():
    model_name, backend, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    net = MODELS[model_name]()
    t0 = time.perf_counter()
    if backend == "nengo":
        sim = nengo.Simulator(net, progress_bar=False)
        ranks = 1
    else:
        import nengo_mpi  # pylint: disable=import-outside-toplevel
        from nengo_mpi.runtime import session  # pylint: disable=import-outside-toplevel

        s = session.active()
        ranks = 1 if s is None else s.size
        sim = nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(max(ranks, 2)),
                                  progress_bar=False)
    t1 = time.perf_counter()
    with sim:
        sim.run(seconds)
    t2 = time.perf_counter()
    print(json.dumps({
        "model": model_name, "backend": backend, "ranks": ranks,
        "build_s": t1 - t0, "run_s": t2 - t1, "steps": sim.n_steps,
    }))


if __name__ == "__main__":
    main()
