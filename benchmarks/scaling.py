"""A scaling model for nengo_mpi: predict the time per step at many ranks from a
partitioned model, check it against runs at 1-8 ranks here; writes SCALING.md.

Usage: python benchmarks/scaling.py [MODEL] [--ranks 1 2 4 8]
           [--predict 16 64 256 1024 4096] [--latency 1.5e-6] [--bandwidth 10e9]
           [--seconds 1] [--repeats 3] [--per-rank 4] [--out benchmarks/SCALING.md]

Run it with the venv's python, not under mpirun: it starts the MPI runs it measures.

The model
---------
Every rank runs one component (as ``python -m nengo_mpi`` does with
``Partitioner(n_ranks)``). Per step, rank r has

- compute ``W_r``: the sum of the measured costs of the operators it runs. The
  partition is run with all its components in one process, with the engine's
  per-operator profile (`Simulator.profile_ops`), and the costs are scaled so that
  they add up to the compute time of an unprofiled run (the profile's clock reads
  inflate small ops). Each partition is measured, not derived from another: the
  engine merges operators within a component, so a component of few objects costs
  more per object than the same objects in one large component;
- ``m_r`` messages sent plus received (per step, the engine sends the update channels
  from one rank to another as one MPI message, and the same-step channels from one rank
  to another in runs whose last send precedes their first receive, one message per
  run; the cost model, which lacks the orders, counts each same-step channel alone) and
  ``V_r = max(bytes sent, bytes received)``.

Predicted time per step::

    busy_r = W_r + o * m_r + p * c_r + V_r / B
    t      = max_r busy_r + L + D * (L + b / B)      with a core per rank
    t      = max(that, sum_r busy_r / C)             when P ranks share C < P cores

``o`` is MPI's CPU time per message end (posting, matching, completing and copying a
small message, measured here with a burst of messages between two ranks), ``p`` the
engine's own CPU time per channel end ``c_r`` (packing or unpacking each channel's
values into its rank pair's message, and its share of starting and testing it:
measured as the exchange time per channel end in a 2-rank run), ``L`` the latency and
``B`` the bandwidth of the network.
Values written by synapses (update channels) are sent at the end of a step and read at
the start of the next one, so their latency is only partly hidden: one ``L`` per step
is added. A same-step channel carries a value sent and read within one step, so its
receiver waits for it; ``D`` is the longest chain of such messages (a rank that
received one and sends another later in the step extends the chain) and ``b`` the
largest of them. ``o`` depends on the traffic: the engine posts each receive a step
ahead, so MPI searches a queue of posted receives as long as the rank's incoming
channels for each arriving message, which the burst reproduces; same-step receives,
posted just before they are needed, cost less.
Ranks wait for each other every step, so the slowest rank sets the pace. With fewer
cores than ranks, a rank that waits for a message soon yields its core (MPICH's wait
loop calls sched_yield every MPIR_CVAR_POLLS_BEFORE_YIELD = 1000 polls), so the ranks'
busy times share the cores.

Assumptions it does not model: noise from other processes (each measured time is the
fastest of ``--repeats`` runs), caches (an operator costs what it cost in the
one-process run, whatever else runs with it), network contention, and the partitioner
itself (METIS's partitions are used as they are).

Scaling up
----------
- Strong scaling (the same model on more ranks) is predicted exactly as for the
  validation, from the model's real lowering, for every rank count up to its number of
  objects.
- Weak scaling (fixed work per rank) needs a bigger network than can be built here in
  minutes (nengo's build of 16k ensembles alone takes far longer). For models with a
  size knob (random_graph) the script generates the network at ``--per-rank``
  ensembles per rank *without building it*, partitions it with the real Partitioner
  (METIS), and costs every object and connection with the package's cost model
  (`nengo_mpi.partition.cost_model`, the one the partitioner and `nengo_mpi.plan`
  use: this machine's calibration from ``python -m nengo_mpi calibrate``, or the
  shipped defaults); every connection cut by the partition carries its ``size_out``
  values once per step. The cost model is checked against the exact lowering at the
  validated rank counts.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import nengo

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from models import MODELS, random_graph  # noqa: E402  pylint: disable=wrong-import-position
from run import ENV, cpu_name  # noqa: E402  pylint: disable=wrong-import-position

import nengo_mpi  # noqa: E402  pylint: disable=wrong-import-position
from nengo_mpi.partition import network_probe  # noqa: E402
from nengo_mpi.partition.cost_model import load_costs, object_costs  # noqa: E402
from nengo_mpi.planning import Plan  # noqa: E402

BIN = os.path.dirname(sys.executable)
MPIRUN = os.path.join(BIN, "mpirun")

#: Models whose size can grow with the rank count: name -> f(ensembles) -> network.
WEAK_SCALING = {"random_graph": lambda n: random_graph(n_ensembles=n)}


# ----------------------------------------------------------------------------- machine
@dataclass
class Machine:
    """Network and CPU parameters of the model."""

    latency: float  # s, one way, small message
    bandwidth: float  # bytes / s
    overhead: float  # s of CPU per message end (MPI's part)
    cores: int = 0  # 0: a core per rank
    part_overhead: float = 0.0  # s of the engine's CPU per channel end (pack, unpack)


@dataclass
class Load:
    """What one partition asks of each rank per step."""

    compute: list  # s per step, per rank
    # (src rank, dst rank, bytes, same_step, send_after, recv_before); the global orders
    # of the last writer and first reader are None when unknown (the cost model).
    messages: list


def same_step_depth(messages):
    """The longest chain of same-step messages that one step waits through in turn.

    Without the orders of their writers and readers, each same-step message is taken
    as a chain of its own.
    """
    same = [m for m in messages if m[3]]
    if not same:
        return 0
    if any(m[4] is None for m in same):
        return 1
    # Sorted by send order: every message received before a send was sent before it.
    received = defaultdict(list)  # rank -> [(recv_before, chain length)]
    depth = 0
    for src, dst, _, _, send_after, recv_before in sorted(same, key=lambda m: m[4]):
        d = 1 + max((n for at, n in received[src] if at <= send_after), default=0)
        received[dst].append((recv_before, d))
        depth = max(depth, d)
    return depth


def group_same_step(messages):
    """Same-step messages as the engine sends them: per rank pair, in send order, runs
    whose last send precedes their first receive travel as one message."""
    grouped = []
    by_pair = defaultdict(list)
    for m in messages:
        if m[4] is None:
            grouped.append(m)  # orders unknown (the cost model): alone
        else:
            by_pair[(m[0], m[1])].append(m)
    for (src, dst), ms in by_pair.items():
        ms.sort(key=lambda m: m[4])
        run = [ms[0]]
        for m in ms[1:]:
            if m[4] < min(min(r[5] for r in run), m[5]):
                run.append(m)
                continue
            grouped.append(_one_message(src, dst, run))
            run = [m]
        grouped.append(_one_message(src, dst, run))
    return grouped


def _one_message(src, dst, run):
    return (src, dst, sum(m[2] for m in run), True, max(m[4] for m in run),
            min(m[5] for m in run))


def predict(load, machine, per_channel=False):
    """Predicted seconds per step (and what makes it up) for ``load`` on ``machine``.

    As the engine does, the update channels from one rank to another count as one
    message per step, and the same-step channels as grouped by `group_same_step`.
    With ``per_channel``, every channel is a message (the engine before it grouped
    them).
    """
    n = len(load.compute)
    messages = group_same_step([m for m in load.messages if m[3]])
    if per_channel:
        messages = list(load.messages)
    else:
        pairs = {}
        for src, dst, nbytes, same, _, _ in load.messages:
            if not same:
                pairs[(src, dst)] = pairs.get((src, dst), 0) + nbytes
        messages += [(src, dst, b, False, None, None) for (src, dst), b in pairs.items()]
    count = np.zeros(n)
    sent = np.zeros(n)
    received = np.zeros(n)
    for src, dst, nbytes, _, _, _ in messages:
        count[src] += 1
        count[dst] += 1
        sent[src] += nbytes
        received[dst] += nbytes
    compute = np.asarray(load.compute, dtype=float)
    parts = np.zeros(n)  # channel ends: the engine packs or unpacks each one
    for src, dst, _, _, _, _ in load.messages:
        parts[src] += 1
        parts[dst] += 1
    comm = (machine.overhead * count + machine.part_overhead * parts
            + np.maximum(sent, received) / machine.bandwidth)
    busy = compute + comm
    critical = int(np.argmax(busy))
    depth = same_step_depth(messages)
    largest = max((m[2] for m in messages if m[3]), default=0)
    latency = (machine.latency if messages else 0.0) + depth * (
        machine.latency + largest / machine.bandwidth)
    t = float(busy[critical]) + latency
    shared = machine.cores and machine.cores < n
    if shared:
        t = max(t, float(busy.sum()) / machine.cores)
    return {
        "t": t,
        "compute_max": float(compute.max()),
        "compute_mean": float(compute.mean()),
        "comm_critical": float(comm[critical]) + latency,
        "messages_max": int(count.max()),
        "bytes_max": int(max(sent.max(), received.max())),
        "same_step_depth": depth,
    }


# ------------------------------------------------------------------------- calibration
@dataclass
class Calibration:
    """Measured per-operator costs of one model, its components run in one process."""

    net: object
    model: object
    cost: dict  # global op order -> seconds per step
    compute: float  # seconds per step, unprofiled run
    kinds: dict  # engine op kind -> seconds per step (scaled like cost)
    per_component: list  # seconds per step of each component's operators
    lowered: object  # the lowering that ran (its channels are the messages)


def calibrate(name, steps, repeats, n_components=1, optimize=True):
    """Run ``name`` split into ``n_components`` in one process; cost every operator.

    With ``optimize``, operators are merged within each component as the engine does
    by default, so the costs are those of this partition: a component holding fewer
    objects has fewer operators to merge.
    """
    net = MODELS[name]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(n_components),
                                  optimize=optimize, progress_bar=False)
    with sim:
        engine = sim._runtime.host.engine
        placed = [(p.component, rec.order) for p in sim._lowered.programs for rec in p.ops]
        kinds = [engine.op_kind(h) for h in range(engine.n_ops)]
        assert len(placed) == engine.n_ops
        sim.run_steps(steps)  # warm up
        plain, profiled, per_op = [], [], []
        for _ in range(repeats):
            before = sim.timing()[0]["compute_s"]
            sim.run_steps(steps)
            plain.append((sim.timing()[0]["compute_s"] - before) / steps)
        sim.profile_ops()
        for _ in range(repeats):
            before, ops_before = sim.timing()[0]["compute_s"], np.array(engine.op_seconds())
            sim.run_steps(steps)
            profiled.append((sim.timing()[0]["compute_s"] - before) / steps)
            per_op.append((np.array(engine.op_seconds()) - ops_before) / steps)
    compute = min(plain)
    # The median over runs per op resists a run disturbed by another process; the sum
    # is then scaled to the unprofiled compute time.
    measured = np.median(per_op, axis=0)
    measured *= compute / measured.sum()
    cost = {}
    by_kind = defaultdict(float)
    per_component = [0.0] * n_components
    for (comp, order), kind, c in zip(placed, kinds, measured):
        cost[order] = cost.get(order, 0.0) + float(c)
        by_kind[kind] += float(c)
        per_component[comp] += float(c)
    return Calibration(net, sim.model, cost, compute, dict(by_kind), per_component,
                       sim._lowered)


def exact_load(name, n_ranks, steps, repeats):
    """The load of ``n_ranks`` components, each costed from a run of this partition."""
    cal = calibrate(name, steps, repeats, n_components=n_ranks)
    messages = [(ch.src_component, ch.dst_component, ch.signal.nbytes, ch.same_step,
                 ch.send_after, ch.recv_before) for ch in cal.lowered.channels]
    return Load(cal.per_component, messages)


# ------------------------------------------------------------------------ cost model
def model_load(net, assignments, n_ranks, costs):
    """The load of ``net`` split by ``assignments``, as `nengo_mpi.plan` costs it (the
    package's cost model, tiles included), without building the network."""
    plan = Plan(n_ranks, costs, assignments, object_costs(net), net)
    return Load(list(plan.compute),
                [(src, dst, nbytes, same, None, None)
                 for src, dst, nbytes, same in plan.channels])


# ------------------------------------------------------------------------ measurements
def _busy_fraction(seconds=1.0):
    """Fraction of all CPU time spent busy over ``seconds`` (from /proc/stat)."""
    def sample():
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
        return sum(fields), fields[3] + fields[4]

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except OSError:
        return 0.0
    total = max(total1 - total0, 1)
    return 1.0 - (idle1 - idle0) / total


def wait_until_quiet(timeout):
    """Wait (up to ``timeout`` s) until other processes leave the CPUs idle; returns the
    busy fraction seen last."""
    end = time.monotonic() + timeout
    busy = _busy_fraction()
    while busy > 0.1 and time.monotonic() < end:
        busy = _busy_fraction()
    return busy


def measure(name, n_ranks, seconds, repeats, quiet_timeout):
    """The fastest of ``repeats`` runs of benchmarks/one_run.py at ``n_ranks`` ranks."""
    one_run = [os.path.join(HERE, "one_run.py"), name, "nengo_mpi", str(seconds)]
    if n_ranks == 1:
        cmd = [sys.executable] + one_run
    else:
        cmd = [MPIRUN, "-np", str(n_ranks), sys.executable, "-m", "nengo_mpi"] + one_run
    best = None
    for _ in range(repeats):
        busy = wait_until_quiet(quiet_timeout)
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=ENV)
        run = json.loads(out.stdout.strip().splitlines()[-1])
        run["t"] = run["run_s"] / run["steps"]
        run["busy_before"] = busy
        if best is None or run["t"] < best["t"]:
            best = run
    return best


