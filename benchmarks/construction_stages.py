"""Where one nengo_mpi construction goes, stage by stage, with the workers' CPU time.

Usage: construction_stages.py MODEL [--workers N] [--cache]

Times the Simulator's stages (nengo's build with the decoder solves, op merging, the
rest of lowering, the engine) by wrapping the functions it calls, and reports this
process's CPU time and its worker processes' (``RUSAGE_CHILDREN``, read once they have
exited). The decoder cache is off unless ``--cache``. Prints one line.
"""

import argparse
import os
import resource
import sys
import time

import nengo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import MODELS  # noqa: E402  pylint: disable=wrong-import-position


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--cache", action="store_true")
    args = parser.parse_args()
    nengo.rc["decoder_cache"]["enabled"] = str(args.cache)

    # pylint: disable=import-outside-toplevel
    import nengo_mpi
    from nengo_mpi import simulator
    from nengo_mpi.lower import program

    seconds = {}

    def timed(name, fn):
        def wrapper(*a, **k):
            start = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
        return wrapper

    simulator.build_into = timed("build", simulator.build_into)
    simulator.lower_model = timed("lower", simulator.lower_model)
    program.merge_within_components = timed("merge", program.merge_within_components)
    simulator.Runtime = timed("engine", simulator.Runtime)

    net = MODELS[args.model]()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    sim = nengo_mpi.Simulator(net, progress_bar=False, build_workers=args.workers)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    sim.close()
    time.sleep(1.0)  # the workers exit once the build no longer needs them
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds["lower"] -= seconds.get("merge", 0.0)
    print(f"{args.model}: construction {wall:.2f} s (" + ", ".join(
        f"{k} {v:.2f}" for k, v in seconds.items()) + f"); this process {cpu:.2f} s CPU,"
        f" workers {children.ru_utime + children.ru_stime:.2f} s CPU;"
        f" {sim.decoders_solved_ahead} decoders solved ahead")


if __name__ == "__main__":
    main()
