"""Where each rank's time went: per-rank timing entries and the ``--timing`` report.

The engine splits the wall time of every run into three phases (see cpp/engine.cpp):
*compute* (operators, copies between components of one rank, probes), *wait* (blocked
until a peer's message arrives, or until our previous message to it has left) and
*exchange* (packing, unpacking, starting and completing messages that did not block;
told apart from compute on one step in 16, the others are split in that proportion).
`rank_entry` turns one rank's engine counters into the dict that
`nengo_mpi.Simulator.timing` returns per rank; `format_report` prints a list of them.

``python -m nengo_mpi --timing`` calls `start_log`; from then on every Runtime opened
on rank 0 is logged, its timing is kept when it closes, and `log_report` describes
every simulator that ran.
"""

import resource

#: Keys every entry has (`nengo_mpi.Simulator.timing` documents them).
KEYS = (
    "rank", "components", "steps", "compute_s", "wait_s", "exchange_s", "bytes_sent",
    "bytes_received", "bytes_sent_to", "bytes_received_from", "messages_sent",
    "messages_received", "blocked_waits", "peak_rss_mib",
)


def peak_rss_mib():
    """This process's peak resident set size in MiB (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rank_entry(engine, components):
    """The timing entry of one rank, from its engine.

    Parameters
    ----------
    engine : nengo_mpi._engine.Engine
        The rank's engine.
    components : list of int
        The components it runs.

    Returns
    -------
    dict
        See `nengo_mpi.Simulator.timing`. Totals of bytes count every timed step; the
        traffic is the same in every step.
    """
    t = engine.timing()
    steps = t["steps"]
    entry = {
        "rank": engine.rank,
        "components": list(components),
        "steps": steps,
        "compute_s": t["compute_s"],
        "wait_s": t["wait_s"],
        "exchange_s": t["exchange_s"],
        "bytes_sent": steps * sum(t["step_bytes_sent"]),
        "bytes_received": steps * sum(t["step_bytes_received"]),
        "bytes_sent_to": [steps * b for b in t["step_bytes_sent"]],
        "bytes_received_from": [steps * b for b in t["step_bytes_received"]],
        "messages_sent": sum(t["step_messages_sent"]),
        "messages_received": sum(t["step_messages_received"]),
        "blocked_waits": t["blocked_waits"],
        "peak_rss_mib": peak_rss_mib(),
    }
    ops = engine.op_profile()
    if any(k["calls"] for k in ops.values()):
        entry["ops"] = ops
    return entry


def load_imbalance(entries):
    """``max(compute) / mean(compute) - 1`` over the ranks, or None if nothing ran."""
    compute = [e["compute_s"] for e in entries]
    mean = sum(compute) / len(compute) if compute else 0.0
    return max(compute) / mean - 1.0 if mean > 0 else None


def format_report(entries, title="nengo_mpi timing"):
    """A per-rank table of ``entries`` (one `nengo_mpi.Simulator.timing` result)."""
    steps = max((e["steps"] for e in entries), default=0)
    lines = [f"{title}: {steps} steps on {len(entries)} rank(s)"]
    header = (f"{'rank':>4}  {'components':<12} {'compute s':>10} {'wait s':>9} "
              f"{'exchange s':>10}  {'compute':>7} {'wait':>6} {'exch.':>6}  "
              f"{'sent MB':>8} {'recv MB':>8} {'msgs/step':>9}")
    lines += [header, "-" * len(header)]
    for e in entries:
        run = e["compute_s"] + e["wait_s"] + e["exchange_s"]
        pct = [100.0 * x / run if run > 0 else 0.0
               for x in (e["compute_s"], e["wait_s"], e["exchange_s"])]
        comps = ",".join(str(c) for c in e["components"])
        if len(comps) > 12:
            comps = comps[:9] + "..."
        lines.append(
            f"{e['rank']:>4}  {comps:<12} {e['compute_s']:>10.4f} {e['wait_s']:>9.4f} "
            f"{e['exchange_s']:>10.4f}  {pct[0]:>6.1f}% {pct[1]:>5.1f}% {pct[2]:>5.1f}%  "
            f"{e['bytes_sent'] / 1e6:>8.3f} {e['bytes_received'] / 1e6:>8.3f} "
            f"{e['messages_sent'] + e['messages_received']:>9}"
        )
    imbalance = load_imbalance(entries)
    lines.append(
        "load imbalance (max compute / mean compute - 1): "
        + ("n/a" if imbalance is None else f"{100.0 * imbalance:.1f}%")
    )
    return "\n".join(lines)


class TimingLog:
    """The simulators of one ``--timing`` run, in the order they were opened."""

    def __init__(self):
        self.runtimes = []

    def opened(self, runtime):
        self.runtimes.append(runtime)

    def report(self):
        """The report text for every logged simulator (closed or still open)."""
        ran, idle = [], 0
        for i, runtime in enumerate(self.runtimes, start=1):
            entries = runtime.final_timing
            if entries is None and runtime.host is not None:
                entries = runtime.timing()
            if not entries or not any(e["steps"] for e in entries):
                idle += 1
                continue
            label = f" ({runtime.label})" if runtime.label else ""
            title = f"nengo_mpi timing, simulator {i}{label}"
            ran.append(format_report(entries, title=title))
        if idle:
            ran.append(f"nengo_mpi timing: {idle} simulator(s) ran no steps")
        if not ran:
            return "nengo_mpi timing: no simulator was created"
        return "\n\n".join(ran)


_log = None


def start_log():
    """Log every simulator opened from now on (``--timing``); returns the log."""
    global _log
    _log = TimingLog()
    return _log


def active_log():
    """The `TimingLog` of this run, or None when ``--timing`` is off."""
    return _log
