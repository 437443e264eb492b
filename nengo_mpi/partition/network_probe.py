"""Measure MPI's costs between two ranks on this machine: latency, bandwidth, and the
CPU time per message end (``python -m nengo_mpi calibrate --network``).

It starts ``mpirun -np 2`` (the launcher next to this Python, else the one on PATH) on a
small mpi4py program; the calibrating process itself never initialises MPI.
"""

import json
import os
import shutil
import subprocess
import sys

PROGRAM = r"""
import json, os, numpy as np
from mpi4py import MPI
comm = MPI.COMM_WORLD
rank, peer = comm.Get_rank(), 1 - comm.Get_rank()

def pingpong(nbytes, iters):
    buf = np.zeros(max(nbytes, 1), np.uint8)
    comm.Barrier()
    t0 = MPI.Wtime()
    for _ in range(iters):
        if rank == 0:
            comm.Send(buf, 1, 7); comm.Recv(buf, 1, 7)
        else:
            comm.Recv(buf, 0, 7); comm.Send(buf, 0, 7)
    return (MPI.Wtime() - t0) / iters / 2

def burst(m, iters):
    # m 16-byte messages each way, posted and completed together as the engine does
    # once per step; receives posted in a shuffled order, since MPI matches an arriving
    # message by searching the posted receives.
    rbufs = [np.zeros(16, np.uint8) for _ in range(m)]
    sbufs = [np.zeros(16, np.uint8) for _ in range(m)]
    order = np.random.RandomState(rank).permutation(m)
    recvs = [comm.Recv_init(rbufs[i], peer, int(i)) for i in order]
    sends = [comm.Send_init(sbufs[i], peer, i) for i in range(m)]
    best = float("inf")
    for _ in range(3):
        comm.Barrier()
        t0 = MPI.Wtime()
        for _ in range(iters):
            MPI.Prequest.Startall(recvs); MPI.Prequest.Startall(sends)
            MPI.Request.Waitall(recvs + sends)
        best = min(best, (MPI.Wtime() - t0) / iters)
    for r in recvs + sends:
        r.Free()
    return best / (2 * m)

pingpong(16, 1000)
latency = min(pingpong(16, 20000) for _ in range(3))
big = min(pingpong(1 << 20, 300) for _ in range(5))
overhead = {m: burst(m, 300) for m in (16, 128)}
# Both ranks on one core: each message then also costs a switch between them.
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
same_core = min(pingpong(16, 5000) for _ in range(3))
if rank == 0:
    print(json.dumps({"latency": latency, "bandwidth": (1 << 20) / max(big - latency, 1e-9),
                      "message": overhead[128], "overhead": overhead,
                      "same_core": same_core}))
"""


def mpirun():
    """The MPI launcher to use: the one beside this Python, else ``mpirun`` on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "mpirun")
    return here if os.access(here, os.X_OK) else shutil.which("mpirun")


def probe_network(timeout=300):
    """Latency [s], bandwidth [bytes/s] and MPI's CPU per message end [s] here.

    Returns
    -------
    dict
        ``latency``, ``bandwidth``, ``message`` (per message end in bursts of 128),
        ``overhead`` (burst size -> per message end) and ``same_core`` (a ping-pong's
        one-way time with both ranks on one core).

    Raises
    ------
    RuntimeError
        If no launcher is found or the 2-rank program fails.
    """
    launcher = mpirun()
    if launcher is None:
        raise RuntimeError("no mpirun found to measure the network with")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run(
        [launcher, "-np", "2", sys.executable, "-c", PROGRAM],
        capture_output=True, text=True, env=env, timeout=timeout, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            "measuring the network with %s -np 2 failed (exit %d): %s"
            % (launcher, proc.returncode, proc.stderr.strip()[-2000:])
        )
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    found["overhead"] = {int(k): v for k, v in found["overhead"].items()}
    return found
