"""The fuzz campaign: ``python fuzz/campaign.py --mutations 10000`` (`make fuzz`).

Mutates the seed files (`fuzz.seeds`) with `fuzz.mutations` and runs each mutated file
the way a user would meet it, in a forked child (`fuzz.runner`):

- a model file: ``nengo_mpi.run_file(path, ...)`` untrusted, for `seeds.RUN_STEPS`;
- a checkpoint: the seed model resumed from it;
- a probe file: ``nengo_mpi.load_probes`` and every dataset and time axis read back;
- a model file with Python parts: as the model file (it must be refused, or fail).

Then a share of model-file mutations run under ``mpirun -np 2 python -m nengo_mpi run``:
every rank must end, with the same verdict, within seconds.

Writes a Markdown report (``--report``) and exits non-zero if any case crashed, hung,
blew up its memory or raised an error that is not a `FileFormatError`. ``--case N``
replays case N alone and prints it (cases are reproducible from ``--seed``).
"""

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

# pylint: disable=wrong-import-position
import nengo_mpi  # noqa: E402

from fuzz import mutations, runner, seeds  # noqa: E402

#: How often each seed file is drawn.
KIND_WEIGHTS = {"model": 0.5, "checkpoint": 0.2, "probes": 0.2, "python_model": 0.1}
#: Steps a resumed checkpoint runs.
RESUME_STEPS = 5
#: Memory a case may add to the parent's, beyond what its unmutated file adds: this
#: multiple of the seed file's size, plus a fixed allowance for h5py's caches.
MEMORY_FILE_MULTIPLE = 8
MEMORY_ALLOWANCE_MIB = 16


def probes_of(data):
    """Every sample array and time axis of a `ProbeData`, by name."""
    arrays = {}
    for key in data:
        arrays[key] = np.asarray(data[key])
        arrays[key + " (t)"] = np.asarray(data.trange(key))
    return arrays


def compare(arrays, baseline):
    """``same`` or ``different`` (naming the first difference)."""
    if sorted(arrays) != sorted(baseline):
        return "different", f"probes {sorted(arrays)} instead of {sorted(baseline)}"
    for key, value in baseline.items():
        got = arrays[key]
        if got.shape != value.shape or got.dtype != value.dtype or not np.array_equal(
                got, value, equal_nan=got.dtype.kind in "fc"):
            return "different", f"{key} differs"
    return "same", ""


class Targets:
    """What each kind of seed file is run through, and the unmutated results."""

    def __init__(self, paths, workdir):
        self.paths = paths
        self.baseline = {}
        for kind in KIND_WEIGHTS:
            out = self._run(kind, paths[kind], workdir, trust=True)
            self.baseline[kind] = out

    def _run(self, kind, path, workdir, trust=False):
        out = os.path.join(workdir, "out.h5")
        if kind in ("model", "python_model"):
            data = nengo_mpi.run_file(path, seeds.RUN_STEPS * seeds.DT, out=out,
                                      trust=trust)
        elif kind == "checkpoint":
            data = nengo_mpi.run_file(self.paths["model"], RESUME_STEPS * seeds.DT,
                                      out=out, resume=path)
        else:
            data = nengo_mpi.load_probes(path)
        return probes_of(data)

    def target(self, kind):
        """``target(path, workdir) -> (outcome, detail)`` for a mutated ``kind`` file."""
        def run(path, workdir):
            return compare(self._run(kind, path, workdir), self.baseline[kind])
        return run


def make_cases(paths, targets, n, seed, first=0):
    """Cases ``first .. first + n - 1`` of the campaign with this seed."""
    kinds = list(KIND_WEIGHTS)
    p = np.array([KIND_WEIGHTS[k] for k in kinds])
    cases = []
    for index in range(first, first + n):
        rng = np.random.default_rng([seed, index])
        kind = kinds[int(rng.choice(len(kinds), p=p / p.sum()))]
        mutation = mutations.draw(rng)
        cases.append(runner.Case(index, kind, paths[kind], mutation,
                                 targets.target(kind), [seed, index, 1]))
    return cases


