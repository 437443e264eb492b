"""Time `nengo_mpi.save` of a model in one process and in parallel, and check that both
files run to the same probe data.

Usage: parallel_save.py [--model grid1m] [--ranks 2] [--components 2] [--dir /tmp]

Runs this script's ``save`` step in a plain process and under ``mpirun -np RANKS python
-m nengo_mpi`` (every rank builds and writes its own components), then runs both files
for 20 steps at RANKS ranks and compares the probe files. Prints one JSON line per save
and the comparison. The decoder cache is off.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def save_step(model, path, components):
    """The timed save (run in a plain process or on rank 0 of a job)."""
    sys.path.insert(0, HERE)
    # pylint: disable=import-outside-toplevel
    import nengo
    nengo.rc["decoder_cache"]["enabled"] = "False"
    import nengo_mpi
    from models import MODELS
    from nengo_mpi.runtime import session

    net = MODELS[model]()
    start = time.perf_counter()
    nengo_mpi.save(net, path, partitioner=nengo_mpi.Partitioner(components), seed=1)
    seconds = time.perf_counter() - start
    folder, name = os.path.split(path)
    files = sorted(f for f in os.listdir(folder) if f.startswith(name))
    s = session.active()
    print(json.dumps({
        "ranks": 1 if s is None else s.size, "save_s": seconds, "files": files,
        "mb": sum(os.path.getsize(os.path.join(folder, f)) for f in files) / 1e6,
        "rank0_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--save-step":
        save_step(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="grid1m")
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--components", type=int, default=2)
    parser.add_argument("--dir", default="/tmp")
    args = parser.parse_args()
    py = sys.executable
    mpirun = os.path.join(os.path.dirname(py), "mpirun")
    serial = os.path.join(args.dir, "serial_save.h5")
    parallel = os.path.join(args.dir, "parallel_save.h5")
    step = [os.path.abspath(__file__), "--save-step", args.model]
    subprocess.run([py] + step + [serial, str(args.components)], check=True)
    subprocess.run([mpirun, "-np", str(args.ranks), py, "-m", "nengo_mpi"] + step
                   + [parallel, str(args.components)], check=True)
    outs = []
    for path in (serial, parallel):
        out = path + ".probes.h5"
        subprocess.run([mpirun, "-np", str(args.ranks), py, "-m", "nengo_mpi", "run", path,
                        "--time", "0.02", "--out", out, "--trust"], check=True,
                       capture_output=True)
        outs.append(out)
    import numpy as np  # pylint: disable=import-outside-toplevel
    import nengo_mpi  # pylint: disable=import-outside-toplevel

    a, b = (nengo_mpi.load_probes(o) for o in outs)
    print(json.dumps({"same_probe_data": sorted(a) == sorted(b) and all(
        np.array_equal(a[k], b[k]) for k in a)}))


if __name__ == "__main__":
    main()
