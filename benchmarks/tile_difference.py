"""How far tiling moves results: benchmark d) (one 10,000-neuron, 32-D recurrent
ensemble) run untiled and tiled at the default size, 1 simulated second each, in one
process; prints the largest difference of the decoded probe, absolute and relative to
the probe's largest value.

Usage: python benchmarks/tile_difference.py [MODEL] [--seconds 1]
"""

import argparse
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import MODELS  # noqa: E402  pylint: disable=wrong-import-position

import nengo_mpi  # noqa: E402  pylint: disable=wrong-import-position


def run(model, seconds, tile_size):
    net = MODELS[model]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = nengo_mpi.Simulator(
            net, partitioner=nengo_mpi.Partitioner(1, tile_size=tile_size),
            progress_bar=False)
    with sim:
        sim.run(seconds)
        return [np.array(sim.data[p]) for p in net.all_probes]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="recurrent", choices=sorted(MODELS))
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    untiled = run(args.model, args.seconds, None)
    tiled = run(args.model, args.seconds, nengo_mpi.partition.tiles.DEFAULT_TILE_SIZE)
    for k, (a, b) in enumerate(zip(untiled, tiled)):
        diff = float(np.abs(a - b).max())
        scale = float(np.abs(a).max())
        print(f"probe {k}: max |tiled - untiled| = {diff:.3g} "
              f"({diff / scale:.3g} of the largest value {scale:.3g}); "
              f"identical: {np.array_equal(a, b)}")


if __name__ == "__main__":
    main()