def memory_budget(paths, growth):
    """``budget(case) -> MiB`` from the unmutated growth of each kind."""
    def budget(case):
        size_mib = os.path.getsize(paths[case.kind]) / 2**20
        return growth[case.kind] + MEMORY_FILE_MULTIPLE * size_mib + MEMORY_ALLOWANCE_MIB
    return budget


def unmutated_growth(paths, targets, workdir):
    """Peak memory each kind's unmutated file adds in a child (MiB)."""
    def same(path, rng):
        return "unmutated"

    cases = [runner.Case(i, kind, paths[kind], ("none", same), targets.target(kind),
                         [0, i]) for i, kind in enumerate(KIND_WEIGHTS)]
    runner.run_cases(cases, workdir, workers=1)
    for case in cases:
        if case.result["outcome"] not in ("same", "refused"):
            raise RuntimeError(f"the unmutated {case.kind} file gave {case.result}")
    return {case.kind: case.result["rss_growth_mib"] for case in cases}


# -- under mpirun ----------------------------------------------------------------------

def mpi_case(index, paths, seed, workdir, mpirun, timeout=60.0):
    """Mutate the model file and run it on 2 ranks; returns a result dict.

    Good: every rank exits non-zero with nengo_mpi's error line (``error``, or
    ``refused``), or every rank exits 0 (``same``/``different`` against the
    single-process run of the same mutated file). Anything else is bad.
    """
    rng = np.random.default_rng([seed, index, 2])
    kind = "model" if rng.random() < 0.9 else "python_model"
    name, mutate = mutations.draw(rng)
    sub = tempfile.mkdtemp(dir=workdir)
    path = os.path.join(sub, f"{kind}.h5")
    with open(paths[kind], "rb") as src, open(path, "wb") as dst:
        dst.write(src.read())
    description = mutate(path, rng)
    out = os.path.join(sub, "out.h5")
    inner = (f"{sys.executable} -m nengo_mpi run {path} --time "
             f"{seeds.RUN_STEPS * seeds.DT} --out {out}")
    command = [mpirun, "-np", "2", "sh", "-c",
               f'{inner}; c=$?; echo "rank exit: $c" >&2; exit $c']
    started = time.monotonic()
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"index": index, "kind": kind, "mutation": name, "outcome": "hang",
                "description": description, "detail": f"over {timeout} s",
                "seconds": timeout}
    seconds = time.monotonic() - started
    codes = [int(c) for c in re.findall(r"rank exit: (-?\d+)", proc.stderr)]
    result = {"index": index, "kind": kind, "mutation": name, "description": description,
              "seconds": seconds, "codes": codes}
    if len(codes) != 2 or any(c >= 128 for c in codes) or "Traceback" in proc.stderr:
        result.update(outcome="crash", detail=proc.stderr[-600:])
    elif codes == [0, 0]:
        data = nengo_mpi.load_probes(out)
        result.update(outcome="ran", detail="")
        result["arrays"] = probes_of(data)
    elif all(c != 0 for c in codes) and "nengo_mpi run: error:" in proc.stderr:
        refused = "carries Python code" in proc.stderr
        result.update(outcome="refused" if refused else "error",
                      detail=proc.stderr.split("nengo_mpi run: error:")[1][:300])
    else:
        result.update(outcome="unclear", detail=f"exit codes {codes}: "
                      + proc.stderr[-600:])
    result["path"] = path
    return result


