"""End to end: what a Nengo user waits for, nengo_mpi against nengo.Simulator.

Usage: python benchmarks/end_to_end.py [--repeats N] [--models a,b,...] [--quick]
       python benchmarks/end_to_end.py --report-only
       python benchmarks/end_to_end.py --profile MODEL BACKEND [--cache cold|warm]

A user's script constructs a Simulator, runs it and closes it; with nengo_mpi the run
is short, so construction is most of the wait. For every model, backend and decoder
cache state this times construction (``Simulator(net)``), ``sim.run(1.0)`` and
``close()`` in a fresh process (``e2e_run.py``), and records the peak resident memory
at the end of construction (of every rank, and of child processes).

Cache states: *cold* disables nengo's decoder cache, as Nengo's notebooks do; *warm*
enables it in a fresh temporary directory per model, filled by one untimed nengo
construction of that model, which every backend then reads (a warm run that adds to
the cache is flagged: its decoders were not found there).

Backends alternate within every repeat (their order rotates from one repeat to the
next), so drift in the machine's speed hits them alike; the report gives medians and
ratios against nengo.Simulator measured in the same run. The report is a section of
RESULTS.md between markers (the rest of the file is kept); the raw records go to
end_to_end.json, from which ``--report-only`` rewrites the section.

``--profile MODEL BACKEND`` instead profiles one construction with cProfile and prints
where its time goes by stage (decoder solves, op merging, lowering, ...; see
``build_profile.py``). BACKEND: nengo, nengo_mpi or nengo_mpi2 (2 ranks).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# pylint: disable=wrong-import-position
import run  # noqa: E402  (the machine description, BLAS environment and launchers)
from models import MODELS as ALL_MODELS  # noqa: E402
from results_file import write_section  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SECTION = "end-to-end"

#: Backend key -> (label, command prefix before e2e_run.py); the launchers are run.py's.
_PREFIX = {label: prefix for label, prefix, _, _ in run.BACKENDS}
BACKENDS = {
    "nengo": ("nengo", _PREFIX["nengo"], "nengo"),
    "nengo_mpi": ("nengo_mpi 1 proc", _PREFIX["nengo_mpi 1 proc"], "nengo_mpi"),
    "nengo_mpi2": ("nengo_mpi 2 ranks", _PREFIX["nengo_mpi 2 ranks"], "nengo_mpi"),
}
REFERENCE = "nengo"

#: Model -> label in the report; labels of run.py's models are reused.
MODELS = {
    "seed": run.MODELS["seed"][1],
    "cconv256": run.MODELS["cconv256"][1],
    "integrators": run.MODELS["integrators"][1],
    "random_graph": run.MODELS["random_graph"][1],
    "spa_question": "g) nengo_spa question answering with memory and control, D = 128",
    "spa_cleanup": "h) nengo_spa associative-memory cleanup, D = 128, 48 keys",
    "spa_sequence": "i) nengo_spa routed sequence, D = 64",
}
QUICK_MODELS = ["seed"]
CACHES = ["cold", "warm"]

#: The targets of the issue. End-to-end speed-up (nengo's total over ours) per backend,
#: on the models `E2E_TARGET_MODELS` selects; construction time as a fraction of nengo's
#: per cache state, and peak construction memory at most nengo's, on every model.
E2E_GOALS = {"nengo_mpi": 3.0, "nengo_mpi2": 4.0}
CONSTRUCT_GOALS = {"cold": 0.3, "warm": 0.2}


def e2e_target_models(models):
    """The models the end-to-end targets apply to: every nengo_spa model, and cconv256."""
    return [m for m in models if m.startswith("spa") or m == "cconv256"]


def measure(backend, model, cache, cache_dir=None, seconds=1.0, construct_only=False):
    """One fresh process of ``e2e_run.py``; returns its record plus ``process_s``, the
    wall time of the whole process (interpreter, imports, launcher included)."""
    _, prefix, name = BACKENDS[backend]
    cmd = prefix + [os.path.join(HERE, "e2e_run.py"), model, name, "--seconds",
                    str(seconds), "--cache", cache]
    if cache_dir:
        cmd += ["--cache-dir", cache_dir]
    if construct_only:
        cmd.append("--construct-only")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=run.ENV, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{model} on {backend} ({cache}) failed:\n{proc.stderr[-3000:]}")
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    record["process_s"] = elapsed
    return {key: _rounded(value) for key, value in record.items()}


def _rounded(value):
    """Floats to microseconds / thousandths of a MiB, to keep the JSON small."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def cache_files(path):
    """The files under a decoder cache directory (to tell whether a run added any)."""
    return {os.path.join(root, f) for root, _, files in os.walk(path) for f in files}


