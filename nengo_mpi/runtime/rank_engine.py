"""Build and drive this rank's C++ engine from its components' programs."""

import contextlib

import numpy as np
import nengo.utils.numpy as npext

from .. import _engine
from . import pyfunc, timing
from .signals import ComponentSignals


def _not_made(*args):
    raise RuntimeError("Python fallback op ran before its step function was made")


#: Seeds drawn at a time by `slot_seeds`.
_SEED_CHUNK = 1 << 20


def slot_seeds(seed, slots):
    """The seed of each of the given seed slots (an op's place in the model's order
    before merging), drawn from the simulator seed: ``{slot: seed}``.

    Slot k's seed is the k-th draw of ``RandomState(seed).randint(maxint)``, so an op's
    random stream comes from its slot, never from its rank, component or merges, and
    streams do not depend on how the model is split. Only the slots asked for are kept
    (the draws before them are made in chunks), so memory follows this rank's ops, not
    the model's slot count.
    """
    wanted = sorted(set(int(s) for s in slots))
    if wanted and wanted[0] < 0:
        raise ValueError(f"seed slot {wanted[0]} is negative")
    rng = np.random.RandomState(seed)
    seeds, start, i = {}, 0, 0
    while i < len(wanted):
        n = min(_SEED_CHUNK, wanted[-1] + 1 - start)
        chunk = rng.randint(npext.maxint, size=n)
        while i < len(wanted) and wanted[i] < start + n:
            seeds[wanted[i]] = int(chunk[wanted[i] - start])
            i += 1
        start += n
    return seeds


@contextlib.contextmanager
def _naming(what):
    """Prefix an engine's complaint about its arguments with the object it was about: the
    engine knows an op by its kind, the user (or a model file's reader) by its label."""
    try:
        yield
    except (ValueError, IndexError, TypeError, OverflowError, RuntimeError) as e:
        text = str(e).split("\n")[0]  # pybind11 appends every overload's signature
        raise type(e)(f"{what}: {text}") from e


#: The order of what runs after every operator of a step.
END_OF_STEP = 2 ** 62