def run_mpi_cases(n, paths, seed, workdir, mpirun, targets):
    """``n`` mutated model files at 2 ranks; a run that ends well must equal the same
    mutated file run in one process."""
    results = []
    for index in range(n):
        result = mpi_case(index, paths, seed, workdir, mpirun)
        if result["outcome"] == "ran":
            arrays = result.pop("arrays")
            case = runner.Case(index, result["kind"], result["path"],
                               ("none", lambda path, rng: "as run at 2 ranks"),
                               lambda path, w: compare(targets._run(  # noqa: SLF001
                                   "model", path, w), arrays), [0])
            runner.run_cases([case], workdir, workers=1)
            if case.result["outcome"] == "same":
                result["outcome"] = "same as 1 process"
            elif case.result["outcome"] == "different":
                # Bitwise identity across rank counts holds for the schedules nengo_mpi
                # writes; a forged op order or channel point makes another schedule,
                # whose local copies and messages may then see different values.
                result["outcome"] = "ran, differs from 1 process"
                result["detail"] = case.result["detail"]
            else:
                result["outcome"] = case.result["outcome"]
                result["detail"] = ("at 2 ranks it ran; in 1 process: "
                                    f"{case.result['detail']}")
        results.append(result)
    return results


# -- the report ------------------------------------------------------------------------

def report(cases, mpi_results, growth, budget, seconds, args, paths):
    """The campaign's Markdown report."""
    outcomes = list(runner.GOOD) + list(runner.BAD) + ["mutation failed"]
    by_kind = collections.defaultdict(collections.Counter)
    by_mutation = collections.defaultdict(collections.Counter)
    for case in cases:
        by_kind[case.kind][case.result["outcome"]] += 1
        by_mutation[case.mutation[0]][case.result["outcome"]] += 1
    total = collections.Counter(c.result["outcome"] for c in cases)
    lines = [
        "# Fuzz campaign on nengo_mpi's files",
        "",
        f"`{' '.join(['python', 'fuzz/campaign.py'] + args)}`: {len(cases)} mutations in "
        f"one process, {len(mpi_results)} under `mpirun -np 2`, seed {_seed_of(args)}; "
        f"{seconds:.0f} s in all.",
        "",
        f"Replay a case with `python fuzz/campaign.py --case N --seed {_seed_of(args)}`.",
        "",
        "Outcomes: **error** (a `FileFormatError` naming the file and the field), "
        "**refused** (Python parts not unpickled), **same** / **different** (it ran; "
        "its results equal the unmutated file's, or not because a value it may hold was "
        "changed). Failures: **unclear** (another exception: an unvalidated field), "
        "**memory**, **crash**, **hang**.",
        "",
        "| file | " + " | ".join(outcomes) + " | total |",
        "|---" * (len(outcomes) + 2) + "|",
    ]
    for kind in KIND_WEIGHTS:
        row = by_kind[kind]
        lines.append(f"| {kind} ({os.path.getsize(paths[kind]) // 1024} KiB) | "
                     + " | ".join(str(row[o]) for o in outcomes)
                     + f" | {sum(row.values())} |")
    lines.append("| **all** | " + " | ".join(f"**{total[o]}**" for o in outcomes)
                 + f" | **{len(cases)}** |")
    lines += ["", "| mutation | " + " | ".join(outcomes) + " |",
              "|---" * (len(outcomes) + 1) + "|"]
    for name, _, _ in mutations.MUTATIONS:
        row = by_mutation[name]
        lines.append(f"| {name} | " + " | ".join(str(row[o]) for o in outcomes) + " |")
    slowest = max((c.result["seconds"] for c in cases), default=0)
    peak = collections.defaultdict(float)
    for c in cases:
        peak[c.kind] = max(peak[c.kind], c.result["rss_growth_mib"])
    lines += ["", "**Time and memory** (resident memory a case added to the forked "
              "parent's, at its peak):", ""]
    for kind in KIND_WEIGHTS:
        lines.append(f"- {kind}: unmutated {growth[kind]:.1f} MiB; largest of the "
                     f"mutations {peak[kind]:.1f} MiB; budget "
                     f"{budget(runner.Case(0, kind, paths[kind], None, None, 0)):.1f} MiB")
    lines.append(f"- slowest case {slowest:.2f} s (timeout {args_timeout(args)} s)")
    if mpi_results:
        mc = collections.Counter(r["outcome"] for r in mpi_results)
        lines += ["", f"**Under `mpirun -np 2`** ({len(mpi_results)} mutated model "
                  "files): " + ", ".join(f"{k} {v}" for k, v in sorted(mc.items()))
                  + f"; the slowest ended in {max(r['seconds'] for r in mpi_results):.1f}"
                  " s. A run that ended well was checked against the same file in one "
                  "process (a forged schedule, e.g. an op's order, may run differently "
                  "at 2 ranks: rank invariance holds for the schedules nengo_mpi "
                  "writes)."]
    bad = [c for c in cases if c.result["outcome"] not in runner.GOOD]
    bad_mpi = [r for r in mpi_results if r["outcome"] in runner.BAD]
    lines += ["", f"**Failures: {len(bad) + len(bad_mpi)}.**"]
    for c in bad[:40]:
        lines.append(f"- case {c.index} ({c.kind}, {c.mutation[0]}: "
                     f"{c.result.get('description')}): {c.result['outcome']}: "
                     f"{c.result['detail']}")
    for r in bad_mpi[:20]:
        lines.append(f"- mpi case {r['index']} ({r['kind']}, {r['mutation']}: "
                     f"{r['description']}): {r['outcome']}: {r['detail']}")
    return "\n".join(lines) + "\n"


