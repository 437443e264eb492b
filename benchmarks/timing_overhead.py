"""What the engine's phase timing costs: run one model with timing on and off, alternating.

Usage: [mpirun -np N] python benchmarks/timing_overhead.py [MODEL] [--steps S] [--rounds R]

Every rank lowers the same model into N components (one per rank) and drives its own
engine directly (no nengo_mpi.Simulator), so timing can be switched on every rank at
once. Prints the best time per step of each setting and the difference, per rank 0.
"""

import argparse
import os
import sys
import time

import nengo

import nengo_mpi
from nengo_mpi.lower.program import lower_model
from nengo_mpi.runtime import protocol
from nengo_mpi.runtime.rank_engine import RankEngine

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import MODELS  # noqa: E402  pylint: disable=wrong-import-position


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="random_graph", choices=sorted(MODELS))
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()

    comm = None
    rank, size = 0, 1
    if any(v in os.environ for v in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")):
        from mpi4py import MPI  # pylint: disable=import-outside-toplevel

        comm = MPI.COMM_WORLD.Dup()
        rank, size = comm.Get_rank(), comm.Get_size()

    net = MODELS[args.model]()
    model = nengo.builder.Model(dt=0.001, builder=nengo_mpi.simulator.OwnershipBuilder())
    model.build(net)
    assignments = nengo_mpi.Partitioner(size).partition(net)
    lowered = lower_model(model, assignments, size)
    rank_of = list(range(size))
    programs, channels = protocol.ship(lowered, rank_of, size)[rank]
    host = RankEngine(programs, channels, rank_of, model.dt, lowered.n_seed_slots,
                      comm=None if comm is None else comm.Dup())
    host.make_fallback_steps(0)
    host.run(args.steps)  # warm up

    best = {True: float("inf"), False: float("inf")}
    for _ in range(args.rounds):
        for enabled in (False, True):
            host.engine.timing_enabled = enabled
            if comm is not None:
                comm.Barrier()
            t0 = time.perf_counter()
            host.run(args.steps)
            host.take_probes()
            best[enabled] = min(best[enabled], (time.perf_counter() - t0) / args.steps)
    entry = host.timing()
    if rank == 0:
        off, on = best[False] * 1e6, best[True] * 1e6
        print(f"{args.model}, {size} rank(s), {entry['messages_sent']} sends and "
              f"{entry['messages_received']} receives per step on rank 0: "
              f"timing off {off:.2f} us/step, on {on:.2f} us/step "
              f"(+{on - off:.2f} us, {100 * (on - off) / off:+.1f}%)")
    host.close()


if __name__ == "__main__":
    main()
