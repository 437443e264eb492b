"""Write the probe file of every benchmark model and every rank-invariance test model,
and print (or check) their SHA-256 digests: refactorings must leave them byte-identical.

Usage: probe_files.py [--dir DIR] [--seconds 0.2] [--models NAME ...]
                      [--write DIGESTS.json | --check DIGESTS.json]

Run in a plain process or under ``mpirun -np N python -m nengo_mpi`` (every model is
split into N components, one per rank; a probe file is the same at any rank count). Each
model runs ``--seconds`` with ``Simulator(net, probe_file=...)``, the decoder cache off
and decoders solved with one BLAS thread, as a distributed build solves them. ``--write``
records the digests; ``--check`` compares with a record and exits 1 naming every file
that differs.
"""

import argparse
import hashlib
import json
import os
import sys

import nengo
from threadpoolctl import threadpool_limits

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# pylint: disable=wrong-import-position
import models as bench_models  # noqa: E402
import nengo_mpi  # noqa: E402
from nengo_mpi.runtime import session as mpi_session  # noqa: E402

# tests/models.py: the models of tests/mpi/test_rank_invariance.py.
_TEST_MODELS = ("sine_squared", "grid", "integrator_array", "spa_question",
                "tiled_recurrent", "chain")


def _test_model(name):
    # Imported by path: benchmarks/ and tests/ both have a models.py.
    import importlib.util  # pylint: disable=import-outside-toplevel

    spec = importlib.util.spec_from_file_location(
        "test_models", os.path.join(os.path.dirname(HERE), "tests", "models.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = getattr(module, name)()
    return net[0] if isinstance(net, tuple) else net


def all_models():
    """name -> a function making the network."""
    found = {f"bench/{name}": make for name, make in bench_models.MODELS.items()}
    for name in _TEST_MODELS:
        found[f"test/{name}"] = lambda name=name: _test_model(name)
    return found


def digest(path):
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/tmp/probe_files")
    parser.add_argument("--seconds", type=float, default=0.2)
    parser.add_argument("--models", nargs="*", help="default: all")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="DIGESTS.json")
    group.add_argument("--check", metavar="DIGESTS.json")
    args = parser.parse_args()

    found = all_models()
    names = args.models or sorted(found)
    unknown = [n for n in names if n not in found]
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {sorted(found)}")
    nengo.rc["decoder_cache"]["enabled"] = "False"
    session = mpi_session.active()
    ranks = 1 if session is None else session.size
    root = session is None or session.rank == 0
    os.makedirs(args.dir, exist_ok=True)
    digests = {}
    for name in names:
        path = os.path.join(args.dir, name.replace("/", "_") + ".probes.h5")
        with threadpool_limits(1):
            net = found[name]()
            with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(ranks),
                                     probe_file=path, progress_bar=False) as sim:
                sim.run(args.seconds)
        if root:
            digests[name] = digest(path)
            print(f"{name}: {digests[name]}", flush=True)
    if not root:
        return 0
    if args.write:
        with open(args.write, "w", encoding="utf-8") as f:
            json.dump(digests, f, indent=1, sort_keys=True)
    if args.check:
        with open(args.check, encoding="utf-8") as f:
            recorded = json.load(f)
        differ = [n for n in names if recorded.get(n) != digests[n]]
        if differ:
            print(f"differ from {args.check}: {differ}", file=sys.stderr)
            return 1
        print(f"all {len(names)} probe files identical to {args.check}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
