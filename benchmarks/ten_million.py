"""Build a model of ten million neurons on every rank, save it in parallel, load it and
run it: the time and memory of each stage, per rank (issue 15).

Usage::

    python benchmarks/ten_million.py [--rows 100] [--cols 500] [--neurons 200]
        [--ranks 8] [--steps 5] [--dir /tmp]

1. **Build and save**: ``mpirun -np RANKS python -m nengo_mpi ten_million.py --save``.
   Rank 0 makes the grid (``rows x cols`` ensembles of ``neurons`` LIF neurons, each
   feeding its right and lower neighbour; the defaults give 50,000 ensembles and
   10,000,000 neurons) and calls `nengo_mpi.save` with ``Partitioner(RANKS)``: every
   rank builds its components (a halo build), and writes them to its part file.
2. **Load and run**: ``mpirun -np RANKS python -m nengo_mpi run FILE --time ...``.

Every rank runs under ``/usr/bin/time``, which reports its peak resident memory and
wall time; rank 0 also times its own stages. Prints the stages and one JSON line. The
decoder cache is off. Not part of the test suite: it takes minutes and GBs.
"""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TIME_FORMAT = "peak_kib %M wall_s %e"


def save_step(rows, cols, neurons, path, ranks):
    """Rank 0's part of stage 1 (under ``python -m nengo_mpi``)."""
    sys.path.insert(0, HERE)
    # pylint: disable=import-outside-toplevel
    import nengo

    nengo.rc["decoder_cache"]["enabled"] = "False"
    import nengo_mpi
    from models import grid
    from nengo_mpi.files import saving

    timed = {}
    write = saving.save_everywhere

    def timed_write(*args, **kwargs):
        start = time.perf_counter()
        try:
            return write(*args, **kwargs)
        finally:
            timed["write_s"] = time.perf_counter() - start

    saving.save_everywhere = timed_write
    start = time.perf_counter()
    net = grid(rows, cols, neurons)
    timed["network_s"] = time.perf_counter() - start
    timed["network_peak_rss_mib"] = resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    nengo_mpi.save(net, path, partitioner=nengo_mpi.Partitioner(ranks), seed=1)
    timed["save_s"] = time.perf_counter() - start
    timed["build_s"] = timed["save_s"] - timed["write_s"]
    print("RANK0 " + json.dumps(timed), flush=True)


def timed_ranks(ranks, argv, folder):
    """``mpirun -np ranks`` of ``argv`` with every rank under ``/usr/bin/time``; returns
    the process, the job's wall time and ``[peak MiB]`` by rank."""
    mpirun = os.path.join(os.path.dirname(sys.executable), "mpirun")
    inner = " ".join(argv)
    # MPICH's launcher gives each process its rank in PMI_RANK; one report file per
    # rank, since the ranks' stderr lines interleave.
    report = os.path.join(folder, "ten_million_time")
    shell = f'exec /usr/bin/time -o {report}.$PMI_RANK -f "{TIME_FORMAT}" {inner}'
    start = time.perf_counter()
    proc = subprocess.run([mpirun, "-np", str(ranks), "sh", "-c", shell],
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{inner} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    peaks = []
    for rank in range(ranks):
        with open(f"{report}.{rank}", encoding="utf-8") as f:
            kib = re.search(r"peak_kib (\d+)", f.read()).group(1)
        os.remove(f"{report}.{rank}")
        peaks.append(round(int(kib) / 1024, 1))
    return proc, seconds, peaks


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--save":
        save_step(*map(int, sys.argv[2:5]), sys.argv[5], int(sys.argv[6]))
        return
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=100)
    p.add_argument("--cols", type=int, default=500)
    p.add_argument("--neurons", type=int, default=200)
    p.add_argument("--ranks", type=int, default=8)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--dir", default="/tmp")
    args = p.parse_args()
    path = os.path.join(args.dir, "ten_million.h5")
    out = os.path.join(args.dir, "ten_million_probes.h5")
    py = sys.executable
    result = {"neurons": args.rows * args.cols * args.neurons,
              "ensembles": args.rows * args.cols, "ranks": args.ranks}

    proc, seconds, peaks = timed_ranks(args.ranks, [
        py, "-m", "nengo_mpi", os.path.abspath(__file__), "--save", str(args.rows),
        str(args.cols), str(args.neurons), path, str(args.ranks)], args.dir)
    result["save_job_s"] = seconds
    result["rank0"] = json.loads(re.search(r"^RANK0 (.*)$", proc.stdout, re.M).group(1))
    result["save_peak_rss_mib"] = peaks
    folder = os.path.dirname(path)
    files = [f for f in os.listdir(folder)
             if f == os.path.basename(path) or f.startswith(os.path.basename(path) +
                                                           ".part")]
    result["files"] = len(files)
    result["file_mb"] = sum(os.path.getsize(os.path.join(folder, f)) for f in files) / 1e6
    print(f"saved: {json.dumps(result)}", file=sys.stderr, flush=True)

    proc, seconds, peaks = timed_ranks(args.ranks, [
        py, "-m", "nengo_mpi", "run", path, "--time", str(args.steps * 0.001), "--out",
        out, "--timing", "--trust"], args.dir)
    result["run_job_s"] = seconds
    result["load_s"] = float(re.search(r"loaded in ([\d.]+) s", proc.stderr).group(1))
    result["run_peak_rss_mib"] = peaks
    result["steps"] = args.steps
    # pylint: disable=import-outside-toplevel
    import nengo_mpi

    data = nengo_mpi.load_probes(out)
    result["probe_samples"] = {k: list(data[k].shape) for k in data}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
