"""Write the model file that the batch scripts run: the grid of large_model_timing.py.

Building and splitting a large network is the slow, serial step: do it once, on a login
node or a workstation, for the number of ranks the job will have::

    python examples/batch/make_model.py model.h5 --components 64
    sbatch --ntasks=64 examples/batch/slurm_job.sh model.h5 --time 10 --out probes.h5

The file runs at any number of ranks (rank r runs components r, r + N, ...).
"""

import argparse
import os
import sys

import nengo_mpi

EXAMPLES = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def grid_example():
    """The module examples/large_model_timing.py, whose network this file saves."""
    if EXAMPLES not in sys.path:
        sys.path.insert(0, EXAMPLES)
    import large_model_timing  # pylint: disable=import-outside-toplevel

    return large_model_timing


def main(argv=None):
    """Write the model file named by ``argv`` (default: sys.argv)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="the model file to write (e.g. model.h5)")
    parser.add_argument("--neurons", type=int, default=100_000,
                        help="neurons in all, about (default 100000)")
    parser.add_argument("--ensemble-neurons", type=int, default=200,
                        help="neurons per ensemble (default 200)")
    parser.add_argument("--components", type=int, default=2,
                        help="components to split the network into: the job's number "
                        "of ranks, or a multiple of it (default 2)")
    parser.add_argument("--seed", type=int, default=1,
                        help="simulator seed stored in the file (default 1)")
    args = parser.parse_args(argv)
    if args.ensemble_neurons < 1:
        parser.error("--ensemble-neurons must be at least 1")
    if args.neurons < args.ensemble_neurons:
        parser.error("--neurons must be at least --ensemble-neurons")
    if args.components < 1:
        parser.error("--components must be at least 1")

    grid = grid_example()
    rows, cols = grid.grid_shape(args.neurons // args.ensemble_neurons)
    net = grid.build_network(rows, cols, args.ensemble_neurons)
    nengo_mpi.save(net, args.path, partitioner=nengo_mpi.Partitioner(args.components),
                   seed=args.seed)
    print(f"wrote {args.path}: {rows} x {cols} ensembles, "
          f"{rows * cols * args.ensemble_neurons} neurons, {args.components} components")


if __name__ == "__main__":
    main()