class RankEngine:
    """The engine for the components one rank runs.

    Parameters
    ----------
    programs : list of Program
        This rank's components.
    channels : list of Channel
        Every channel with at least one end on this rank.
    rank_of : list of int
        Component -> rank.
    dt : float
        Time step.
    n_seed_slots : int
        Number of RNG seed slots (one per operator of the model before merging).
    comm : mpi4py.MPI.Comm, optional
        Communicator for channel traffic (None: single process).
    """

    def __init__(self, programs, channels, rank_of, dt, n_seed_slots, comm=None):
        self.dt = dt
        self.n_seed_slots = n_seed_slots
        self.engine = _engine.Engine(dt, None if comm is None else comm.py2f())
        self.local = {}
        self.signals = {}
        self.fallbacks = []
        self.reseeded = []
        self.probes = []
        # (handle, global order, component) of every op, for checkpoints.
        self.op_handles = []
        # Fallback op handle -> the RandomState its step function was made with.
        self.fallback_rngs = {}
        eng = self.engine
        for p in programs:
            # Written in place: no second copy of the buffer while the engine opens.
            li = eng.add_zeroed_component(p.component, p.layout.nbytes)
            p.layout.fill(eng.buffer(li))
            self.local[p.component] = li
            for i, view in enumerate(p.layout.views):
                with _naming(f"view {i} of component {p.component}"):
                    eng.add_view(li, *view)
            self.signals[p.component] = ComponentSignals(p.layout, eng.buffer(li))
        for p in programs:
            li = self.local[p.component]
            for rec in p.ops:
                if rec.method is None:
                    handle = eng.add_python_op(li, rec.order, _not_made)
                    self.fallbacks.append((handle, rec, p.component))
                else:
                    with _naming(f"op {rec.label!r} ({rec.method}) of component "
                                 f"{p.component}"):
                        handle = getattr(eng, rec.method)(li, rec.order, *rec.args)
                    if rec.reseed is not None:
                        self.reseeded.append((handle, rec))
                self.op_handles.append((handle, rec.order, p.component))
            for pr in p.probes:
                with _naming(f"probe {pr.index} of component {p.component}"):
                    self.probes.append((pr, eng.add_probe(li, pr.view, pr.period)))
        for ch in channels:
            src = self.local.get(ch.src_component)
            dst = self.local.get(ch.dst_component)
            if src is not None and dst is not None:
                # A value updated in one step is read in the next: copied at the end of
                # the step, after every reader of the old value, whatever order the two
                # components' operators were numbered in (a file's components may come
                # from ranks that numbered their own operators, see
                # `nengo_mpi.construction.halo`).
                at = ch.send_after if ch.same_step else END_OF_STEP
                eng.add_local_channel(src, ch.src_view, dst, ch.dst_view, at)
            elif src is not None:
                eng.add_send(ch.tag, src, ch.src_view, rank_of[ch.dst_component],
                             ch.send_after, ch.same_step, ch.recv_before)
            elif dst is not None:
                eng.add_recv(ch.tag, dst, ch.dst_view, rank_of[ch.src_component],
                             ch.recv_before, ch.same_step, ch.send_after)
        eng.finalize()

    def make_fallback_steps(self, seed):
        """(Re)make every fallback op's step function, as nengo does on reset, and reseed
        the native ops that draw random numbers.

        Each op's RNG is seeded from the simulator seed and its seed slot (its place in
        the model's order before operators were merged), never from the rank, component
        or merges, so random streams do not depend on the split.
        """
        seeds = slot_seeds(seed, [rec.seed_slot for _, rec, _ in self.fallbacks]
                           + [rec.seed_slot for _, rec in self.reseeded])
        for handle, rec, comp in self.fallbacks:
            rng = np.random.RandomState(seeds[rec.seed_slot])
            self.fallback_rngs[handle] = rng
            step = pyfunc.make_step(rec.op, self.signals[comp], self.dt, rng)
            self.engine.set_python_op(handle, step)
        for handle, rec in self.reseeded:
            with _naming(f"setting up op {rec.label!r} ({rec.method})"):
                rec.reseed(self.engine, handle,
                           np.random.RandomState(seeds[rec.seed_slot]))

    def native_rng_states(self):
        """``{(component, global order): RandomState state}`` of every native op that
        draws random numbers, as its generator stands now."""
        eng = self.engine
        return {
            (comp, order): eng.get_rng_state(handle)
            for handle, order, comp in self.op_handles
            if handle not in self.fallback_rngs and eng.op_has_rng(handle)
        }

    def set_steps(self, steps):
        """Continue from step ``steps`` (probe sampling follows it); before any run."""
        self.engine.set_steps(steps)

    def run(self, steps):
        # nengo's step runs with these floating point error settings; Python fallbacks
        # (users' functions included) see the same.
        with np.errstate(invalid="raise", divide="ignore"):
            self.engine.run(steps)

    def read_bytes(self, comp, offset, nbytes):
        """A copy of bytes [offset, offset + nbytes) of component ``comp``'s buffer."""
        return bytes(self.engine.buffer(self.local[comp])[offset : offset + nbytes])

    def write_bytes(self, comp, offset, raw):
        buf = self.engine.buffer(self.local[comp])
        buf[offset : offset + len(raw)] = np.frombuffer(raw, dtype=np.uint8)

    def reset(self, seed):
        self.engine.reset()
        # The engine keeps no copy of the initial values (see SignalBuffer).
        for signals in self.signals.values():
            signals.layout.fill(signals.buffer)
        self.make_fallback_steps(seed)

    def take_probes(self):
        """Samples recorded since the last call: probe index -> (n, *shape) array."""
        out = {}
        for pr, handle in self.probes:
            raw = self.engine.take_probe(handle)
            out[pr.index] = np.frombuffer(raw, dtype=pr.dtype).reshape((-1,) + pr.shape)
        return out

    def timing(self):
        """This rank's timing entry (see `nengo_mpi.Simulator.timing`)."""
        return timing.rank_entry(self.engine, self.local)

    def set_profile(self, enabled):
        """Time every operator by kind from now on (or stop)."""
        self.engine.profile = bool(enabled)

    def close(self):
        self.engine.drain()
