"""Memory of a long run that streams many probes to disk.

Usage::

    python benchmarks/long_stream.py [--seconds 100] [--ranks 2] [--ensembles 40]
        [--dir /tmp]

Saves a model of ``ensembles`` ensembles of 50 LIF neurons in a ring, with a probe on
every ensemble's spikes and one on its decoded value (2 x ensembles probes, 16 kB of
samples a step at the default size), runs it for ``seconds`` simulated seconds with
``mpirun -np ranks python -m nengo_mpi run`` and samples every rank's resident memory
(VmRSS) twice a second. Kept in memory, the probe data would be
``seconds / dt x 16 kB`` (1.6 GB for 100 s); streamed, each rank's memory should stay
flat. Prints one JSON line: the RSS of each rank at 10%, 50% and the end of the run
and its maximum, the probe file's size, and the wall time.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time

import nengo

import nengo_mpi


def ring(n_ensembles, seed=0):
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(lambda t: [0.5 * ((t % 1.0) > 0.5)], label="stim")
        ens = [nengo.Ensemble(50, 1, label=f"e{i}") for i in range(n_ensembles)]
        nengo.Connection(stim, ens[0])
        for i, e in enumerate(ens):
            nengo.Connection(e, ens[(i + 1) % n_ensembles], synapse=0.01, transform=0.9)
            nengo.Probe(e.neurons, label=f"spikes{i}")
            nengo.Probe(e, synapse=0.01, label=f"value{i}")
    return net


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)) / 1024.0
    except (OSError, AttributeError):
        return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=100.0)
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--ensembles", type=int, default=40)
    p.add_argument("--dir", default="/tmp")
    args = p.parse_args()

    model = os.path.join(args.dir, "long_model.h5")
    out = os.path.join(args.dir, "long_probes.h5")
    nengo_mpi.save(ring(args.ensembles), model,
                   partitioner=nengo_mpi.Partitioner(args.ranks), seed=1)
    mpirun = os.path.join(os.path.dirname(sys.executable), "mpirun")
    cmd = [mpirun, "-np", str(args.ranks), sys.executable, "-m", "nengo_mpi", "run", model,
           "--time", str(args.seconds), "--out", out, "--progress", "--trust"]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    err = []  # stderr, collected by a thread so that polling memory never blocks
    reader = threading.Thread(
        target=lambda: err.extend(iter(lambda: os.read(proc.stderr.fileno(), 65536)
                                       .decode(errors="replace"), "")),
        daemon=True)
    reader.start()
    pids = None
    samples = []  # (fraction done, [rss per rank])
    while proc.poll() is None:
        text = "".join(err)
        if pids is None:
            found = re.findall(r"rank \d+: pid (\d+)", text)
            if len(found) == args.ranks:
                pids = [int(x) for x in found]
        steps = re.findall(r"(\d+)/(\d+) steps", text[-200:])
        done = int(steps[-1][0]) / int(steps[-1][1]) if steps else 0.0
        if pids is not None:
            rss = [rss_mib(pid) for pid in pids]
            if all(r is not None for r in rss):
                samples.append((done, rss))
        time.sleep(0.5)
    reader.join()
    wall = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit("".join(err))

    def at(fraction):
        return next((rss for d, rss in samples if d >= fraction), samples[-1][1])

    data = nengo_mpi.load_probes(out)
    result = {
        "simulated_s": args.seconds,
        "ranks": args.ranks,
        "probes": len(data),
        "bytes_per_step": 8 * 51 * args.ensembles,
        "steps_written": data.n_steps,
        "probe_file_mb": os.path.getsize(out) / 1e6,
        "wall_s": wall,
        "rss_mib_at_10pct": at(0.1),
        "rss_mib_at_50pct": at(0.5),
        "rss_mib_at_end": samples[-1][1],
        "rss_mib_max": [max(s[1][r] for s in samples) for r in range(args.ranks)],
        "rss_samples": len(samples),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
