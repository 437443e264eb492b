"""Find the signals that must travel between components every step.

A base signal written in component A and read in component B becomes a channel from A
to B, of one of two kinds:

- written by update operators only (a synapse's state): updates come after all reads
  in nengo's step order, so B reads last step's value, which A sends at the end of its
  step and B receives whenever it is ready (the message overlaps the next step's work);
- set or incremented (e.g. the neurons' output across a connection without a synapse):
  B reads it later in the same step, so B waits for it there (``same_step``). Every rank
  runs one global order (`nengo_mpi.lower.schedule`), so that wait always ends; the
  engine sends runs of these between a pair of ranks as one message (`Engine.add_send`).

A signal both set/incremented and updated in A cannot cross (no single moment carries
the value B's readers expect); it is reported naming the operators and their objects.
"""

from collections import defaultdict
from dataclasses import dataclass

from nengo.builder.operator import TimeUpdate
from nengo.exceptions import BuildError


@dataclass
class Channel:
    """One signal sent from one component to another after every step."""

    tag: int
    signal: object  # the base Signal (views into it are what readers use)
    src_component: int
    dst_component: int
    send_after: int  # global order of the last writer in the source component
    recv_before: int  # global order of the first reader in the destination component
    same_step: bool = False  # read in the step that writes it (set/inc, not update)
    src_view: int = -1
    dst_view: int = -1


def _describe(op, owners):
    owner = owners.get(op)
    return f"{type(op).__name__} ({op.tag or op})" + (f" of {owner}" if owner else "")


def find_channels(placed_ops, order, owners):
    """Return the channels needed by ``placed_ops`` and the writer component per signal.

    Parameters
    ----------
    placed_ops : list of (Operator, int)
        Each executed operator with its component (replicated ops are excluded).
    order : dict
        Operator -> position in the global order (or absent, for the operators of
        components another rank orders).
    owners : dict
        Operator -> owner object, for error messages.

    Returns
    -------
    channels : list of Channel
    writer_component : dict
        Base signal -> the one component that writes it.
    """
    writers = defaultdict(lambda: defaultdict(list))
    readers = defaultdict(lambda: defaultdict(list))
    for op, comp in placed_ops:
        if isinstance(op, TimeUpdate):
            continue
        for sig in op.sets + op.incs + op.updates:
            writers[sig.base][comp].append(op)
        for sig in op.reads:
            readers[sig.base][comp].append(op)

    writer_component = {}
    for base, by_comp in writers.items():
        if len(by_comp) > 1:
            parts = "; ".join(
                f"component {c}: {_describe(ops[0], owners)}" for c, ops in by_comp.items()
            )
            raise BuildError(
                f"{base} is written in {len(by_comp)} components ({parts}); the objects "
                "that write one signal must be assigned to one component"
            )
        (writer_component[base],) = by_comp

    channels = []
    for base, by_comp in readers.items():
        src = writer_component.get(base)
        if src is None:
            continue  # a constant: every component that reads it has its own copy
        for dst, reading_ops in by_comp.items():
            if dst == src:
                continue
            writing_ops = writers[base][src]
            same_step = [
                op for op in writing_ops if any(s.base is base for s in op.sets + op.incs)
            ]
            updating = [op for op in writing_ops if any(s.base is base for s in op.updates)]
            if same_step and updating:
                raise BuildError(
                    f"{base} is set or incremented by {_describe(same_step[0], owners)} and "
                    f"updated by {_describe(updating[0], owners)} in component {src}, and "
                    f"read by {_describe(reading_ops[0], owners)} in component {dst}; "
                    "such a signal cannot cross components: keep these objects on one "
                    "component."
                )
            # An end another rank orders (a halo's shadow, `nengo_mpi.lower.stages`) is
            # -1 here: that rank tells it.
            send_after = max((order[op] for op in writing_ops if op in order),
                             default=-1)
            recv_before = min((order[op] for op in reading_ops if op in order),
                              default=-1)
            if same_step and -1 < send_after >= recv_before > -1:
                # nengo orders a read only after the writes to overlapping views, so
                # part of a signal can be read before another part is written; a
                # channel carries the whole signal once per step, which cannot serve
                # a reader between the two.
                last = max(writing_ops, key=order.get)
                first = min(reading_ops, key=order.get)
                raise BuildError(
                    f"{base} is read in component {dst} by {_describe(first, owners)} "
                    f"before {_describe(last, owners)} in component {src} has written all "
                    "of it in the same step (they use different slices of it, one "
                    "depending on the other); such a signal cannot cross components: "
                    "keep these objects on one component."
                )
            channels.append(
                Channel(
                    tag=len(channels),
                    signal=base,
                    src_component=src,
                    dst_component=dst,
                    send_after=send_after,
                    recv_before=recv_before,
                    same_step=bool(same_step),
                )
            )
    return channels, writer_component
