"""Time the operator-merge step alone, for this version and an older one, side by side.

Usage: merge_time.py [MODEL ...] [--components 1 2] [--repeat 3] [--baseline REV]

Each model is built once (nengo's builder, with nengo_mpi's record of op owners) and
partitioned; every timed run merges a fresh deep copy of it, so both versions see the
same operators. ``--baseline REV`` loads
``nengo_mpi/lower/merge.py`` as it was at git revision REV (e.g. the commit before the
planner) and times it in the same process, interleaved with the current version, so the
two meet the same machine load. Prints one line per model, component count and version:
the best and median seconds of the merge, and the number of operators after it.
"""

import argparse
import importlib.util
import os
import copy
import statistics
import subprocess
import sys
import tempfile
import time

import nengo
from nengo.cache import NoDecoderCache

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from models import MODELS  # noqa: E402  pylint: disable=wrong-import-position

from nengo_mpi.lower.assign import OperatorAssigner  # noqa: E402
from nengo_mpi.lower.merge import merge_placement, merge_within_components  # noqa: E402
from nengo_mpi.lower.ownership import OwnershipBuilder  # noqa: E402
from nengo_mpi.partition import Partitioner  # noqa: E402

DEFAULT_MODELS = ["spa_question", "cconv256", "integrators", "random_graph"]


def load_baseline(rev):
    """``merge_within_components`` of ``nengo_mpi/lower/merge.py`` at revision ``rev``."""
    source = subprocess.run(
        ["git", "show", f"{rev}:nengo_mpi/lower/merge.py"],
        cwd=HERE, check=True, capture_output=True, text=True,
    ).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(source)
    spec = importlib.util.spec_from_file_location("baseline_merge", f.name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    os.unlink(f.name)
    return module.merge_within_components


def build(name, n_components):
    """The built model of benchmark model ``name`` and its split ``n_components`` ways."""
    net = MODELS[name]()
    model = nengo.builder.Model(dt=0.001, decoder_cache=NoDecoderCache(),
                                builder=OwnershipBuilder())
    model.build(net)
    assignments = Partitioner(n_components).partition(net)
    return model, assignments


def merge_once(built, n_components, merge):
    """Seconds taken by ``merge`` on a fresh copy of the model, and its operator count."""
    # A deep copy, not a pickle: nengo_spa's connector classes cannot be pickled.
    model, assignments = copy.deepcopy(built)
    placement = merge_placement(
        model, OperatorAssigner(model, assignments, n_components))
    t0 = time.perf_counter()
    merge(model, *placement)
    return time.perf_counter() - t0, len(model.operators)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="*", default=DEFAULT_MODELS)
    parser.add_argument("--components", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", metavar="REV",
                        help="also time merge.py as it was at this git revision")
    args = parser.parse_args()

    versions = {"current": merge_within_components}
    if args.baseline:
        versions = {f"baseline {args.baseline}": load_baseline(args.baseline), **versions}
    print(f"{'model':14s} {'comps':>5s} {'version':>20s} {'best s':>8s} {'median s':>8s}"
          f" {'ops after':>9s}")
    for name in args.models:
        for n in args.components:
            built = build(name, n)
            times = {v: [] for v in versions}
            counts = {v: set() for v in versions}
            for _ in range(args.repeat):
                for version, merge in versions.items():
                    seconds, n_ops = merge_once(built, n, merge)
                    times[version].append(seconds)
                    counts[version].add(n_ops)
            for version in versions:
                # More than one count means the version is not deterministic.
                ops = "/".join(str(c) for c in sorted(counts[version]))
                print(f"{name:14s} {n:5d} {version:>20s} {min(times[version]):8.3f}"
                      f" {statistics.median(times[version]):8.3f} {ops:>9s}", flush=True)


if __name__ == "__main__":
    main()