def measure_model(model, backends, repeats, seconds):
    """Every backend in both cache states, ``repeats`` times; returns
    ``{cache: {backend: [record, ...]}}``."""
    runs = {cache: {b: [] for b in backends} for cache in CACHES}
    with tempfile.TemporaryDirectory(prefix="e2e-decoder-cache-") as cache_dir:
        measure(REFERENCE, model, "warm", cache_dir, construct_only=True)
        filled = cache_files(cache_dir)
        for rep in range(repeats):
            order = backends[rep % len(backends):] + backends[:rep % len(backends)]
            for cache in CACHES:
                for backend in order:
                    record = measure(backend, model, cache,
                                     cache_dir if cache == "warm" else None, seconds)
                    if cache == "warm":
                        added = cache_files(cache_dir) - filled
                        record["cache_added"] = len(added)
                        filled |= added
                    runs[cache][backend].append(record)
                    print(f"{model:13s} {cache} {BACKENDS[backend][0]:18s} construct "
                          f"{record['construct_s']:7.3f} s, run {record['run_s']:7.3f} s",
                          file=sys.stderr, flush=True)
    return runs


def summarise(records):
    """Medians (and the spread of the total) over one backend's records."""
    totals = [r["construct_s"] + r["run_s"] + r["close_s"] for r in records]
    children = [r["children_rss_mib"] - r["children_rss_before_mib"] for r in records]
    return {
        "construct_s": statistics.median(r["construct_s"] for r in records),
        "run_s": statistics.median(r["run_s"] for r in records),
        "close_s": statistics.median(r["close_s"] for r in records),
        "total_s": statistics.median(totals),
        "total_range": (min(totals), max(totals)),
        "process_s": statistics.median(r["process_s"] for r in records),
        "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in records),
        "ranks": records[0]["ranks"],
        # A child process's peak counts only once it has ended and been waited for.
        "children_grew": max(children) > 0,
        "children_rss_mib": max(r["children_rss_mib"] for r in records),
        "cache_added": sum(r.get("cache_added", 0) for r in records),
    }


def load_text(saved):
    """Lines on what else ran: the load average measured around the run, and a note
    given with ``--note``."""
    lines = []
    if "load_average" in saved:
        start, end = saved["load_average"]
        lines.append(f"1-minute load average at the start / end of the run: {start:.1f} / "
                     f"{end:.1f} on {saved.get('cores', '?')} cores (the measured "
                     "processes account for about 1, 2 while 2 ranks run; the rest is other "
                     "work competing with them).")
    if saved.get("note"):
        lines.append(f"Note: {saved['note']}")
    return [""] + lines if lines else []


def total_text(row):
    """The median total, with its range over the repeats when there are several (nengo's
    own step time varies between builds of one model: its optimizer's stop rule reads
    the clock)."""
    low, high = row["total_range"]
    return f"{row['total_s']:.3f}" + (f" ({low:.3f}-{high:.3f})" if high > low else "")