def probe_network(quiet_timeout):
    """Latency, bandwidth and per-message CPU overhead between two ranks here (the
    package's own probe, which ``python -m nengo_mpi calibrate --network`` uses too)."""
    wait_until_quiet(quiet_timeout)
    return network_probe.probe_network()


# ------------------------------------------------------------------------------ report
def us(seconds, digits=1):
    return f"{seconds * 1e6:,.{digits}f}"


def main():  # pylint: disable=too-many-locals,too-many-statements
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="random_graph", choices=sorted(MODELS))
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4, 8],
                        help="rank counts to measure here")
    parser.add_argument("--predict", type=int, nargs="+",
                        default=[16, 64, 256, 1024, 4096], help="rank counts to predict")
    parser.add_argument("--latency", type=float, default=1.5e-6,
                        help="network latency for the predictions [s] (InfiniBand-like)")
    parser.add_argument("--bandwidth", type=float, default=10e9,
                        help="network bandwidth for the predictions [bytes/s]")
    parser.add_argument("--overhead", type=float, default=None,
                        help="CPU time per message end for the predictions [s] "
                             "(default: measured here)")
    parser.add_argument("--per-rank", type=int, default=4,
                        help="ensembles per rank for weak scaling")
    parser.add_argument("--seconds", type=float, default=1.0,
                        help="simulated seconds per measured run")
    parser.add_argument("--repeats", type=int, default=3, help="measured runs per point")
    parser.add_argument("--steps", type=int, default=300,
                        help="steps per calibration run")
    parser.add_argument("--quiet-timeout", type=float, default=20.0,
                        help="wait up to this long for other processes to go idle "
                             "before each measured run [s]")
    parser.add_argument("--out", default=os.path.join(HERE, "SCALING.md"))
    args = parser.parse_args()
    started = time.monotonic()
    cores = os.cpu_count() or 1

    def log(msg):
        print(f"[{time.monotonic() - started:6.1f} s] {msg}", file=sys.stderr, flush=True)

    log("measuring the MPI network here (2 ranks)")
    net_here = probe_network(args.quiet_timeout)
    m_typical = 128
    o_mpi = net_here["overhead"][m_typical]
    log(f"latency {us(net_here['latency'])} us, bandwidth "
        f"{net_here['bandwidth'] / 1e9:.1f} GB/s, MPI's overhead {us(o_mpi)} us per "
        "message end")

    log(f"calibrating {args.model} in one process")
    cal = calibrate(args.model, args.steps, args.repeats)
    log(f"compute {us(cal.compute)} us per step")
    # Weak scaling and the check below cost the network with the package's own model.
    costs = load_costs()

    runs = {}
    for p in args.ranks:
        log(f"measuring {p} rank(s)")
        runs[p] = measure(args.model, p, args.seconds, args.repeats, args.quiet_timeout)
        log(f"  {us(runs[p]['t'])} us/step")

    loads = {p: exact_load(args.model, p, args.steps, args.repeats) for p in args.ranks}
    # The engine's own cost per channel end (packing or unpacking its values into the
    # message of its rank pair, and its share of starting and testing that message),
    # which the burst above does not include: the exchange time the engine measured per
    # channel end, at the smallest rank count with a core per rank. Per channel end and
    # not per message: grouped, many channels share one message but each is packed.
    o_engine, o_engine_from = 0.0, None
    for p in sorted(runs):
        if 1 < p <= cores:
            timing, steps = runs[p]["timing"], runs[p]["steps"]
            ends = defaultdict(int)
            for src, dst, *_ in loads[p].messages:
                ends[src] += 1
                ends[dst] += 1
            o_engine = statistics.fmean(
                t["exchange_s"] / (steps * ends[t["rank"]]) for t in timing if ends[t["rank"]])
            o_engine_from = p
            break
    here = Machine(net_here["latency"], net_here["bandwidth"], o_mpi, cores, o_engine)
    switch = max(net_here["same_core"] - net_here["latency"], 0.0)

    validation = []
    for p in args.ranks:
        load = loads[p]
        pred = predict(load, here)
        validation.append((p, load, pred, runs[p]))
        log(f"{p} rank(s): measured {us(runs[p]['t'])} us/step, predicted {us(pred['t'])}")

    template_check = []
    for p, exact, _, _ in validation:
        if p < 2 or args.model not in WEAK_SCALING:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assignments = nengo_mpi.Partitioner(p).partition(cal.net)
        approx = model_load(cal.net, assignments, p, costs)
        template_check.append((p, predict(exact, here), predict(approx, here),
                               len(exact.messages), len(approx.messages)))

    big = Machine(args.latency, args.bandwidth,
                  here.overhead if args.overhead is None else args.overhead, 0, o_engine)
    n_objects = len(cal.net.all_ensembles) + len(cal.net.all_nodes)
    strong = []
    for p in args.predict:
        if p > n_objects:
            continue
        log(f"strong scaling: {p} components")
        load = exact_load(args.model, p, args.steps, args.repeats)
        strong.append((p, predict(load, big), predict(load, big, per_channel=True)))

    weak = []
    if args.model in WEAK_SCALING:
        for p in args.predict:
            n = args.per_rank * p
            log(f"weak scaling: {n} ensembles on {p} ranks")
            net = WEAK_SCALING[args.model](n)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                assignments = nengo_mpi.Partitioner(p).partition(net)
            load = model_load(net, assignments, p, costs)
            weak.append((p, n, predict(load, big), predict(load, big, per_channel=True),
                         predict(load, Machine(big.latency, big.bandwidth,
                                               big.overhead / 2, 0, big.part_overhead))))

    from nengo_mpi import _engine  # pylint: disable=import-outside-toplevel

    lines = [
        f"# Scaling model: {args.model}",
        "",
        "Generated by `benchmarks/scaling.py`; reproduce with",
        "",
        f"    .venv/bin/python benchmarks/scaling.py {args.model} --ranks "
        f"{' '.join(map(str, args.ranks))} --predict {' '.join(map(str, args.predict))} "
        f"--latency {args.latency:g} --bandwidth {args.bandwidth:g} --seconds "
        f"{args.seconds:g} --repeats {args.repeats}",
        "",
        f"Machine: {cpu_name()}, {cores} cores; Python {platform.python_version()}, "
        f"nengo {nengo.__version__}, "
        f"{_engine.config['mpi_library'].strip().splitlines()[0]}; one BLAS thread. "
        f"The script took {time.monotonic() - started:.0f} s.",
        "",
        "The model, its assumptions and how the predictions scale up are described in "
        "the docstring of `benchmarks/scaling.py`. In short, per step:",
        "",
        "    busy_r = W_r + o * m_r + p * c_r + V_r / B   (compute, messages, channel "
        "ends, bytes of rank r)",
        "    t      = max_r busy_r + L + D * (L + b / B)   (D: same-step chain)",
        "    t      = max(t, sum_r busy_r / C)    (P ranks sharing C < P cores)",
        "",
        "## Parameters measured here (shared memory, 2 ranks)",
        "",
        f"- latency L = {us(here.latency, 2)} us (half a 16-byte ping-pong through "
        "mpi4py), "
        f"bandwidth B = {here.bandwidth / 1e9:.1f} GB/s (1 MiB ping-pong); with both "
        f"ranks on one core the ping-pong takes {us(net_here['same_core'])} us per "
        f"message, so a switch between ranks costs about t_cs = {us(switch)} us;",
        f"- overhead o = {us(here.overhead, 2)} us of CPU per message end "
        f"inside MPI, from a burst of {m_typical} 16-byte messages each way between two "
        "ranks, posted and completed together as the engine does each step "
        f"({us(net_here['overhead'][16], 2)} us per message end in bursts of 16); "
        f"p = {us(o_engine, 2)} us of the engine's own calls per channel end (packing "
        "or unpacking it, and its share of starting and testing its message: the "
        "exchange time per channel end in the "
        + (f"{o_engine_from}-rank run below" if o_engine_from else "(no run with 2 "
           "ranks or more on their own cores: taken as 0)")
        + "). MPICH does much of its part inside MPI_Wait (matching and copying "
        "arrived messages; the engine's waits pile up at the first receives of a step), "
        "so the engine's timing counts it as waiting;",
        f"- C = {cores} cores.",
        "",
        f"## Calibration: {args.model} in one process",
        "",
        f"Compute {us(cal.compute)} us per step (fastest of {args.repeats} runs of "
        f"{args.steps} steps); per operator kind, from the engine's profile:",
        "",
        "| op kind | us per step | share |",
        "|---|---|---|",
    ]
    total = sum(cal.kinds.values())
    for kind, s in sorted(cal.kinds.items(), key=lambda kv: -kv[1])[:10]:
        lines.append(f"| {kind} | {us(s)} | {100 * s / total:.1f}% |")
    lines += [
        "",
        "## Validation: measured here vs predicted",
        "",
        f"Each measured time is the fastest of {args.repeats} runs of "
        f"`mpirun -np P python -m nengo_mpi benchmarks/one_run.py {args.model} nengo_mpi "
        f"{args.seconds:g}` (run_s / steps: the whole `sim.run`, probes included); "
        "compute and wait per rank come from `sim.timing()` of that run. Before each "
        "run the script waits for the CPUs to be idle (busy: other processes' load "
        f"just before it). Above {cores} ranks the ranks share the {cores} cores.",
        "",
        "| ranks | measured us/step | predicted us/step | predicted / measured | "
        "compute max, measured | compute max, predicted | wait mean, measured | "
        "msgs/step max rank | blocked waits/step | busy before |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    gaps = []
    for p, load, pred, run in validation:
        timing = run["timing"]
        steps = run["steps"]
        c_meas = max(t["compute_s"] for t in timing) / steps
        w_meas = statistics.fmean(t["wait_s"] for t in timing) / steps
        note = " (shared cores)" if p > cores else ""
        blocked = sum(t["blocked_waits"] for t in timing) / steps
        lines.append(
            f"| {p}{note} | {us(run['t'])} | {us(pred['t'])} | "
            f"{pred['t'] / run['t']:.2f} | "
            f"{us(c_meas)} | {us(pred['compute_max'])} | {us(w_meas)} | "
            f"{pred['messages_max']} | {blocked:.1f} | {100 * run['busy_before']:.0f}% |"
        )
        if p > cores:
            gaps.append((p, run["t"] - pred["t"], blocked * switch / cores))
    lines.append("")
    for shared, what in ((False, "a core per rank"), (True, "ranks sharing the cores")):
        ratios = [pred["t"] / run["t"] for p, _, pred, run in validation
                  if (p > cores) == shared]
        if ratios:
            lines.append(f"With {what}, predicted / measured is {min(ratios):.2f} to "
                         f"{max(ratios):.2f}.")
    lines.append("")
    if gaps:
        lines += [
            "The shared-core model leaves out the switches between ranks. Measured minus "
            "predicted, against the waits that blocked (all ranks, per step) times "
            f"t_cs / {cores}:",
            "",
        ]
        lines += [f"- {p} ranks: {us(gap)} us per step missing; blocked waits x t_cs / "
                  f"{cores} = {us(expl)} us." for p, gap, expl in gaps]
    if template_check:
        lines += [
            "",
            "Check of the cost model used for weak scaling: the same partitions "
            "costed from the real lowering (exact) and from the package's cost model "
            f"(`nengo_mpi.partition.cost_model`, costs from {costs.source}).",
            "",
            "| ranks | predicted us/step, exact | predicted, cost model | compute max, "
            "exact | compute max, cost model | messages, exact | messages, cost model |",
            "|---|---|---|---|---|---|---|",
        ]
    for p, ex, ap, n_ex, n_ap in template_check:
        lines.append(f"| {p} | {us(ex['t'])} | {us(ap['t'])} | {us(ex['compute_max'])} | "
                     f"{us(ap['compute_max'])} | {n_ex} | {n_ap} |")
    lines += [
        "",
        f"## Predictions: L = {us(big.latency)} us, B = {big.bandwidth / 1e9:g} GB/s, "
        f"o = {us(big.overhead, 2)} us, p = {us(big.part_overhead, 2)} us, a core per rank",
        "",
        "*per channel*: the same if every channel were a message of its own (the "
        "engine before it grouped update channels into one message per rank pair).",
        "",
    ]
    if strong:
        lines += [
            f"### Strong scaling: {args.model} as it is ({n_objects} objects)",
            "",
            "| ranks | us/step | speed-up vs 1 rank | compute max | comm, critical rank | "
            "msgs/step max | us/step, per channel |",
            "|---|---|---|---|---|---|---|",
        ]
        for p, pred, agg in strong:
            lines.append(
                f"| {p} | {us(pred['t'])} | {cal.compute / pred['t']:.1f}x | "
                f"{us(pred['compute_max'])} | {us(pred['comm_critical'])} | "
                f"{pred['messages_max']} | {us(agg['t'])} |"
            )
        skipped = [p for p in args.predict if p > n_objects]
        if skipped:
            lines += ["", f"Not predicted: {', '.join(map(str, skipped))} ranks (more "
                          "ranks than objects)."]
        lines.append("")
    if weak:
        lines += [
            f"### Weak scaling: {args.model} with {args.per_rank} ensembles per rank",
            "",
            "Networks generated by `models.random_graph(n_ensembles=...)` (4 random "
            "connections out of each ensemble), partitioned by METIS, costed from "
            "the package's cost model (not built). Efficiency: mean compute per rank / time per step.",
            "",
            "| ranks | ensembles | us/step | efficiency | compute max | "
            "comm, critical rank | msgs/step max | us/step, per channel |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for p, n, pred, agg, _ in weak:
            lines.append(
                f"| {p} | {n} | {us(pred['t'])} | "
                f"{100 * pred['compute_mean'] / pred['t']:.0f}% | "
                f"{us(pred['compute_max'])} | {us(pred['comm_critical'])} | "
                f"{pred['messages_max']} | {us(agg['t'])} |"
            )
        p, n, pred, agg, half_o = weak[-1]
        lines += [
            "",
            f"At {p} ranks the critical rank computes for {us(pred['compute_max'])} us "
            f"and spends {us(pred['comm_critical'])} us on communication: "
            f"{pred['messages_max']} messages per step (MPI's o each) and the engine's "
            f"packing of their channels (p per channel end), against the latency "
            f"({us(big.latency)} us once per step) and the bandwidth "
            f"({pred['bytes_max']} bytes per step). Halving o would give "
            f"{us(half_o['t'])} us per step; sending every channel as a message of its "
            f"own would give {us(agg['t'])} us (a random graph leaves few channels "
            "between any two ranks, so grouping them gains little there).",
            "",
        ]
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
