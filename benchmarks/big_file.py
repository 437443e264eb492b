"""Save a model of a million neurons in a thousand components, load it and run it.

Usage::

    python benchmarks/big_file.py [--rows 50] [--cols 100] [--neurons 200]
        [--components 1000] [--ranks 4] [--steps 5] [--dir /tmp] [--optimize]

Builds a grid of ``rows x cols`` ensembles of ``neurons`` LIF neurons each (defaults:
5,000 ensembles, 1,000,000 neurons), every ensemble connected to its right and lower
neighbours, splits it into ``components`` components with METIS and saves it with
`nengo_mpi.save` (timed: nengo's build, partitioning + lowering, writing). Then runs
``mpirun -np ranks python -m nengo_mpi run`` for a few steps and reports the file size,
the load time (every rank reading its own components and building its engine), the
run, and each rank's peak memory. Prints one JSON line at the end.

Operators are not merged unless ``--optimize`` is given (nengo_mpi's merge planner; with
nengo's optimizer, which it replaced, partitioning and lowering took 42 s here, 9 s
without merging, measured while other work loaded the machine; not re-measured since).

Not part of the test suite: it takes minutes and several GB.
"""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time

# nengo's build solves thousands of small least-squares problems: one BLAS thread each is
# faster than threads contending for this machine's two cores (set before numpy loads).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import nengo  # noqa: E402  pylint: disable=wrong-import-position

import nengo_mpi  # noqa: E402  pylint: disable=wrong-import-position
from nengo_mpi.lower.ownership import OwnershipBuilder  # noqa: E402
from nengo_mpi.lower.program import lower_model  # noqa: E402
from nengo_mpi.files.saving import write_model  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import grid  # noqa: E402  pylint: disable=wrong-import-position


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=50)
    p.add_argument("--cols", type=int, default=100)
    p.add_argument("--neurons", type=int, default=200)
    p.add_argument("--components", type=int, default=1000)
    p.add_argument("--ranks", type=int, default=4)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--dir", default="/tmp")
    p.add_argument("--optimize", action="store_true")
    args = p.parse_args()

    path = os.path.join(args.dir, "big_model.h5")
    out = os.path.join(args.dir, "big_probes.h5")
    result = {"ensembles": args.rows * args.cols,
              "neurons": args.rows * args.cols * args.neurons,
              "components": args.components}

    t = time.perf_counter()
    net = grid(args.rows, args.cols, args.neurons)
    model = nengo.builder.Model(dt=0.001, builder=OwnershipBuilder())
    model.build(net)
    result["build_s"] = time.perf_counter() - t

    t = time.perf_counter()
    partitioner = nengo_mpi.Partitioner(args.components)
    assignments = partitioner.partition(net)
    lowered = lower_model(model, assignments, args.components, optimize=args.optimize)
    result["partition_lower_s"] = time.perf_counter() - t
    result["channels"] = len(lowered.channels)

    t = time.perf_counter()
    write_model(path, lowered, model, seed=1)
    result["write_s"] = time.perf_counter() - t
    result["file_mb"] = os.path.getsize(path) / 1e6
    result["save_peak_rss_mib"] = peak_rss_mib()
    del lowered, model, net
    print(f"saved {path}: {result}", file=sys.stderr, flush=True)

    mpirun = os.path.join(os.path.dirname(sys.executable), "mpirun")
    cmd = [mpirun, "-np", str(args.ranks), sys.executable, "-m", "nengo_mpi", "run", path,
           "--time", str(args.steps * 0.001), "--out", out, "--timing", "--trust"]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    result["mpirun_total_s"] = time.perf_counter() - t
    print(proc.stderr, file=sys.stderr)
    if proc.returncode != 0:
        sys.exit(f"the run failed (exit {proc.returncode})")
    result["load_s"] = float(re.search(r"loaded in ([\d.]+) s", proc.stderr).group(1))
    rows = re.findall(r"^\s+(\d+)\s+\S+\s+([\d.]+)", proc.stderr, re.M)
    result["run_compute_s_per_rank"] = [float(c) for _, c in rows]
    result["steps"] = args.steps
    rss = re.search(r"peak memory per rank \(MiB\): ([\d, ]+)", proc.stderr).group(1)
    result["rank_peak_rss_mib"] = [float(x) for x in rss.split(",")]
    data = nengo_mpi.load_probes(out)
    result["probe_samples"] = {k: list(data[k].shape) for k in data}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
