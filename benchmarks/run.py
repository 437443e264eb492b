"""Benchmark nengo_mpi against nengo.Simulator in one run, alternating; write RESULTS.md.

Usage: python benchmarks/run.py [--repeats N] [--seconds S]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

import nengo

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.dirname(sys.executable)

#: (label, command prefix): nengo's reference, nengo_mpi in one process (2 components),
#: nengo_mpi on 2 MPI ranks (one component each).
BACKENDS = [
    ("nengo.Simulator", [sys.executable], "nengo"),
    ("nengo_mpi, 1 process", [sys.executable], "nengo_mpi"),
    ("nengo_mpi, 2 ranks", [os.path.join(BIN, "mpirun"), "-np", "2", sys.executable,
                            "-m", "nengo_mpi"], "nengo_mpi"),
]


def one(prefix, backend, model, seconds):
    # One BLAS thread, as the reference anchors are measured.
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    out = subprocess.run(prefix + [os.path.join(HERE, "one_run.py"), model, backend,
                                   str(seconds)],
                         capture_output=True, text=True, check=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0, help="simulated seconds")
    parser.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    args = parser.parse_args()

    results = {label: [] for label, _, _ in BACKENDS}
    for _ in range(args.repeats):  # alternate backends so drift hits all alike
        for label, prefix, backend in BACKENDS:
            results[label].append(one(prefix, backend, "seed", args.seconds))

    ref_sps = None
    rows = []
    for label, runs in results.items():
        run_s = statistics.median(r["run_s"] for r in runs)
        build_s = statistics.median(r["build_s"] for r in runs)
        sps = runs[0]["steps"] / run_s
        ref_sps = ref_sps or sps
        rows.append((label, build_s, run_s, sps, sps / ref_sps, run_s / args.seconds))

    lines = [
        "# Benchmark results",
        "",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"nengo {nengo.__version__}; one BLAS thread.",
        f"Model: the seed example (2 x 100 LIF), {args.seconds:g} simulated seconds at "
        f"dt = 1 ms; median of {args.repeats} runs, backends alternating.",
        "",
        "| backend | build [s] | run [s] | steps/s | speed-up vs nengo | s per simulated s |",
        "|---|---|---|---|---|---|",
    ]
    for label, build_s, run_s, sps, ratio, per in rows:
        lines.append(f"| {label} | {build_s:.3f} | {run_s:.3f} | {sps:,.0f} | "
                     f"{ratio:.1f}x | {per:.4f} |")
    lines += ["", "Reproduce: `make bench` (or `.venv/bin/python benchmarks/run.py`)."]
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