def report(saved):
    """The lines of RESULTS.md's end-to-end section, from the saved raw records."""
    runs = saved["runs"]
    summary = {model: {cache: {b: summarise(recs) for b, recs in rows.items()}
                       for cache, rows in caches.items()}
               for model, caches in runs.items()}
    lines = [
        f"## End to end: construction, {saved['seconds']:g} simulated second(s), close",
        "",
        f"Machine: {saved['machine']}. Written by `benchmarks/end_to_end.py`; medians of "
        f"{saved['repeats']} run(s) per backend, backends alternating, each in a fresh "
        f"process; the whole run took {saved['elapsed_s'] / 60:.1f} min.",
        *load_text(saved),
        "",
        "*cold*: nengo's decoder cache disabled (as Nengo's notebooks set it); *warm*: "
        "the cache in a fresh directory, filled by one untimed nengo construction of the "
        f"model. `total` is construction + `run({saved['seconds']:g})` + close, the "
        "median of per-run sums (their range in brackets); `construct ratio` is ours over "
        "nengo's, `speed-up` is nengo's total over ours. Peak RSS is `ru_maxrss` read "
        "right after construction (imports included; 2 ranks: the larger rank). `process` "
        "is the wall time of the whole process (interpreter start, imports, MPI launch, "
        "model creation, and the rest) as seen from the shell.",
        "",
        "| model | cache | backend | construct [s] | run [s] | close [s] | total [s] | "
        "construct ratio | speed-up | peak RSS [MiB] | process [s] |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for model, caches in summary.items():
        for cache, rows in caches.items():
            ref = rows[REFERENCE]
            for backend, r in rows.items():
                lines.append(
                    f"| {MODELS.get(model, model)} | {cache} | {BACKENDS[backend][0]} | "
                    f"{r['construct_s']:.3f} | {r['run_s']:.3f} | {r['close_s']:.4f} | "
                    f"{total_text(r)} | {r['construct_s'] / ref['construct_s']:.2f}x | "
                    f"{ref['total_s'] / r['total_s']:.2f}x | {r['peak_rss_mib']:.0f} | "
                    f"{r['process_s']:.2f} |")
                if r["children_grew"]:
                    notes.append(f"{model} {cache} {BACKENDS[backend][0]}: child processes "
                                 f"reached {r['children_rss_mib']:.0f} MiB during "
                                 "construction")
                if r["cache_added"]:
                    notes.append(f"{model} warm {BACKENDS[backend][0]}: added "
                                 f"{r['cache_added']} file(s) to the filled decoder cache "
                                 "(its decoders were not all found there)")
    lines += ["", "Child processes: "
              + ("; ".join(notes) if notes else "none grew during construction in this "
                 "run, and no warm run missed the decoder cache.")
              + " (nengo's import runs `lscpu`, a child whose peak, inherited from the "
              "parent at fork, is the baseline; a forked worker's peak likewise counts the "
              "parent's pages it shares.)"]
    lines += targets(summary)
    lines += ["", "Reproduce: `.venv/bin/python benchmarks/end_to_end.py` (`--quick` for a "
              "smoke run, `--report-only` to rewrite this section from "
              "`benchmarks/end_to_end.json`, `--profile MODEL BACKEND` for where "
              "construction spends its time)."]
    return lines


def targets(summary):
    """The issue's targets, each met or missed in this run."""
    checks = []  # (target, measured text, status)

    def check(target, values, ok):
        """``values``: model -> ratio; met if ``ok`` holds for every one."""
        if not values:
            checks.append((target, "not measured in this run", "-"))
            return
        text = "; ".join(f"{m} {v:.2f}x" for m, v in values.items())
        checks.append((target, text, "met" if all(ok(v) for v in values.values())
                       else "missed"))

    def ratios(cache, backend, models, key, inverse=False):
        out = {}
        for m in models:
            rows = summary[m].get(cache, {})
            if backend in rows and REFERENCE in rows:
                ours, ref = rows[backend][key], rows[REFERENCE][key]
                out[m] = ref / ours if inverse else ours / ref
        return out

    models = list(summary)
    for cache in CACHES:
        for backend, goal in E2E_GOALS.items():
            values = ratios(cache, backend, e2e_target_models(models), "total_s", True)
            check(f"end-to-end >= {goal:g}x nengo, {BACKENDS[backend][0]}, {cache}, "
                  "nengo_spa models and cconv256", values, lambda v, g=goal: v >= g)
    for cache, goal in CONSTRUCT_GOALS.items():
        for backend in E2E_GOALS:
            values = ratios(cache, backend, models, "construct_s")
            check(f"construction <= {goal:g}x nengo's, {BACKENDS[backend][0]}, {cache}, "
                  "every model", values, lambda v, g=goal: v <= g)
    for cache in CACHES:
        for backend in E2E_GOALS:
            values = ratios(cache, backend, models, "peak_rss_mib")
            check(f"peak construction memory <= nengo's, {BACKENDS[backend][0]}, {cache}, "
                  "every model (ratio)", values, lambda v: v <= 1.0)
    lines = ["", "### Targets (end to end)", "", "| target | measured | |", "|---|---|---|"]
    lines += [f"| {t} | {text} | {status} |" for t, text, status in checks]
    return lines


def profile(model, backend, cache):
    """Print where one construction's time goes (``e2e_run.py --profile``)."""
    _, prefix, name = BACKENDS[backend]
    with tempfile.TemporaryDirectory(prefix="e2e-decoder-cache-") as cache_dir:
        if cache == "warm":
            measure(REFERENCE, model, "warm", cache_dir, construct_only=True)
        cmd = prefix + [os.path.join(HERE, "e2e_run.py"), model, name, "--cache", cache,
                        "--cache-dir", cache_dir, "--profile"]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=run.ENV,
                              check=False)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    print(proc.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, help="default 3 (1 with --quick)")
    parser.add_argument("--models", help=f"comma-separated, of {', '.join(MODELS)} "
                        f"(default: all; {', '.join(QUICK_MODELS)} with --quick)")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help=f"comma-separated, of {', '.join(BACKENDS)} (nengo is always "
                        "measured: it is the reference)")
    parser.add_argument("--seconds", type=float, default=1.0, help="simulated seconds")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: one repeat of the smallest model")
    parser.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    parser.add_argument("--json", default=os.path.join(HERE, "end_to_end.json"))
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the section of --out from --json")
    parser.add_argument("--note", help="a sentence for the report on the conditions of "
                        "the run (kept in the JSON; with --report-only, added to it)")
    parser.add_argument("--profile", nargs=2, metavar=("MODEL", "BACKEND"),
                        help="profile one construction instead")
    parser.add_argument("--cache", choices=CACHES, default="cold",
                        help="decoder cache state for --profile")
    args = parser.parse_args()

    if args.profile:
        model, backend = args.profile
        if backend not in BACKENDS or model not in ALL_MODELS:
            parser.error(f"--profile MODEL BACKEND: MODEL of {', '.join(ALL_MODELS)}, "
                         f"BACKEND of {', '.join(BACKENDS)}")
        profile(model, backend, args.cache)
        return
    if args.report_only:
        with open(args.json, encoding="utf-8") as f:
            saved = json.load(f)
    else:
        models = (args.models.split(",") if args.models
                  else QUICK_MODELS if args.quick else list(MODELS))
        repeats = args.repeats or (1 if args.quick else 3)
        backends = [REFERENCE] + [b for b in args.backends.split(",") if b != REFERENCE]
        unknown = [b for b in backends if b not in BACKENDS]
        if unknown:
            parser.error(f"unknown backend(s) {unknown}")
        t0, load_start = time.time(), os.getloadavg()[0]
        runs = {m: measure_model(m, backends, repeats, args.seconds) for m in models}
        saved = {"machine": run.machine_description(), "cores": os.cpu_count(),
                 "load_average": [load_start, os.getloadavg()[0]], "repeats": repeats,
                 "seconds": args.seconds, "elapsed_s": time.time() - t0, "runs": runs}
    if args.note is not None:
        saved["note"] = args.note
    if not args.report_only or args.note is not None:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(saved, f, indent=1)
    lines = report(saved)
    write_section(args.out, SECTION, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