def _seed_of(args):
    return args[args.index("--seed") + 1] if "--seed" in args else "0"


def args_timeout(args):
    return args[args.index("--timeout") + 1] if "--timeout" in args else "20"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mutations", type=int, default=10000)
    p.add_argument("--mpi", type=int, default=100,
                   help="mutated model files also run under mpirun -np 2")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("--report", help="write the Markdown report here")
    p.add_argument("--case", type=int, help="replay one case and print it")
    p.add_argument("--dir", help="scratch directory (default: a temporary one)")
    argv = sys.argv[1:] if argv is None else argv
    args = p.parse_args(argv)
    workdir = args.dir or tempfile.mkdtemp(prefix="nengo_mpi_fuzz_")
    os.makedirs(workdir, exist_ok=True)
    started = time.monotonic()
    paths = seeds.make_seeds(os.path.join(workdir, "seeds"))
    targets = Targets(paths, workdir)
    growth = unmutated_growth(paths, targets, workdir)
    budget = memory_budget(paths, growth)
    if args.case is not None:
        case, = make_cases(paths, targets, 1, args.seed, first=args.case)
        runner.run_cases([case], workdir, workers=1, timeout=args.timeout,
                         memory_budget_mib=budget)
        print(case.kind, case.mutation[0], case.result)
        return 0 if case.result["outcome"] in runner.GOOD else 1
    cases = make_cases(paths, targets, args.mutations, args.seed)
    counter = collections.Counter()

    def progress(case):
        counter[case.result["outcome"]] += 1
        done = sum(counter.values())
        if done % 500 == 0 or done == len(cases):
            print(f"fuzz: {done}/{len(cases)} "
                  + ", ".join(f"{k} {v}" for k, v in sorted(counter.items())),
                  file=sys.stderr, flush=True)

    runner.run_cases(cases, workdir, workers=args.workers, timeout=args.timeout,
                     memory_budget_mib=budget, on_result=progress)
    mpi_results = []
    mpirun = os.path.join(os.path.dirname(sys.executable), "mpirun")
    if args.mpi and os.path.exists(mpirun):
        mpi_results = run_mpi_cases(args.mpi, paths, args.seed, workdir, mpirun, targets)
    text = report(cases, mpi_results, growth, budget, time.monotonic() - started, argv,
                  paths)
    if args.report:
        with open(args.report, "w") as f:
            f.write(text)
    print(text)
    failures = sum(c.result["outcome"] not in runner.GOOD for c in cases) + sum(
        r["outcome"] in runner.BAD for r in mpi_results)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
