"""Construction time and peak memory per rank, built on rank 0 alone or on every rank.

Usage: distributed_build.py [--models grid1m spa_question] [--ranks 1 2 4] [--steps 5]
                            [--repeats 1] [--out RESULTS.md]

For every model and rank count, runs ``one_run.py MODEL nengo_mpi`` (construction, then
``--steps`` steps) in a plain process (1 rank) and under ``mpirun -np N python -m
nengo_mpi`` twice: with distributed construction (the default) and with
``NENGO_MPI_DISTRIBUTED_BUILD=0`` (rank 0 builds and lowers everything, the other ranks
solve decoders for it). Reports rank 0's construction wall time, the peak resident
memory of every rank, and that memory above the baseline: the same launch running the
seed example (Python, numpy, nengo, nengo_mpi's engine and MPI). Writes the
"distributed-build" section of RESULTS.md and prints one JSON line per run. The decoder
cache is off, so that every construction solves.
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from results_file import write_section  # noqa: E402  pylint: disable=wrong-import-position

SECTION = "distributed-build"


def run(model, ranks, steps, distributed):
    """One run of one_run.py; returns its JSON (plus the launch's settings)."""
    env = dict(os.environ, NENGO_MPI_DISTRIBUTED_BUILD="1" if distributed else "0")
    script = [sys.executable, os.path.join(HERE, "one_run.py"), model, "nengo_mpi",
              str(steps * 0.001), "--no-cache"]
    if ranks > 1:
        mpirun = os.path.join(os.path.dirname(sys.executable), "mpirun")
        cmd = [mpirun, "-np", str(ranks), sys.executable, "-m", "nengo_mpi"] + script[1:]
    else:
        cmd = script
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["distributed"] = distributed
    if result["timing"]:
        result["rank_rss"] = [r["peak_rss_mib"] for r in result["timing"]]
    else:
        result["rank_rss"] = [result["peak_rss_mib"]]
    del result["timing"]
    return result


def best(model, ranks, steps, distributed, repeats):
    """The run of least construction time among ``repeats``."""
    runs = [run(model, ranks, steps, distributed) for _ in range(repeats)]
    for r in runs:
        print(json.dumps(r), flush=True)
    return min(runs, key=lambda r: r["build_s"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["grid1m", "spa_question"])
    parser.add_argument("--ranks", nargs="+", type=int, default=[1, 2, 4])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    args = parser.parse_args()

    lines = [
        "## Distributed construction: construction time and memory per rank",
        "",
        f"`benchmarks/distributed_build.py --models {' '.join(args.models)} --ranks "
        f"{' '.join(map(str, args.ranks))} --repeats {args.repeats}`: rank 0's "
        "construction wall time (fastest of the repeats) and every rank's peak memory, "
        "decoder cache off. *Distributed*: every rank builds and lowers its own "
        "components (the default), as a *halo* (its components and their neighbours "
        "alone) or, where the model does not allow that, each rank the *whole* "
        "model's structure; *rank 0*: rank 0 builds and lowers everything while "
        "the other ranks solve decoders for it (`NENGO_MPI_DISTRIBUTED_BUILD=0`, the "
        "behaviour before). At 1 rank, build workers solve in forked processes. Memory "
        "above the baseline subtracts the same launch running the seed example "
        "(2 x 100 LIF), which is Python, numpy, nengo, nengo_mpi's engine and MPI.",
        "",
        "| model | ranks | construction | vs 1 rank | peak MiB per rank | above baseline, "
        "per rank | largest vs 1 rank |",
        "|---|---|---|---|---|---|---|",
    ]
    results = []
    for model in args.models:
        baseline = {}
        one = None
        for ranks in args.ranks:
            modes = [True] if ranks == 1 else [True, False]
            base = best("seed", ranks, args.steps, True, 1)
            baseline[ranks] = base["rank_rss"]
            for distributed in modes:
                r = best(model, ranks, args.steps, distributed, args.repeats)
                above = [max(0.0, m - b) for m, b in zip(r["rank_rss"], baseline[ranks])]
                r["above_baseline"] = above
                results.append(r)
                if ranks == 1:
                    one = r
                how = f"distributed ({r['build']})" if distributed else "rank 0"
                label = "1" if ranks == 1 else f"{ranks}, {how}"
                lines.append(
                    f"| {model} | {label} | {r['build_s']:.2f} s | "
                    f"{r['build_s'] / one['build_s']:.2f}x | "
                    f"{', '.join(f'{m:.0f}' for m in r['rank_rss'])} | "
                    f"{', '.join(f'{m:.0f}' for m in above)} | "
                    f"{max(above) / max(one['above_baseline']):.2f}x |")
        lines.append(
            f"| {model} | baseline | | | "
            + "; ".join(f"{n}: {', '.join(f'{m:.0f}' for m in b)}"
                        for n, b in baseline.items()) + " | | |")
    write_section(args.out, SECTION, lines + [""])
    with open(os.path.join(HERE, "distributed_build.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
