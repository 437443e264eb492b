"""Balance at 2 ranks, measured and planned (issue 14's targets): writes the "balance"
section of RESULTS.md.

Usage: python benchmarks/balance.py [--models M ...] [--repeats 3] [--seconds 1]

For each model, runs ``benchmarks/one_run.py`` at 1 process and under
``mpirun -np 2 python -m nengo_mpi`` (the fastest of ``--repeats`` runs each), and
reports:

- the measured time per step (``sim.run`` over steps, probes and exchange included);
- the speed-up of 2 ranks over 1;
- the load imbalance from the engine's timing (max compute / mean compute - 1, as
  ``--timing`` prints it);
- `nengo_mpi.plan`'s predicted time per step at 1 and 2 ranks, and its error.

Run it with the venv's python, not under mpirun: it starts the runs it measures.
"""

import argparse
import os
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from models import MODELS  # noqa: E402  pylint: disable=wrong-import-position
from results_file import write_section  # noqa: E402  pylint: disable=wrong-import-position
from run import cpu_name  # noqa: E402  pylint: disable=wrong-import-position
from scaling import measure  # noqa: E402  pylint: disable=wrong-import-position

import nengo_mpi  # noqa: E402  pylint: disable=wrong-import-position

SECTION = "balance"
TARGET_MODELS = ["random_graph_nodes", "cconv256", "recurrent", "spa_question"]


def measure_balance(model, ranks, seconds, repeats):
    """The fastest of ``repeats`` runs (scaling.py's `measure`, which waits for idle
    CPUs first): (seconds per step, imbalance, compute per rank, steps, wait per
    rank, exchange per rank), the last four totals over the run."""
    run = measure(model, ranks, seconds, repeats, quiet_timeout=20.0)
    compute = [r["compute_s"] for r in run["timing"]]
    imbalance = max(compute) / (sum(compute) / len(compute)) - 1
    return (run["t"], imbalance, compute, run["steps"],
            [r["wait_s"] for r in run["timing"]], [r["exchange_s"] for r in run["timing"]])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=TARGET_MODELS,
                        choices=sorted(MODELS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--shared", type=int, nargs="*", default=[4, 8],
                        help="rank counts above the cores, where the plan's error is "
                             "stated (the plan assumes a core per rank)")
    parser.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    args = parser.parse_args()
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    rows = []
    for model in args.models:
        net = MODELS[model]()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plans = {p: nengo_mpi.plan(net, p, cores=os.cpu_count())
                     for p in [1, 2] + args.shared}
        measured = {p: measure_balance(model, p, args.seconds, args.repeats)
                    for p in [1, 2] + args.shared}
        rows.append((model, measured, plans))
        print(f"{model}: 1 rank {measured[1][0] * 1e6:.1f} us/step, 2 ranks "
              f"{measured[2][0] * 1e6:.1f} us/step, imbalance {100 * measured[2][1]:.1f}%; "
              f"planned {plans[1].t_step * 1e6:.1f} / {plans[2].t_step * 1e6:.1f}",
              file=sys.stderr, flush=True)

    costs = plans[1].costs.source
    lines = [
        "## Balance at 2 ranks: measured and planned",
        "",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores (a core per rank). Written by "
        f"`benchmarks/balance.py --repeats {args.repeats}`; the fastest of "
        f"{args.repeats} runs of `benchmarks/one_run.py MODEL nengo_mpi "
        f"{args.seconds:g}` per rank count, the 2-rank ones under `mpirun -np 2 python "
        f"-m nengo_mpi`; it took {time.monotonic() - started:.0f} s, load average "
        f"{load_before:.1f} at the start. Time per step is `sim.run`'s wall time over "
        "its steps; imbalance is the engine's `--timing` figure (max compute / mean "
        f"compute - 1). Planned: `nengo_mpi.plan(net, N)` with the costs from {costs}.",
        "",
        "| model | 1 rank [us/step] | 2 ranks [us/step] | speed-up | imbalance, 2 ranks "
        "| compute per rank [us/step] | wait / exchange per rank [us/step] "
        "| planned 1 rank | error | planned 2 ranks | error | planned imbalance |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    checks = []
    for model, measured, plans in rows:
        t1 = measured[1][0]
        t2, imb, compute, steps, wait, exchange = measured[2]
        e1 = plans[1].t_step / t1 - 1
        e2 = plans[2].t_step / t2 - 1
        lines.append(
            f"| {model} | {t1 * 1e6:.1f} | {t2 * 1e6:.1f} | {t1 / t2:.2f}x | "
            f"{100 * imb:.1f}% | {' / '.join(f'{c / steps * 1e6:.1f}' for c in compute)} | "
            f"{' / '.join(f'{w / steps * 1e6:.1f}, {x / steps * 1e6:.1f}' for w, x in zip(wait, exchange))} | "
            f"{plans[1].t_step * 1e6:.1f} | {100 * e1:+.0f}% | "
            f"{plans[2].t_step * 1e6:.1f} | {100 * e2:+.0f}% | "
            f"{100 * plans[2].imbalance:.1f}% |"
        )
        checks.append((model, imb <= 0.10, t1 / t2 >= 1.8, abs(e1) <= 0.25,
                       abs(e2) <= 0.25))
    lines += [
        "",
        "Targets (issue 14): imbalance <= 10% and speed-up >= 1.8x at 2 ranks; the "
        "plan within 25% of the measured time per step at 1 and 2 ranks.",
        "",
        "| model | imbalance <= 10% | speed-up >= 1.8x | plan within 25%, 1 rank | "
        "plan within 25%, 2 ranks |",
        "|---|---|---|---|---|",
    ]
    for model, *ok in checks:
        lines.append(f"| {model} | " + " | ".join("met" if o else "missed" for o in ok)
                     + " |")
    if args.shared:
        lines += [
            "",
            f"The plan at more ranks than the {os.cpu_count()} cores, told that the ranks "
            "share them (`cores=`; the time per step is then at least the ranks' total "
            "busy time over the cores): measured and planned us per step, and the "
            "error.",
            "",
            "| model | " + " | ".join(f"{p} ranks: measured / planned / error"
                                     for p in args.shared) + " |",
            "|---|" + "---|" * len(args.shared),
        ]
        for model, measured, plans in rows:
            cells = [f"{measured[p][0] * 1e6:.1f} / {plans[p].t_step * 1e6:.1f} / "
                     f"{100 * (plans[p].t_step / measured[p][0] - 1):+.0f}%"
                     for p in args.shared]
            lines.append(f"| {model} | " + " | ".join(cells) + " |")
    lines += ["", "Reproduce: `.venv/bin/python benchmarks/balance.py`."]
    write_section(args.out, SECTION, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
